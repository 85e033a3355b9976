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


def _finish_record(path: Path, header: str, header_line: int, lines: list[tuple[int, str]]) -> FastaRecord:
    parts = header.split(None, 1)
    rec_id = parts[0]
    description = parts[1].strip() if len(parts) > 1 else ""
    joined = "".join(text for _, text in lines)
    try:
        data = joined.encode("ascii")
    except UnicodeEncodeError:
        raise _invalid_residue_error(path, rec_id, lines) from None
    data = data.translate(None, _WHITESPACE)
    if data.translate(None, IUPAC_NUCLEOTIDE_BYTES):
        raise _invalid_residue_error(path, rec_id, lines)
    if not data:
        raise InputError("record has no sequence", path=path, record=rec_id, line=header_line)
    return FastaRecord(id=rec_id, description=description, sequence=data.decode("ascii"))


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file one at a time, validating as it goes (see module docstring).

    Raises InputError (file, record, line) for: sequence before the first header, an empty header id,
    a record without sequence, a duplicate id, a non-IUPAC character, or a file without records.
    """
    p = Path(path)
    seen: set[str] = set()
    header: str | None = None
    header_line = 0
    lines: list[tuple[int, str]] = []
    line_no = 0
    with open_text(p) as fh:
        for line_no, line in enumerate(fh, 1):
            if line.startswith(">"):
                if header is not None:
                    yield _finish_record(p, header, header_line, lines)
                header = line[1:].rstrip("\n")
                header_line = line_no
                lines = []
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
            elif header is None:
                if line.strip():
                    raise InputError("sequence data before the first '>' header", path=p, line=line_no)
            else:
                lines.append((line_no, line))
    if header is None:
        raise InputError("no FASTA records found (empty file or no '>' header)", path=p, line=line_no or None)
    yield _finish_record(p, header, header_line, lines)


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


def clean_sequence(raw: str) -> CleanSequence:
    """Uppercase a sequence, read U as T, and record soft-masked and non-ACGT intervals.

    Vectorised over bytes so that whole chromosomes clean in well under a second. Raises ValueError if
    ``raw`` holds a character that is not an IUPAC nucleotide code (read_fasta never yields one).
    """
    try:
        data = raw.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("sequence contains non-ASCII characters") from None
    arr = np.frombuffer(data, dtype=np.uint8)
    if not _IS_VALID[arr].all():
        bad = raw[int(np.flatnonzero(~_IS_VALID[arr])[0])]
        raise ValueError(f"sequence contains {bad!r}, which is not an IUPAC nucleotide code")
    lower = arr >= ord("a")
    upper = arr & np.uint8(0xDF)  # every valid code is a letter
    upper[upper == ord("U")] = ord("T")
    acgt = _IS_ACGT[upper]
    counts = np.bincount(upper, minlength=256)
    n_acgt = int(counts[[ord("A"), ord("C"), ord("G"), ord("T")]].sum())
    n_gc = int(counts[ord("G")] + counts[ord("C")])
    return CleanSequence(
        sequence=upper.tobytes().decode("ascii"),
        softmask=_runs(lower),
        non_acgt=_runs(~acgt),
        gc=n_gc / n_acgt if n_acgt else math.nan,
        n_non_acgt=len(arr) - n_acgt,
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
_COMPLEMENT_TABLE = bytes(_COMPLEMENT)


def reverse_complement(seq: str) -> str:
    """IUPAC-aware reverse complement (case kept; U pairs with A; other characters are left as they are)."""
    try:
        return seq.encode("ascii").translate(_COMPLEMENT_TABLE)[::-1].decode("ascii")
    except UnicodeEncodeError:
        return "".join(chr(_COMPLEMENT[ord(c)]) if ord(c) < 256 else c for c in reversed(seq))
