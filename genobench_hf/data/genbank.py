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

from genobench_hf.data.annotations import AnnotationFile, SkippedCDS, make_cds, optional_int, pick_gene_id
from genobench_hf.data.fasta import IUPAC_NUCLEOTIDE_BYTES, FastaRecord, open_text
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


def _iter_genbank(path: Path, *, want_sequence: bool) -> Iterator[_GbRecord]:
    """Yield GenBank records; features are (line, location, qualifiers) of CDS only."""
    rec: _GbRecord | None = None
    section = ""
    feature: tuple[int, list[str], list[list[str]]] | None = None  # line, location parts, qualifiers

    def close_feature() -> None:
        nonlocal feature
        if feature is not None and rec is not None:
            quals = [(k, ("" if k == "translation" else " ").join(v).strip()) for k, *v in feature[2]]
            rec.features.append((feature[0], "".join(feature[1]), quals))
        feature = None

    with open_text(path) as fh:
        line_no = 0
        for line_no, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
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
            elif section == "ORIGIN" and want_sequence:
                rec.sequence.append(line)
            elif section == "FEATURES":
                if line[5] != " ":
                    close_feature()
                    key, _, loc = line.strip().partition(" ")
                    if key == "CDS":
                        feature = (line_no, [loc.strip()], [])
                elif feature is not None:
                    text = line.strip()
                    value_so_far = "".join(feature[2][-1][1:]) if feature[2] else ""
                    inside_quotes = value_so_far.startswith('"') and value_so_far.count('"') % 2 == 1
                    if text.startswith("/") and not inside_quotes:
                        key, _, value = text[1:].partition("=")
                        feature[2].append([key, value])
                    elif feature[2]:
                        feature[2][-1].append(text)
                    else:
                        feature[1].append(text)
        if rec is not None:
            raise InputError(
                "file ends inside a record (missing '//'; truncated?)",
                path=path,
                record=rec.seqid,
                line=line_no,
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
                q.setdefault(k, _unquote(v))
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
