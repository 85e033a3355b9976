"""Per-position conservation of a reference genome across strains of its species (DESIGN.md "Conservation").

Each strain genome is aligned to the reference with minimap2 (the ``mappy`` binding, an ``asm`` preset),
and every reference position gets two counts: ``n_aligned`` (strains with an ACGT base aligned there) and
``n_agree`` (those whose base equals the reference base). Conservation is ``n_agree / n_aligned`` and is
*missing* (NaN), never 0, where no strain aligns: absence of evidence is not divergence.

Bookkeeping rules (documented choices):

* only primary alignments (minimap2's primary + supplementary chains; secondary hits are dropped);
* per strain a reference position counts at most once: hits are taken best first (mapq, aligned block
  length, then coordinates) and each hit claims its whole reference span, so a lower-ranked hit (a
  paralogous copy) cannot fill the deletions of a better one;
* a position inside a deletion of the strain, or where the strain's base is not ACGT, has no aligned
  base for that strain (missing for it, not disagreeing);
* '-' strand hits are compared with the reverse complement of the query span, walking the CIGAR.

Strains are summed independently, so the counts do not depend on strain order; mappy runs with fixed
options and one thread, so the arrays are deterministic.

Preset (measured with benchmarks/bench_conservation.py on the shared strains, whole genomes, 4 strains):
``asm20`` is the default. Coverage (>= 1 aligned strain) for H. pylori G27 (~94–95% identity to its
strains): asm5 0.846, asm10 0.935, asm20 0.959; asm5 is tuned for < ~1% divergence and loses whole
divergent genes. For S. aureus N315 (~99%): asm5 0.951, asm10 0.962, asm20 0.968. The extra positions
asm20 adds align at lower identity (mean per-strain identity drops by ~0.1–0.5 points): divergent
homologous stretches, which is the polymorphism this column is meant to show. Alignment costs ~5–13 s of
wall time per strain either way (2-core machine under load; see the benchmark).

Dataset encoding (one row = a chunk of at most 1 Mb of a contig): ``conservation_aligned`` and
``conservation_agree`` are Arrow ``large_binary`` values (64-bit offsets, like ``sequence``) of exactly
``length`` bytes, byte i = the count at row position i (so at most 255 strains);
``conservation_strains`` is ``list<string>`` of the strain genome ids. Genomes without strains get nulls
and an empty list. Binary rather than list<uint8>: equally compact on disk, but it loads as ``bytes``
(``datasets`` Value("large_binary")) that numpy views without copying, where list<uint8> becomes a
Python list of a million ints per row.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from genobench_hf.data.fasta import clean_sequence, read_fasta, reverse_complement
from genobench_hf.data.taxonomy import MISSING, GenomeEntry
from genobench_hf.errors import ConfigError, InputError

DEFAULT_PRESET = "asm20"
PRESETS = ("asm5", "asm10", "asm20")
MAX_STRAINS = 255  # one byte per position and count

ALIGNED_COLUMN = "conservation_aligned"
AGREE_COLUMN = "conservation_agree"
STRAINS_COLUMN = "conservation_strains"
#: Arrow fields the dataset builder appends to the contig schema.
CONSERVATION_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    (STRAINS_COLUMN, pa.list_(pa.string())),
    (ALIGNED_COLUMN, pa.large_binary()),
    (AGREE_COLUMN, pa.large_binary()),
)
COLUMNS = tuple(name for name, _ in CONSERVATION_FIELDS)

_ACGT = np.zeros(256, dtype=bool)
_ACGT[np.frombuffer(b"ACGT", dtype=np.uint8)] = True
_MATCH_OPS = frozenset({0, 7, 8})  # M, =, X
_QUERY_OPS = frozenset({1, 4})  # I, S
_REF_OPS = frozenset({2, 3})  # D, N


class ContigConservation(NamedTuple):
    """Counts of one reference contig (contig coordinates) and the strains they come from."""

    n_aligned: np.ndarray  # uint8
    n_agree: np.ndarray  # uint8
    strains: tuple[str, ...]


@dataclass(frozen=True)
class StrainReport:
    """How one strain aligned: for the build summary and the benchmark."""

    strain_id: str
    n_hits: int
    aligned_bases: int  # reference positions with an aligned ACGT base of this strain
    agreeing_bases: int
    seconds: float  # wall
    cpu_seconds: float = float("nan")  # process CPU time (robust on a loaded machine)

    @property
    def identity(self) -> float:
        return self.agreeing_bases / self.aligned_bases if self.aligned_bases else float("nan")


@dataclass
class ConservationTrack:
    """Conservation counts for every contig of one reference genome."""

    strains: tuple[str, ...]
    preset: str
    n_aligned: dict[str, np.ndarray] = field(default_factory=dict)
    n_agree: dict[str, np.ndarray] = field(default_factory=dict)
    reports: list[StrainReport] = field(default_factory=list)

    def contig(self, contig_id: str) -> ContigConservation:
        return ContigConservation(self.n_aligned[contig_id], self.n_agree[contig_id], self.strains)

    def summary(self) -> dict[str, Any]:
        """Coverage and the distribution of conservation over the whole reference (JSON-ready)."""
        aligned = np.concatenate(list(self.n_aligned.values()))
        agree = np.concatenate(list(self.n_agree.values()))
        cons = conservation(aligned, agree)
        defined = ~np.isnan(cons)
        multi = aligned >= 2
        return {
            "strains": list(self.strains),
            "preset": self.preset,
            "positions": int(aligned.size),
            "coverage": float(defined.mean()) if aligned.size else 0.0,  # >= 1 aligned strain
            "coverage_all_strains": float((aligned == len(self.strains)).mean()) if aligned.size else 0.0,
            "share_conserved": float((cons[defined] == 1.0).mean()) if defined.any() else None,
            "share_conserved_n2": float((agree[multi] == aligned[multi]).mean()) if multi.any() else None,
            "mean_conservation": float(cons[defined].mean()) if defined.any() else None,
            "n_aligned_histogram": np.bincount(aligned, minlength=len(self.strains) + 1).tolist(),
            "per_strain": [
                {
                    "strain": r.strain_id,
                    "hits": r.n_hits,
                    "aligned_fraction": r.aligned_bases / aligned.size,
                    "identity": r.identity,
                    "seconds": round(r.seconds, 3),
                    "cpu_seconds": round(r.cpu_seconds, 3),
                }
                for r in self.reports
            ],
        }


def conservation(n_aligned: np.ndarray, n_agree: np.ndarray) -> np.ndarray:
    """n_agree / n_aligned as float64; NaN (missing) where no strain aligned — never 0."""
    a = np.asarray(n_aligned, dtype=np.float64)
    g = np.asarray(n_agree, dtype=np.float64)
    if a.shape != g.shape:
        raise ConfigError(f"n_aligned and n_agree differ in shape: {a.shape} vs {g.shape}")
    out = np.full(a.shape, np.nan)
    np.divide(g, a, out=out, where=a > 0)
    return out


def _bytes(seq: str) -> np.ndarray:
    return np.frombuffer(seq.upper().encode("ascii"), dtype=np.uint8)


def _aligner(reference: Mapping[str, str], preset: str, workdir: Path) -> Any:
    try:
        import mappy
    except ImportError:  # pragma: no cover - mappy is a declared dependency of the conservation column
        raise ConfigError("the conservation column needs minimap2's binding: pip install mappy") from None
    if preset not in PRESETS:
        raise ConfigError(f"unknown minimap2 preset {preset!r}; choose from {', '.join(PRESETS)}")
    fasta = workdir / "reference.fa"
    with fasta.open("w", encoding="ascii") as fh:
        for name, seq in reference.items():
            fh.write(f">{name}\n{seq}\n")
    aligner = mappy.Aligner(str(fasta), preset=preset, n_threads=1)
    if not aligner:
        raise InputError("minimap2 could not index the reference", path=fasta)
    return aligner


def _walk(hit: Any, ref: np.ndarray, query: np.ndarray, claimed: np.ndarray,
          aligned: np.ndarray, agree: np.ndarray) -> None:  # fmt: skip
    """Mark the aligned and agreeing reference positions of one hit that no better hit claimed."""
    q = query[hit.q_st : hit.q_en]
    if hit.strand < 0:
        q = _bytes(reverse_complement(q.tobytes().decode("ascii")))
    free = ~claimed[hit.r_st : hit.r_en]
    r, qi = hit.r_st, 0
    for length, op in hit.cigar:
        if op in _MATCH_OPS:
            rs, qs = ref[r : r + length], q[qi : qi + length]
            ok = free[r - hit.r_st : r - hit.r_st + length] & _ACGT[qs]
            aligned[r : r + length] |= ok
            agree[r : r + length] |= ok & (rs == qs)
            r += length
            qi += length
        elif op in _QUERY_OPS:
            qi += length
        elif op in _REF_OPS:
            r += length
    if r != hit.r_en or qi != len(q):
        raise InputError(f"minimap2 CIGAR does not span its hit ({hit.ctg}:{hit.r_st}-{hit.r_en})")
    claimed[hit.r_st : hit.r_en] = True


def _hit_order(item: tuple[str, Any]) -> tuple:
    qname, h = item
    return (-h.mapq, -h.blen, h.ctg, h.r_st, h.r_en, qname, h.q_st, h.strand)


def align_strain(aligner: Any, reference: Mapping[str, np.ndarray], strain: Mapping[str, str],
                 strain_id: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], StrainReport]:  # fmt: skip
    """Boolean (aligned, agree) arrays per reference contig for one strain (all its records)."""
    t0, c0 = time.perf_counter(), time.process_time()
    hits = [(name, h) for name, seq in strain.items() for h in aligner.map(seq) if h.is_primary]
    hits.sort(key=_hit_order)
    queries = {name: _bytes(seq) for name, seq in strain.items()}
    aligned = {c: np.zeros(len(s), dtype=bool) for c, s in reference.items()}
    agree = {c: np.zeros(len(s), dtype=bool) for c, s in reference.items()}
    claimed = {c: np.zeros(len(s), dtype=bool) for c, s in reference.items()}
    for qname, h in hits:
        _walk(h, reference[h.ctg], queries[qname], claimed[h.ctg], aligned[h.ctg], agree[h.ctg])
    report = StrainReport(
        strain_id=strain_id,
        n_hits=len(hits),
        aligned_bases=int(sum(a.sum() for a in aligned.values())),
        agreeing_bases=int(sum(a.sum() for a in agree.values())),
        seconds=time.perf_counter() - t0,
        cpu_seconds=time.process_time() - c0,
    )
    return aligned, agree, report


def conservation_track(reference: Mapping[str, str], strains: Mapping[str, Mapping[str, str]],
                       *, preset: str = DEFAULT_PRESET) -> ConservationTrack:  # fmt: skip
    """Align every strain (id -> {record id: sequence}) to ``reference`` (contig id -> cleaned sequence)."""
    if len(strains) > MAX_STRAINS:
        raise ConfigError(
            f"at most {MAX_STRAINS} strains per reference (one byte per count); got {len(strains)}"
        )
    if not reference:
        raise ConfigError("the reference genome has no contigs")
    ref = {c: _bytes(s) for c, s in reference.items()}
    track = ConservationTrack(strains=tuple(sorted(strains)), preset=preset)
    track.n_aligned = {c: np.zeros(len(s), dtype=np.uint8) for c, s in ref.items()}
    track.n_agree = {c: np.zeros(len(s), dtype=np.uint8) for c, s in ref.items()}
    with tempfile.TemporaryDirectory(prefix="genobench-cons-") as tmp:
        aligner = _aligner(reference, preset, Path(tmp))
        for strain_id in track.strains:
            aligned, agree, report = align_strain(aligner, ref, strains[strain_id], strain_id)
            for c in ref:
                track.n_aligned[c] += aligned[c]
                track.n_agree[c] += agree[c]
            track.reports.append(report)
    return track


# -- corpus ---------------------------------------------------------------------------------------------
def read_genome(path: Path) -> dict[str, str]:
    """Record id -> cleaned (uppercase, U->T) sequence of a FASTA genome."""
    return {rec.id: clean_sequence(rec.sequence).sequence for rec in read_fasta(path)}


def strains_for(entry: GenomeEntry, strains: Iterable[GenomeEntry]) -> list[GenomeEntry]:
    """The strain genomes of ``entry``'s species (TAXONOMY ``species``), sorted by genome id."""
    if entry.species in ("", MISSING):
        return []
    return sorted((s for s in strains if s.species == entry.species and s.genome_id != entry.genome_id),
                  key=lambda s: s.genome_id)  # fmt: skip


