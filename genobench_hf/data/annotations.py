"""GenBank and GFF3 CDS readers, record matching and the CDS translation self-check.

Only what the datasets need is parsed (CDS features, record names and lengths, the GenBank sequence),
but that part is parsed strictly: malformed lines raise InputError naming file, line and record.
CDS that cannot be placed on one contig (remote references ``ACC:1..9``, between-base sites ``n^m``,
uncertain ``n.m`` sites, mixed strands) are skipped and counted in ``AnnotationFile.skipped``.

gene_id precedence (both formats): locus_tag, gene, protein_id, then GFF3 ID / Parent / Name, and
finally ``seqid:start-end(strand)``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from genobench_hf.data.fasta import _VALID_BYTES, FastaRecord, open_text, reverse_complement
from genobench_hf.data.genetic_code import start_codons, translate
from genobench_hf.errors import InputError


@dataclass(frozen=True)
class CDS:
    """One (possibly spliced) coding sequence in 0-based half-open contig coordinates."""

    seqid: str
    gene_id: str
    strand: str
    segments: tuple[tuple[int, int], ...]  # sorted by start
    codon_start: int
    transl_table: int | None
    translation: str | None
    partial: bool
    pseudo: bool
    # Indices into `segments` in transcription order when that is not simply ascending ('+') or
    # descending ('-') start order, e.g. a CDS spanning the origin of a circular genome.
    order: tuple[int, ...] | None = None


@dataclass
class AnnotationFile:
    """CDS per annotated record; lengths are the file's own claim (None if it makes none)."""

    path: Path
    records: dict[str, list[CDS]]
    record_lengths: dict[str, int | None]
    aliases: dict[str, set[str]] = field(default_factory=dict)  # other names (LOCUS, ACCESSION)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> number of CDS skipped


