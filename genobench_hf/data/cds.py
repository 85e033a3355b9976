"""The CDS model and the helpers both annotation readers (``genbank.py``, ``gff3.py``) build it with.

The bottom of ``data``'s annotation modules: the readers import it, ``annotations.py`` imports the readers
and re-exports these names, so no module needs a lazy import to avoid a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


# --------------------------------------------------------------------------- building CDS (readers)
class SkippedCDS(Exception):
    """A CDS that cannot be placed on one contig; the message is the skip reason."""


def make_cds(seqid: str, pieces: list[tuple[int, int, str]], **kw: object) -> CDS:
    """Build a CDS from pieces in transcription order (raises SkippedCDS on mixed strands)."""
    strands = {st for _, _, st in pieces}
    if len(strands) != 1:
        raise SkippedCDS("mixed strands (trans-splicing)")
    strand = strands.pop()
    spans = [(s, e) for s, e, _ in pieces]
    segments = tuple(sorted(spans))
    default = list(range(len(segments))) if strand == "+" else list(range(len(segments)))[::-1]
    order = [segments.index(sp) for sp in spans] if len(set(spans)) == len(spans) else default
    return CDS(
        seqid=seqid, strand=strand, segments=segments, order=None if order == default else tuple(order), **kw
    )  # type: ignore[arg-type]


def pick_gene_id(
    q: dict[str, str], fallbacks: Sequence[str], seqid: str, pieces: list[tuple[int, int, str]]
) -> str:
    """gene_id by the module's precedence: locus_tag, gene, protein_id, ``fallbacks``, then coordinates."""
    for key in ("locus_tag", "gene", "protein_id", *fallbacks):
        if q.get(key):
            return q[key]
    return f"{seqid}:{min(p[0] for p in pieces)}-{max(p[1] for p in pieces)}({pieces[0][2]})"


def optional_int(value: str | None, what: str, path: Path, line: int, record: str) -> int | None:
    """An integer qualifier/attribute (None if absent); anything else is an InputError naming ``what``."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(
            f"{what} must be an integer, got {value!r}", path=path, line=line, record=record
        ) from None
