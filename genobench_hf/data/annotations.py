"""Reading annotation files, record matching and the CDS translation self-check.

``read_annotations`` picks the reader by file suffix: GenBank flat files (``genbank.py``) or GFF3
(``gff3.py``); both produce an :class:`AnnotationFile` of :class:`CDS` in 0-based half-open contig
coordinates, built with the helpers of ``cds.py`` so that the two formats agree on gene ids, skips and
segment order. CDS that cannot be placed on one contig (remote references ``ACC:1..9``, between-base sites
``n^m``, uncertain ``n.m`` sites, mixed strands) are skipped and counted in ``AnnotationFile.skipped``.

gene_id precedence (both formats): locus_tag, gene, protein_id, then GFF3 ID / Parent / Name, and
finally ``seqid:start-end(strand)``.

Layering: ``cds.py`` (the model) <- ``genbank.py``, ``gff3.py`` (the readers) <- this module, which
re-exports the names of both for its callers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from genobench_hf.data.cds import (  # noqa: F401  (re-exported: the CDS model)
    CDS,
    AnnotationFile,
    SkippedCDS,
    make_cds,
    optional_int,
    pick_gene_id,
)
from genobench_hf.data.fasta import reverse_complement
from genobench_hf.data.genbank import read_genbank, read_genbank_sequences  # noqa: F401  (re-exported)
from genobench_hf.data.genetic_code import start_codons, translate
from genobench_hf.data.gff3 import read_gff3
from genobench_hf.errors import InputError


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
    nothing or several FASTA records, or two records matching one, is an InputError, and so is a bound
    pair whose lengths differ where the annotation states one (``##sequence-region``, LOCUS): an
    annotation of another genome must not be attached by its position in a one-record file.
    """
    if len(fasta_ids) != len(fasta_lengths):
        raise ValueError("fasta_ids and fasta_lengths differ in length")
    annotated = [seqid for seqid, cds in annotation.records.items() if cds]
    length_of = dict(zip(fasta_ids, fasta_lengths, strict=True))
    if len(fasta_ids) == 1 and len(annotated) == 1:
        return _checked_lengths(annotation, {annotated[0]: fasta_ids[0]}, length_of)
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
    return _checked_lengths(annotation, result, length_of)


def _checked_lengths(
    annotation: AnnotationFile, mapping: dict[str, str], length_of: dict[str, int]
) -> dict[str, str]:
    """``mapping``, once every bound pair agrees in length where the annotation states one."""
    for seqid, fid in mapping.items():  # the binding must hold, not just the names (or the single record)
        claimed = annotation.record_lengths.get(seqid)
        if claimed is not None and claimed != length_of[fid]:
            raise InputError(
                f"annotated record is {claimed:,} nt long (its ##sequence-region or LOCUS line) but FASTA "
                f"record {fid!r} has {length_of[fid]:,} nt: this annotation is of another sequence",
                path=annotation.path,
                record=seqid,
            )
    return mapping


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
