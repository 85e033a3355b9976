"""Streaming FASTA reader, sequence cleaning and IUPAC helpers.

Genome files are read record by record (never the whole file), validated strictly so that a broken
input stops the build with a message naming file, record and line instead of producing a silently
wrong dataset, and cleaned with numpy because the corpus holds tens of megabases.

Accepted residues are the IUPAC nucleotide codes ``ACGTUNRYSWKMBDHV`` in either case. Gap characters
(``-`` and ``.``) are rejected: they mean an alignment, not an assembled genome, and dropping them would
shift every coordinate. ``*`` is rejected too (a protein stop, i.e. probably a protein file).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from genobench_hf.errors import InputError

IUPAC_NUCLEOTIDES = "ACGTUNRYSWKMBDHV"
IUPAC_NUCLEOTIDE_BYTES = (IUPAC_NUCLEOTIDES + IUPAC_NUCLEOTIDES.lower()).encode("ascii")  # either case
_VALID_BYTES = IUPAC_NUCLEOTIDE_BYTES  # old private name, kept for existing imports
_WHITESPACE = b" \t\r\n\v\f"
_PROTEIN_ONLY = set("EFILPQZJXO*efilpqzjxo")

_MAGIC: list[tuple[bytes, str]] = [(b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bz2")]
_DECOMPRESS_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, UnicodeDecodeError, ValueError)


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: residues as in the file with whitespace removed and case kept."""

    id: str
    description: str
    sequence: str
    line: int = 0  # line of the header in the file (0: not known, e.g. from a GenBank ORIGIN)


class _CheckedText(io.TextIOBase):
    """Text stream that turns decompression/decoding failures into an InputError naming the file.

    Compressed streams fail lazily (a truncated gzip only errors at its end), so every read is wrapped.
    """

    def __init__(self, raw: TextIO, path: Path) -> None:
        self._raw = raw
        self._path = path

    def _fail(self, exc: BaseException) -> InputError:
        return InputError(f"cannot read file (truncated or corrupt compressed data?): {exc}", path=self._path)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        try:
            return self._raw.read(size)
        except _DECOMPRESS_ERRORS as exc:
            raise self._fail(exc) from None

    def readline(self, size: int | None = -1) -> str:
        try:
            return self._raw.readline(size)
        except _DECOMPRESS_ERRORS as exc:
            raise self._fail(exc) from None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_text(path: str | Path) -> TextIO:
    """Open a plain, gzip, xz or bzip2 text file (detected by magic bytes) with universal newlines.

    Decoding errors are replaced rather than raised; invalid characters are caught by the readers.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror or exc}", path=p) from None
    kind = next((k for magic, k in _MAGIC if head.startswith(magic)), "plain")
    kwargs = {"encoding": "utf-8", "errors": "replace", "newline": None}
    opener = {"gzip": gzip.open, "xz": lzma.open, "bz2": bz2.open}.get(kind)
    raw = opener(p, "rt", **kwargs) if opener is not None else p.open("r", **kwargs)
    return _CheckedText(raw, p)  # type: ignore[return-value]


def _invalid_residue_error(path: Path, record: str, lines: list[tuple[int, str]]) -> InputError:
    """Locate the first non-IUPAC character of a record for the error message."""
    for line_no, text in lines:
        bad = text.encode("utf-8", "replace").translate(None, IUPAC_NUCLEOTIDE_BYTES + _WHITESPACE)
        if bad:
            char = bad.decode("utf-8", "replace")[0]
            column = next(i for i, c in enumerate(text, 1) if c == char)
            hint = ""
            if char in "-.":
                hint = " (alignment gaps are not accepted: give ungapped genome sequence)"
            elif char in _PROTEIN_ONLY:
                hint = " (this looks like a protein sequence)"
            return InputError(
                f"character {char!r} at column {column} is not an IUPAC nucleotide code{hint}",
                path=path,
                record=record,
                line=line_no,
            )
    return InputError(
        "record contains characters that are not IUPAC nucleotide codes", path=path, record=record
    )


def _finish_record(path: Path, header: str, header_line: int, pieces: list[str]) -> FastaRecord:
    """Validate and assemble one record from its sequence text (``pieces``, newlines kept)."""
    parts = header.split(None, 1)
    rec_id = parts[0]
    description = parts[1].strip() if len(parts) > 1 else ""
    joined = "".join(pieces)
    pieces.clear()  # the caller's list: drop the per-block copies early

    def lines() -> list[tuple[int, str]]:  # only for error messages
        return [(header_line + 1 + i, text) for i, text in enumerate(joined.split("\n"))]

    try:
        data = joined.encode("ascii")
    except UnicodeEncodeError:
        raise _invalid_residue_error(path, rec_id, lines()) from None
    data = data.translate(None, _WHITESPACE)
    if data.translate(None, IUPAC_NUCLEOTIDE_BYTES):
        raise _invalid_residue_error(path, rec_id, lines())
    if not data:
        raise InputError("record has no sequence", path=path, record=rec_id, line=header_line)
    return FastaRecord(id=rec_id, description=description, sequence=data.decode("ascii"), line=header_line)


BLOCK_CHARS = 1 << 22  # text read per call: big enough that Python work per block is negligible


def text_blocks(fh: TextIO, size: int = BLOCK_CHARS) -> Iterator[str]:
    """The text of ``fh`` in blocks of about ``size`` characters that end at a line boundary (the
    last block ends where the file ends). Line-oriented parsers search these with str methods (C speed)
    instead of paying Python's per-line iteration."""
    carry = ""
    while block := fh.read(size):
        cut = block.rfind("\n") + 1
        if not cut:
            carry += block
            continue
        yield carry + block[:cut] if carry else block[:cut]
        carry = block[cut:]
    if carry:
        yield carry