def read_annotations(path: str | Path) -> AnnotationFile:
    """Read a GenBank (.gbk/.gb/.gbff/.genbank) or GFF3 (.gff/.gff3) file, optionally compressed."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes if s.lower() not in (".gz", ".xz", ".bz2")]
    kind = suffixes[-1] if suffixes else ""
    if kind in (".gbk", ".gb", ".gbff", ".genbank"):
        return read_genbank(p)
    if kind in (".gff", ".gff3"):
        return read_gff3(p)
    raise InputError("unknown annotation format (expected .gbk/.gb/.gbff/.genbank or .gff/.gff3)", path=p)


# --------------------------------------------------------------------------- GenBank locations
_TOKEN = re.compile(r"\s*(complement\(|join\(|order\(|bond\(|\)|,|[^(),]+)")
_RANGE = re.compile(r"^(<?)(\d+)(?:\.\.(>?)(\d+))?$")


class _Skip(Exception):
    """A location that cannot be placed on this record; the message is the skip reason."""


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
            raise _Skip("remote reference")
        if "^" in tok:
            raise _Skip("between-base site (n^m)")
        m = _RANGE.match(tok)
        if m is None:
            raise _Skip("uncertain site (n.m)") if re.fullmatch(r"\d+\.\d+", tok) else ValueError(tok)
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


def _make_cds(seqid: str, pieces: list[tuple[int, int, str]], **kw: object) -> CDS:
    """Build a CDS from pieces in transcription order (raises _Skip on mixed strands)."""
    strands = {st for _, _, st in pieces}
    if len(strands) != 1:
        raise _Skip("mixed strands (trans-splicing)")
    strand = strands.pop()
    spans = [(s, e) for s, e, _ in pieces]
    segments = tuple(sorted(spans))
    default = list(range(len(segments))) if strand == "+" else list(range(len(segments)))[::-1]
    order = [segments.index(sp) for sp in spans] if len(set(spans)) == len(spans) else default
    return CDS(
        seqid=seqid, strand=strand, segments=segments, order=None if order == default else tuple(order), **kw
    )  # type: ignore[arg-type]


def _gene_id(
    q: dict[str, str], fallbacks: Sequence[str], seqid: str, pieces: list[tuple[int, int, str]]
) -> str:
    for key in ("locus_tag", "gene", "protein_id", *fallbacks):
        if q.get(key):
            return q[key]
    return f"{seqid}:{min(p[0] for p in pieces)}-{max(p[1] for p in pieces)}({pieces[0][2]})"


def _positive_int(value: str | None, what: str, path: Path, line: int, record: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(
            f"{what} must be an integer, got {value!r}", path=path, line=line, record=record
        ) from None


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
                codon_start = _positive_int(q.get("codon_start"), "/codon_start", p, line_no, seqid) or 1
                if codon_start not in (1, 2, 3):
                    raise InputError(
                        f"/codon_start must be 1, 2 or 3, got {codon_start}",
                        path=p,
                        line=line_no,
                        record=seqid,
                    )
                cds = _make_cds(
                    seqid,
                    pieces,
                    gene_id=_gene_id(q, (), seqid, pieces),
                    codon_start=codon_start,
                    transl_table=_positive_int(q.get("transl_table"), "/transl_table", p, line_no, seqid),
                    translation=q["translation"].replace(" ", "") if "translation" in q else None,
                    partial="<" in location or ">" in location,
                    pseudo="pseudo" in q or "pseudogene" in q,
                )
            except _Skip as skip:
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
        bad = data.translate(None, _VALID_BYTES)
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


# --------------------------------------------------------------------------- GFF3 reader
def _gff_attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for item in text.strip().split(";"):
        if item.strip():
            key, _, value = item.strip().partition("=")
            attrs[unquote(key)] = unquote(value)
    return attrs


def read_gff3(path: str | Path) -> AnnotationFile:
    """Read the CDS of a GFF3 file: lines sharing an ID (else a Parent) form one spliced CDS.

    CDS lines with neither ID nor Parent stand alone. Reading stops at ``##FASTA``. Record lengths come
    from ``##sequence-region`` pragmas (None where absent).
    """
    p = Path(path)
    out = AnnotationFile(path=p, records={}, record_lengths={})
    groups: dict[tuple[str, str], list[tuple[int, int, int, str, str, dict[str, str]]]] = {}
    with open_text(p) as fh:
        for line_no, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if line.startswith("##FASTA"):
                break
            if line.startswith("##sequence-region"):
                words = line.split()
                if len(words) == 4 and words[3].isdigit():
                    out.record_lengths[words[1]] = int(words[3])
                    out.records.setdefault(words[1], [])
                continue
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 9:
                raise InputError(f"expected 9 tab-separated columns, found {len(cols)}", path=p, line=line_no)
            seqid, ftype = cols[0], cols[2]
            out.records.setdefault(seqid, [])
            out.record_lengths.setdefault(seqid, None)
            if ftype != "CDS":
                continue
            try:
                start, end = int(cols[3]), int(cols[4])
            except ValueError:
                raise InputError("start/end must be integers", path=p, line=line_no, record=seqid) from None
            if start < 1 or end < start:
                raise InputError(f"bad CDS coordinates {start}..{end}", path=p, line=line_no, record=seqid)
            if cols[6] not in ("+", "-"):
                raise InputError(
                    f"CDS strand must be '+' or '-', got {cols[6]!r}", path=p, line=line_no, record=seqid
                )
            if cols[7] not in ("0", "1", "2", "."):
                raise InputError(
                    f"CDS phase must be 0, 1, 2 or '.', got {cols[7]!r}", path=p, line=line_no, record=seqid
                )
            attrs = _gff_attributes(cols[8])
            key = attrs.get("ID") or (
                f"Parent={attrs['Parent']}" if attrs.get("Parent") else f"line={line_no}"
            )
            phase = 0 if cols[7] == "." else int(cols[7])
            groups.setdefault((seqid, key), []).append((line_no, start - 1, end, cols[6], str(phase), attrs))
    for (seqid, _key), rows in groups.items():
        strand = rows[0][3]
        if any(r[3] != strand for r in rows):
            out.skipped["mixed strands (trans-splicing)"] += 1
            continue
        rows.sort(key=lambda r: r[1], reverse=strand == "-")
        pieces = [(r[1], r[2], strand) for r in rows]
        attrs: dict[str, str] = {}
        for r in rows:
            for k, v in r[5].items():
                attrs.setdefault(k, v)
        table = _positive_int(attrs.get("transl_table"), "transl_table", p, rows[0][0], seqid)
        out.records[seqid].append(
            _make_cds(
                seqid,
                pieces,
                gene_id=_gene_id(attrs, ("ID", "Parent", "Name", "gene_name"), seqid, pieces),
                codon_start=int(rows[0][4]) + 1,
                transl_table=table,
                translation=None,
                partial=attrs.get("partial") == "true" or "start_range" in attrs or "end_range" in attrs,
                pseudo=attrs.get("pseudo") == "true",
            )
        )
    if not out.records:
        raise InputError("no GFF3 features found", path=p)
    return out


# --------------------------------------------------------------------------- matching records
def _keys(name: str) -> set[str]:
    """Normalised names a record may be known by: without range suffix, version, or pipe fields."""
    keys: set[str] = set()
    for part in [name, *name.split("|")]:
        part = re.sub(r":\d+-\d+$", "", part.strip()).casefold()
        if part:
            keys.update({part, re.sub(r"\.\d+$", "", part)})
    return keys


def match_records(
    annotation: AnnotationFile, fasta_ids: Sequence[str], fasta_lengths: Sequence[int]
) -> dict[str, str]:
    """Map every annotated record that holds CDS to its FASTA record id (DESIGN.md, data conventions).

    A single-record FASTA with a single such record binds directly; otherwise names are compared exactly,
    then without version, range suffix (``NC_003070.9:1-2000000``) and case, also through GenBank LOCUS
    and ACCESSION names; a length equal to the annotation's own breaks ties. A record that matches
    nothing or several FASTA records, or two records matching one, is an InputError.
    """
    if len(fasta_ids) != len(fasta_lengths):
        raise ValueError("fasta_ids and fasta_lengths differ in length")
    annotated = [seqid for seqid, cds in annotation.records.items() if cds]
    if len(fasta_ids) == 1 and len(annotated) == 1:
        return {annotated[0]: fasta_ids[0]}
    length_of = dict(zip(fasta_ids, fasta_lengths, strict=True))
    exact = {fid.casefold(): fid for fid in fasta_ids}
    by_key: dict[str, set[str]] = {}
    for fid in fasta_ids:
        for k in _keys(fid):
            by_key.setdefault(k, set()).add(fid)
    result: dict[str, str] = {}
    for seqid in annotated:
        names = {seqid} | annotation.aliases.get(seqid, set())
        found = {exact[n.casefold()] for n in names if n.casefold() in exact}
        if not found:
            found = set().union(*(by_key.get(k, set()) for n in names for k in _keys(n)))
        if len(found) > 1:
            same_length = {f for f in found if length_of[f] == annotation.record_lengths.get(seqid)}
            found = same_length if len(same_length) == 1 else found
        if len(found) != 1:
            shown = sorted(found) if found else list(fasta_ids)[:5] + (["..."] if len(fasta_ids) > 5 else [])
            problem = "matches several FASTA records" if found else "matches no FASTA record"
            raise InputError(
                f"annotated record {problem} ({', '.join(shown)})", path=annotation.path, record=seqid
            )
        hit = found.pop()
        if hit in result.values():
            raise InputError(
                f"two annotated records match FASTA record {hit!r}", path=annotation.path, record=seqid
            )
        result[seqid] = hit
    return result


# --------------------------------------------------------------------------- CDS sequence and checks
def transcribed_segments(cds: CDS) -> list[tuple[int, int]]:
    """The segments in transcription order (5' to 3' of the coding strand)."""
    if cds.order is not None:
        return [cds.segments[i] for i in cds.order]
    return list(cds.segments) if cds.strand == "+" else list(reversed(cds.segments))


def segment_phases(cds: CDS) -> list[int]:
    """GFF3 phase of each segment, in transcription order (aligned with transcribed_segments)."""
    phases = [cds.codon_start - 1]
    for start, end in transcribed_segments(cds)[:-1]:
        phases.append((phases[-1] - (end - start)) % 3)
    return phases


def phased_segments(cds: CDS) -> list[tuple[int, int, int]]:
    """(start, end, phase) of every segment, sorted by start: the per-segment rows of the dataset."""
    rows = zip(transcribed_segments(cds), segment_phases(cds), strict=True)
    return sorted((start, end, phase) for (start, end), phase in rows)


def cds_sequence(cds: CDS, contig: str) -> str:
    """Spliced coding sequence (reverse-complemented on '-') from codon_start on."""
    parts = [contig[s:e] for s, e in transcribed_segments(cds)]
    if cds.strand == "-":
        parts = [reverse_complement(x) for x in parts]
    return "".join(parts)[cds.codon_start - 1 :]


def check_translation(cds: CDS, contig: str, table: int, *, allow_partial_codon: bool = False) -> bool:
    """True if the CDS translates as annotated.

    ``table`` is the genome's code; the feature's own transl_table wins. With a /translation: equal
    after dropping one trailing '*', allowing the first residue to be M when the first codon is a start
    codon of the table (alternative starts). Without a /translation: no internal stop codon.
    Only whole codons count by default (this reproduces the corpus MANIFEST self-check); with
    ``allow_partial_codon`` the incomplete last codon of a partial CDS is translated as NCBI does
    (padded with N, kept only when unambiguous), so such CDS pass too.
    """
    code = cds.transl_table if cds.transl_table is not None else table
    seq = cds_sequence(cds, contig).upper()
    protein = translate(seq, code)
    if allow_partial_codon and cds.partial and len(seq) % 3:
        last = translate(seq[-(len(seq) % 3) :] + "NN", code)
        protein += last if last != "X" else ""
    if cds.translation is None:
        return "*" not in protein[:-1]
    protein = protein[:-1] if protein.endswith("*") else protein
    if protein == cds.translation:
        return True
    return (
        len(protein) == len(cds.translation) > 0
        and cds.translation[0] == "M"
        and protein[1:] == cds.translation[1:]
        and seq[:3] in start_codons(code)
    )


def validate_bounds(cds: CDS, length: int, path: str | Path) -> None:
    """Raise InputError if a CDS segment lies outside a record of ``length`` bases."""
    for start, end in cds.segments:
        if start < 0 or end > length:
            raise InputError(
                f"CDS {cds.gene_id!r} segment {start + 1}..{end} lies outside the sequence (length {length})",
                path=path,
                record=cds.seqid,
            )
