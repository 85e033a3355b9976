"""GenBank flat-file reader: CDS features as an ``AnnotationFile`` and ORIGIN sequences as FASTA records.

A GenBank file carries both the annotation and the sequence of a genome, so the dataset builder reads
the CDS through ``annotations.read_annotations`` and the sequence through ``read_genbank_sequences``.
Only what the datasets need is parsed (CDS features, record names and lengths, the sequence), but that
part is parsed strictly: malformed lines raise InputError naming file, line and record. CDS locations
(``complement``/``join``/``order``/``bond``, partial ``<``/``>`` ends) are parsed here; those that cannot
be placed on one contig are skipped and counted, as described in ``annotations.py`` (the shared CDS
model this reader builds on).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from genobench_hf.data import fasta
from genobench_hf.data.cds import AnnotationFile, SkippedCDS, make_cds, optional_int, pick_gene_id
from genobench_hf.data.fasta import IUPAC_NUCLEOTIDE_BYTES, FastaRecord, open_text, text_blocks
from genobench_hf.errors import InputError

# --------------------------------------------------------------------------- GenBank locations
_TOKEN = re.compile(r"\s*(complement\(|join\(|order\(|bond\(|\)|,|[^(),]+)")
_RANGE = re.compile(r"^(<?)(\d+)(?:\.\.(>?)(\d+))?$")


def _parse_location(text: str) -> list[tuple[int, int, str]]:
    """Parse a location into (start0, end, strand) pieces in transcription order."""
    tokens = _TOKEN.findall(text.replace(" ", ""))
    if "".join(tokens) != text.replace(" ", ""):
        raise ValueError("unparsable location")
    pos = 0

    def expr() -> list[tuple[int, int, str]]:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok in ("complement(", "join(", "order(", "bond("):
            parts = expr()
            while tokens[pos] == ",":
                pos += 1
                parts += expr()
            if tokens[pos] != ")":
                raise ValueError("missing ')'")
            pos += 1
            if tok == "complement(":
                return [(s, e, "-" if st == "+" else "+") for s, e, st in reversed(parts)]
            return parts
        if ":" in tok:
            raise SkippedCDS("remote reference")
        if "^" in tok:
            raise SkippedCDS("between-base site (n^m)")
        m = _RANGE.match(tok)
        if m is None:
            raise SkippedCDS("uncertain site (n.m)") if re.fullmatch(r"\d+\.\d+", tok) else ValueError(tok)
        start = int(m.group(2))
        end = int(m.group(4)) if m.group(4) else start
        if start < 1 or end < start:
            raise ValueError(f"bad range {tok!r}")
        return [(start - 1, end, "+")]

    try:
        pieces = expr()
    except IndexError:
        raise ValueError("unbalanced location") from None
    if pos != len(tokens):
        raise ValueError("trailing text in location")
    return pieces


# --------------------------------------------------------------------------- GenBank reader
@dataclass
class _GbRecord:
    locus: str = ""
    length: int | None = None
    accession: str = ""
    version: str = ""
    definition: str = ""
    features: list[tuple[int, str, list[tuple[str, str]]]] = field(default_factory=list)
    sequence: list[str] = field(default_factory=list)
    origin_line: int = 0

    @property
    def seqid(self) -> str:
        return self.version or self.accession or self.locus


_KEYWORD_LINE = re.compile(r"^\S", re.MULTILINE)  # a line that starts a section (or '//', LOCUS)
_NOT_BODY = re.compile(r"\n(?! {6})")  # a newline whose line does not start with 6 spaces
_ODD_SPACE = re.compile(r"[\x0b\x0c\x1c-\x1f\x85\xa0]|[^\x00-\x7f]")  # whitespace str.strip() also drops


@dataclass
class _Feature:
    """A CDS being read: its first line, location text and qualifiers ([key, value parts...])."""

    line: int
    location: list[str]
    qualifiers: list[list[str]] = field(default_factory=list)
    first: str = ""  # first character of the current qualifier's value ('' while it is empty)
    quotes: int = 0  # '"' characters in the current qualifier's value

    def extend(self, body: str) -> None:
        """Continuation and qualifier lines (the feature's body text), as the flat-file rules say:
        a line starting with '/' outside quotes opens a qualifier, any other continues the last one."""
        quals, location = self.qualifiers, self.location
        first, quotes = self.first, self.quotes
        for raw in body.split("\n"):
            text = raw.strip()
            if not text:
                continue
            if text[0] == "/" and not (first == '"' and quotes % 2 == 1):
                key, _, value = text[1:].partition("=")
                quals.append([key, value])
                first, quotes = value[:1], value.count('"')
            elif quals:
                quals[-1].append(text)
                first = first or text[0]
                quotes += text.count('"')
            else:
                location.append(text)
        self.first, self.quotes = first, quotes


def _body_end(block: str, pos: int) -> int:
    """Start of the first line at or after ``pos`` that does not start with 6 spaces.

    Lines that do are feature bodies (qualifiers and continuations: no feature key, no section); every
    other line (keys, sections, blank or odd lines) is left to the line-by-line rules.
    """
    if not block.startswith("      ", pos):
        return pos
    match = _NOT_BODY.search(block, pos)
    return len(block) if match is None else match.start() + 1


def _origin_text(text: str) -> str:
    """The sequence lines of an ORIGIN block without the blank lines (kept: numbers, spaces, newlines)."""
    if _ODD_SPACE.search(text) is None:  # blank lines are then pure ' \t\r\n' and vanish with the digits
        return text
    return "\n".join(line for line in text.split("\n") if line.strip())


def _iter_genbank(path: Path, *, want_sequence: bool) -> Iterator[_GbRecord]:
    """Yield GenBank records; features are (line, location, qualifiers) of CDS only.

    The text is read in large blocks; the ORIGIN lines of a record (most of a genome's file) are taken as
    one slice up to the next line that starts a section, and a feature's body the same way (read for a
    CDS, skipped otherwise), so only header and feature key lines are handled one by one.
    """
    rec: _GbRecord | None = None
    section = ""
    feature: _Feature | None = None

    def close_feature() -> None:
        nonlocal feature
        if feature is not None and rec is not None:
            quals = [(k, ("" if k == "translation" else " ").join(v).strip()) for k, *v in feature.qualifiers]
            rec.features.append((feature.line, "".join(feature.location), quals))
        feature = None

    line_no = 0
    with open_text(path) as fh:
        for block in text_blocks(fh, fasta.BLOCK_CHARS):
            pos, size = 0, len(block)
            while pos < size:
                if section == "FEATURES" and rec is not None:
                    # a feature's body runs to the next line that may start a feature or a section; it
                    # is read at once for a CDS and skipped for any other feature (it changes nothing)
                    stop = _body_end(block, pos)
                    if stop > pos:
                        if feature is not None:
                            feature.extend(block[pos:stop])
                        line_no += block.count("\n", pos, stop) + (block[stop - 1] != "\n")
                        pos = stop
                        continue
                if section == "ORIGIN" and rec is not None and not block.startswith(("//", "LOCUS"), pos):
                    match = _KEYWORD_LINE.search(block, pos)
                    stop = size if match is None else match.start()
                    if stop > pos:
                        chunk = block[pos:stop]
                        if want_sequence:
                            rec.sequence.append(_origin_text(chunk))
                        line_no += chunk.count("\n") + (not chunk.endswith("\n"))
                        pos = stop
                        continue
                end = block.find("\n", pos)
                end = size if end < 0 else end
                line = block[pos:end]
                pos = end + 1
                line_no += 1
                if not line.strip():
                    continue
                if line.startswith("LOCUS"):
                    if rec is not None:
                        raise InputError("LOCUS before the previous record's '//'", path=path, line=line_no)
                    words = line.split()
                    rec = _GbRecord(locus=words[1] if len(words) > 1 else "")
                    m = re.search(r"(\d+)\s+(?:bp|aa)", line)
                    rec.length = int(m.group(1)) if m else None
                    section = "LOCUS"
                    continue
                if rec is None:
                    raise InputError(
                        "text before the first LOCUS line (not a GenBank file?)", path=path, line=line_no
                    )
                if line.startswith("//"):
                    close_feature()
                    yield rec
                    rec, section = None, ""
                    continue
                if not line[0].isspace():
                    close_feature()
                    section = line.split()[0]
                    value = line[len(section) :].strip()
                    if section == "ACCESSION" and value:
                        rec.accession = value.split()[0]
                    elif section == "VERSION" and value:
                        rec.version = value.split()[0]
                    elif section == "DEFINITION":
                        rec.definition = value
                    elif section == "ORIGIN":
                        rec.origin_line = line_no
                    continue
                if section == "DEFINITION" and line.startswith("            "):
                    rec.definition += " " + line.strip()
                elif section == "FEATURES":
                    if line[5] != " ":
                        close_feature()
                        key, _, loc = line.strip().partition(" ")
                        if key == "CDS":
                            feature = _Feature(line_no, [loc.strip()])
                    elif feature is not None:
                        feature.extend(line)
        if rec is not None:
            raise InputError(
                "file ends inside a record (missing '//'; truncated?)",
                path=path,
                record=rec.seqid,
                line=line_no,
            )


# the qualifiers read below (gene id precedence, codon start, table, translation, pseudo flags)
_USED_QUALIFIERS = frozenset(
    {"locus_tag", "gene", "protein_id", "codon_start", "transl_table", "translation", "pseudo", "pseudogene"}
)


def _unquote(value: str) -> str:
    return value[1:-1].replace('""', '"') if len(value) >= 2 and value[0] == value[-1] == '"' else value


def read_genbank(path: str | Path) -> AnnotationFile:
    """Read the CDS of every record of a GenBank flat file (the sequence is skipped; see read_genbank_sequences)."""
    p = Path(path)
    out = AnnotationFile(path=p, records={}, record_lengths={})
    for rec in _iter_genbank(p, want_sequence=False):
        seqid = rec.seqid
        if seqid in out.records:
            raise InputError("duplicate record", path=p, record=seqid)
        out.records[seqid] = cds_list = []
        out.record_lengths[seqid] = rec.length
        out.aliases[seqid] = {n for n in (rec.locus, rec.accession, rec.version) if n}
        for line_no, location, quals in rec.features:
            q: dict[str, str] = {}
            for k, v in quals:
                if k in _USED_QUALIFIERS and k not in q:
                    q[k] = _unquote(v)
            try:
                pieces = _parse_location(location)
                codon_start = optional_int(q.get("codon_start"), "/codon_start", p, line_no, seqid) or 1
                if codon_start not in (1, 2, 3):
                    raise InputError(
                        f"/codon_start must be 1, 2 or 3, got {codon_start}",
                        path=p,
                        line=line_no,
                        record=seqid,
                    )
                cds = make_cds(
                    seqid,
                    pieces,
                    gene_id=pick_gene_id(q, (), seqid, pieces),
                    codon_start=codon_start,
                    transl_table=optional_int(q.get("transl_table"), "/transl_table", p, line_no, seqid),
                    translation=q["translation"].replace(" ", "") if "translation" in q else None,
                    partial="<" in location or ">" in location,
                    pseudo="pseudo" in q or "pseudogene" in q,
                )
            except SkippedCDS as skip:
                out.skipped[str(skip)] += 1
                continue
            except ValueError as exc:
                raise InputError(
                    f"cannot parse CDS location {location!r} ({exc})", path=p, line=line_no, record=seqid
                ) from None
            cds_list.append(cds)
    if not out.records:
        raise InputError("no GenBank records found", path=p)
    return out


def read_genbank_sequences(path: str | Path) -> Iterator[FastaRecord]:
    """Yield the ORIGIN sequence of every GenBank record, validated like a FASTA record."""
    p = Path(path)
    for rec in _iter_genbank(p, want_sequence=True):
        data = "".join(rec.sequence).encode("ascii", "replace").translate(None, b"0123456789 \t\r\n")
        bad = data.translate(None, IUPAC_NUCLEOTIDE_BYTES)
        if bad:
            raise InputError(
                f"sequence contains {chr(bad[0])!r}, not an IUPAC nucleotide code",
                path=p,
                record=rec.seqid,
                line=rec.origin_line,
            )
        if not data:
            raise InputError("record has no sequence (no ORIGIN section)", path=p, record=rec.seqid)
        if rec.length is not None and rec.length != len(data):
            raise InputError(
                f"LOCUS says {rec.length} bp but ORIGIN holds {len(data)}",
                path=p,
                record=rec.seqid,
                line=rec.origin_line,
            )
        yield FastaRecord(id=rec.seqid, description=rec.definition.rstrip("."), sequence=data.decode("ascii"))