def _line_count(text: str) -> int:
    """Lines in ``text`` as file iteration counts them (a last line without newline counts)."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file one at a time, validating as it goes (see module docstring).

    Raises InputError (file, record, line) for: sequence before the first header, an empty header id,
    a record without sequence, a duplicate id, a non-IUPAC character, or a file without records.
    The text is read in large blocks and searched for headers (``\\n>``) with str methods, so a
    record's sequence lines are joined once instead of being iterated one by one.
    """
    p = Path(path)
    seen: set[str] = set()
    header: str | None = None
    header_line = 0
    pieces: list[str] = []
    line_no = 0  # lines consumed so far
    with open_text(p) as fh:
        for block in text_blocks(fh, BLOCK_CHARS):
            pos, size = 0, len(block)
            while pos < size:
                if block.startswith(">", pos):
                    end = block.find("\n", pos)
                    end = size if end < 0 else end
                    line_no += 1
                    if header is not None:
                        yield _finish_record(p, header, header_line, pieces)
                    header, header_line, pieces = block[pos + 1 : end], line_no, []
                    if not header.strip() or header[0].isspace():
                        raise InputError(
                            "header has an empty record id ('>' must be followed directly by the id)",
                            path=p,
                            line=line_no,
                        )
                    rec_id = header.split(None, 1)[0]
                    if rec_id in seen:
                        raise InputError("duplicate record id", path=p, record=rec_id, line=line_no)
                    seen.add(rec_id)
                    pos = end + 1
                    continue
                nxt = block.find("\n>", pos)
                stop = size if nxt < 0 else nxt + 1
                chunk = block[pos:stop] if pos or stop < size else block
                if header is not None:
                    pieces.append(chunk)
                elif chunk.strip():
                    offset = next(i for i, text in enumerate(chunk.split("\n")) if text.strip())
                    raise InputError(
                        "sequence data before the first '>' header", path=p, line=line_no + offset + 1
                    )
                line_no += _line_count(chunk)
                pos = stop
    if header is None:
        raise InputError("no FASTA records found (empty file or no '>' header)", path=p, line=line_no or None)
    yield _finish_record(p, header, header_line, pieces)