def genome_conservation(entry: GenomeEntry, strains: Sequence[GenomeEntry], *,
                        reference: Mapping[str, str] | None = None,
                        preset: str = DEFAULT_PRESET) -> ConservationTrack | None:  # fmt: skip
    """The track of one dataset genome, or None when its species has no strains.

    ``reference`` (contig id -> cleaned sequence) lets the builder pass the records it already holds.
    """
    mine = strains_for(entry, strains)
    if not mine:
        return None
    ref = dict(reference) if reference is not None else read_genome(entry.path)
    return conservation_track(ref, {s.genome_id: read_genome(s.path) for s in mine}, preset=preset)


# -- dataset columns ------------------------------------------------------------------------------------
def encode_for_row(arrays: ContigConservation | None, chunk_start: int, length: int) -> dict[str, Any]:
    """The three conservation columns of a row covering ``[chunk_start, chunk_start + length)``."""
    if arrays is None:
        return {STRAINS_COLUMN: [], ALIGNED_COLUMN: None, AGREE_COLUMN: None}
    end = chunk_start + length
    if chunk_start < 0 or length < 0 or end > arrays.n_aligned.size:
        raise ConfigError(
            f"row [{chunk_start}, {end}) lies outside the contig's conservation track "
            f"of {arrays.n_aligned.size} positions"
        )
    return {
        STRAINS_COLUMN: list(arrays.strains),
        ALIGNED_COLUMN: np.ascontiguousarray(arrays.n_aligned[chunk_start:end], dtype=np.uint8).tobytes(),
        AGREE_COLUMN: np.ascontiguousarray(arrays.n_agree[chunk_start:end], dtype=np.uint8).tobytes(),
    }