@dataclass(frozen=True)
class CleanSequence:
    """A sequence ready for the dataset: uppercase, U->T, with soft-mask and non-ACGT intervals."""

    sequence: str
    softmask: list[tuple[int, int]]
    non_acgt: list[tuple[int, int]]
    gc: float
    n_non_acgt: int


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """0-based half-open intervals of the True runs of a boolean array."""
    if not mask.any():
        return []
    edges = np.diff(mask.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


_IS_ACGT = np.zeros(256, dtype=bool)
_IS_ACGT[np.frombuffer(b"ACGT", dtype=np.uint8)] = True
_IS_VALID = np.zeros(256, dtype=bool)
_IS_VALID[np.frombuffer(IUPAC_NUCLEOTIDE_BYTES, dtype=np.uint8)] = True
_LOWERCASE = bytes(range(ord("a"), ord("z") + 1))
_UPPER_T = bytes.maketrans(
    _LOWERCASE + b"U", bytes(range(ord("A"), ord("Z") + 1)).replace(b"U", b"T") + b"T"
)  # uppercase, and U/u -> T


def gc_counts(seq: bytes | str) -> tuple[int, int]:
    """(G+C, A+C+G+T) counts of an uppercase sequence: numpy compares, ~1 ns per base (``str.count`` of a
    frequent letter is several times slower)."""
    data = seq.encode("ascii", "replace") if isinstance(seq, str) else seq
    arr = np.frombuffer(data, dtype=np.uint8)
    g, c = int(np.count_nonzero(arr == ord("G"))), int(np.count_nonzero(arr == ord("C")))
    n_acgt = len(data) - len(data.translate(None, b"ACGT"))
    return g + c, n_acgt


def clean_sequence(raw: str) -> CleanSequence:
    """Uppercase a sequence, read U as T, and record soft-masked and non-ACGT intervals.

    Byte-level (``bytes.translate``, numpy counts), computing the intervals only for sequences that have
    any, so whole chromosomes clean in a fraction of a second. Raises ValueError if ``raw`` holds a
    character that is not an IUPAC nucleotide code (read_fasta never yields one).
    """
    try:
        data = raw.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("sequence contains non-ASCII characters") from None
    bad = data.translate(None, IUPAC_NUCLEOTIDE_BYTES)
    if bad:
        raise ValueError(f"sequence contains {chr(bad[0])!r}, which is not an IUPAC nucleotide code")
    upper = data.translate(_UPPER_T)
    n_gc, n_acgt = gc_counts(upper)
    has_lower = len(data.translate(None, _LOWERCASE)) < len(data)
    return CleanSequence(
        sequence=upper.decode("ascii"),
        softmask=_runs(np.frombuffer(data, dtype=np.uint8) >= ord("a")) if has_lower else [],
        non_acgt=_runs(~_IS_ACGT[np.frombuffer(upper, dtype=np.uint8)]) if n_acgt < len(data) else [],
        gc=n_gc / n_acgt if n_acgt else math.nan,
        n_non_acgt=len(data) - n_acgt,
    )


_MODEL_TABLE = bytes(
    ord(ch) if ch in "ACGT" else ord(ch.upper()) if ch in "acgt" else ord("N") for ch in map(chr, range(256))
)


def to_model_alphabet(seq: str) -> str:
    """Map a cleaned sequence to the model alphabet ACGTN (every other character becomes N)."""
    try:
        return seq.encode("ascii").translate(_MODEL_TABLE).decode("ascii")
    except UnicodeEncodeError:
        return "".join(c if c in "ACGT" else c.upper() if c in "acgt" else "N" for c in seq)


_COMPLEMENT_PAIRS = "AT CG RY KM BV DH SS WW NN"
_COMPLEMENT = bytearray(range(256))
for _pair in _COMPLEMENT_PAIRS.split():
    for _a, _b in ((_pair[0], _pair[1]), (_pair[1], _pair[0])):
        _COMPLEMENT[ord(_a)] = ord(_b)
        _COMPLEMENT[ord(_a.lower())] = ord(_b.lower())
_COMPLEMENT[ord("U")] = ord("A")
_COMPLEMENT[ord("u")] = ord("a")
COMPLEMENT_TABLE = bytes(_COMPLEMENT)  # byte -> its IUPAC complement (bytes.translate table)
_COMPLEMENT_TABLE = COMPLEMENT_TABLE


def reverse_complement(seq: str) -> str:
    """IUPAC-aware reverse complement (case kept; U pairs with A; other characters are left as they are)."""
    try:
        return seq.encode("ascii").translate(_COMPLEMENT_TABLE)[::-1].decode("ascii")
    except UnicodeEncodeError:
        return "".join(chr(_COMPLEMENT[ord(c)]) if ord(c) < 256 else c for c in reversed(seq))