def _column(row: Mapping[str, Any], name: str) -> np.ndarray:
    value = row[name]
    if isinstance(value, bytes | bytearray | memoryview):
        return np.frombuffer(value, dtype=np.uint8)
    return np.asarray(value, dtype=np.uint8)  # tolerate list<uint8>


def decode_row(row: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """``(n_aligned, n_agree)`` uint8 arrays in row coordinates, or None if the row has no track."""
    if row.get(ALIGNED_COLUMN) is None or row.get(AGREE_COLUMN) is None:
        return None
    aligned, agree = _column(row, ALIGNED_COLUMN), _column(row, AGREE_COLUMN)
    expected = len(row["sequence"]) if "sequence" in row else aligned.size
    if aligned.size != expected or agree.size != expected:
        raise InputError(
            f"conservation columns of row {row.get('genome_id', '?')}@{row.get('chunk_start', '?')} have "
            f"{aligned.size}/{agree.size} bytes for a sequence of {expected} nt (corrupt dataset?)"
        )
    if np.any(agree > aligned):
        raise InputError(f"row {row.get('genome_id', '?')}: n_agree exceeds n_aligned (corrupt dataset?)")
    return aligned, agree


# -- codon position (the codon-position baseline of the conservation task) ----------------------------
NON_CODING, CODON_12, CODON_3 = 0, 1, 2
MIN_ORF_CODONS = 100


def _merge(out: np.ndarray, cls: np.ndarray) -> None:
    """Overlapping frames: a position that is codon position 1/2 in any frame stays 1/2."""
    out[:] = np.where((out == CODON_12) | (cls == CODON_12), CODON_12, np.maximum(out, cls))


def cds_codon_classes(cds: Iterable[Mapping[str, Any]], chunk_start: int, length: int) -> np.ndarray:
    """int8 class per row position from the ``cds`` column (contig coordinates, GFF3 phase).

    0 = non-coding, 1 = codon position 1 or 2, 2 = codon position 3.
    """
    out = np.zeros(length, dtype=np.int8)
    for seg in cds:
        s, e, phase = int(seg["start"]), int(seg["end"]), int(seg.get("phase") or 0)
        lo, hi = max(s, chunk_start), min(e, chunk_start + length)
        if hi <= lo:
            continue
        p = np.arange(lo, hi)
        frame = ((p - s - phase) if seg["strand"] != "-" else (e - 1 - p - phase)) % 3
        _merge(
            out[lo - chunk_start : hi - chunk_start], np.where(frame == 2, CODON_3, CODON_12).astype(np.int8)
        )
    return out


def orf_codon_classes(seq: str, table: int = 11, min_codons: int = MIN_ORF_CODONS) -> np.ndarray:
    """The same classes from stop-to-stop open reading frames of >= ``min_codons`` codons, 6 frames.

    A stand-in for genomes without annotation (e.g. H. pylori G27 and S. aureus N315 in the corpus):
    long ORFs in these AT-rich genomes are overwhelmingly real genes. Codons with a non-ACGT base break
    an ORF like a stop.
    """
    from genobench_hf.data.genetic_code import stop_codons

    n = len(seq)
    out = np.zeros(n, dtype=np.int8)
    stops = np.array([(ord(c[0]) << 16) | (ord(c[1]) << 8) | ord(c[2]) for c in stop_codons(table)])
    for strand, s in (("+", seq), ("-", reverse_complement(seq))):
        arr = _bytes(s).astype(np.int64)
        for f in range(3):
            k = (n - f) // 3
            if k <= 0:
                continue
            cod = arr[f : f + 3 * k].reshape(k, 3)
            code = (cod[:, 0] << 16) | (cod[:, 1] << 8) | cod[:, 2]
            breaks = np.isin(code, stops) | ~_ACGT[cod].all(axis=1)
            b = np.concatenate([[-1], np.flatnonzero(breaks), [k]])
            keep = np.flatnonzero(np.diff(b) - 1 >= min_codons)
            for a, c in zip(b[keep] + 1, b[keep + 1], strict=True):
                lo, hi = f + 3 * int(a), f + 3 * int(c)  # codons [a, c) on this strand
                cls = np.tile(np.array([CODON_12, CODON_12, CODON_3], dtype=np.int8), int(c - a))
                if strand == "+":
                    _merge(out[lo:hi], cls)
                else:
                    _merge(out[n - hi : n - lo], cls[::-1].copy())
    return out
