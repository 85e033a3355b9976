"""Genome -> dataset rows: contig/chunk rows (PRO, EUK, VIR) and read rows (*_reads).

One genome is held in memory at a time (its cleaned records), never the corpus: read sampling needs the
contig lengths before drawing, and a second decompression pass would cost more than the memory. Rows
carry no ``split`` yet: the split needs every genome's sketch, so the build writes rows first and adds the
split column when it assembles the shards. Column order and types are fixed by the Arrow schemas below
(ARCHITECTURE.md, row schemas). ``contig_table``/``read_table`` build the Arrow tables the builder
writes; ``contig_rows``/``read_rows`` yield the same rows as dicts.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from genobench_hf.data.annotations import (
    check_translation,
    match_records,
    phased_segments,
    read_annotations,
    read_genbank_sequences,
    validate_bounds,
)
from genobench_hf.data.conservation import CONSERVATION_FIELDS, ConservationTrack, encode_for_row
from genobench_hf.data.fasta import COMPLEMENT_TABLE, CleanSequence, clean_sequence, gc_counts, read_fasta
from genobench_hf.data.sketch import Sketch
from genobench_hf.data.taxonomy import GenomeEntry
from genobench_hf.errors import InputError
from genobench_hf.seeding import stable_seed

_REPLACED = "\ufffd"  # what undecodable bytes become when a file is read (fasta.open_text)
DEFAULT_CHUNK_SIZE = 1_000_000
DEFAULT_READS_PER_GENOME = 2000
DEFAULT_READ_LENGTH = 150
MAX_NON_ACGT_FRACTION = 0.10  # reads with more non-ACGT bases are rejected and redrawn
MAX_DRAWS_PER_READ = 50  # bound on redraws: a genome of mostly N yields fewer reads (counted, warned)
MIN_TRANSLATION_FAILURES = 2  # an annotation is refused when at least this many and most of its CDS fail

_INTERVAL = pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64())]))
_CDS = pa.list_(
    pa.struct(
        [
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("strand", pa.string()),
            ("phase", pa.int8()),
            ("gene_id", pa.string()),
            ("transl_table", pa.int16()),
            ("translation_ok", pa.bool_()),
        ]
    )
)
_TAXONOMY_FIELDS = [
    ("kingdom", pa.string()),
    ("domain", pa.string()),
    ("phylum", pa.string()),
    ("class", pa.string()),
    ("order", pa.string()),
    ("family", pa.string()),
    ("genus", pa.string()),
    ("species", pa.string()),
    ("taxid", pa.string()),
    ("genetic_code", pa.int16()),
    ("organism", pa.string()),
    ("accession", pa.string()),
    ("source", pa.string()),
    ("license", pa.string()),
    ("sha256", pa.string()),
    ("split", pa.string()),
]
CONTIG_SCHEMA = pa.schema(
    [
        ("genome_id", pa.string()),
        ("file", pa.string()),
        ("contig_id", pa.string()),
        ("description", pa.string()),
        ("chunk_index", pa.int32()),
        ("chunk_start", pa.int64()),
        ("contig_length", pa.int64()),
        ("length", pa.int64()),
        ("sequence", pa.large_string()),
        ("gc", pa.float64()),
        ("n_non_acgt", pa.int64()),
        ("softmask", _INTERVAL),
        ("non_acgt", _INTERVAL),
        *_TAXONOMY_FIELDS,
        ("cds", _CDS),
        *CONSERVATION_FIELDS,
    ]
)
READ_SCHEMA = pa.schema(
    [
        ("read_id", pa.string()),
        ("genome_id", pa.string()),
        ("contig_id", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("strand", pa.string()),
        ("sequence", pa.string()),
        ("gc", pa.float64()),
        *_TAXONOMY_FIELDS,
    ]
)


@dataclass
class GenomeStats:
    """Per-genome counts for the build summary."""

    bases: int = 0
    acgt: int = 0  # A/C/G/T bases (a genome without any is left out of the datasets)
    contigs: int = 0
    cds: int = 0
    translation_failures: int = 0
    cds_skipped: int = 0
    reads: int = 0
    reads_short: int = 0  # reads that could not be drawn (too much non-ACGT or contigs too short)
    warnings: list[str] = field(default_factory=list)
    conservation: dict | None = None  # ConservationTrack.summary() + "cached", when the genome has strains


@dataclass
class Genome:
    """One genome's cleaned records and CDS segments (contig coordinates), ready to be cut into rows."""

    entry: GenomeEntry
    ids: list[str]
    descriptions: list[str]
    records: list[CleanSequence]
    cds: dict[str, list[dict]]  # contig id -> segment dicts sorted by start
    stats: GenomeStats


def provenance(entry: GenomeEntry) -> dict:
    """The taxonomy/provenance columns every row of a genome shares (split is filled by the build)."""
    return {
        "kingdom": entry.kingdom,
        **entry.lineage(),
        "taxid": entry.taxid,
        "genetic_code": entry.genetic_code,
        "organism": entry.organism,
        "accession": entry.accession,
        "source": entry.source,
        "license": entry.license,
        "sha256": entry.sha256,
        "split": "",
    }


def load_genome(entry: GenomeEntry, sketch: Sketch | None = None) -> Genome:
    """Read, clean and annotate one genome; optionally feed its sequence to ``sketch``."""
    reader = read_genbank_sequences(entry.path) if entry.is_genbank else read_fasta(entry.path)
    ids, descriptions, records = [], [], []
    stats = GenomeStats()
    for record in reader:
        where = {"path": entry.path, "line": record.line or None, "record": record.id}
        if _REPLACED in record.id:
            raise InputError(
                "record id holds bytes that are not UTF-8 (read as U+FFFD); annotations are matched by "
                "id, so fix the header's encoding",
                **where,
            )
        if _REPLACED in record.description:
            stats.warnings.append(
                str(
                    InputError(
                        "header holds bytes that are not UTF-8 (read as U+FFFD in the description)", **where
                    )
                )
            )
        clean = clean_sequence(record.sequence)
        if sketch is not None:
            sketch.update(clean.sequence)
        ids.append(record.id)
        descriptions.append(record.description)
        records.append(clean)
        stats.bases += len(clean.sequence)
        stats.acgt += len(clean.sequence) - clean.n_non_acgt
    stats.contigs = len(records)
    cds = _annotate(entry, ids, records, stats) if entry.annotation is not None else {}
    return Genome(entry, ids, descriptions, records, cds, stats)


def _annotate(entry: GenomeEntry, ids: list[str], records: list[CleanSequence], stats: GenomeStats):
    annotation = read_annotations(entry.annotation)
    lengths = [len(r.sequence) for r in records]
    mapping = match_records(annotation, ids, lengths)
    index = {fid: i for i, fid in enumerate(ids)}
    stats.cds_skipped = sum(annotation.skipped.values())
    out: dict[str, list[dict]] = {}
    checked = failed = 0
    for seqid, fid in mapping.items():
        contig = records[index[fid]].sequence
        segments = out.setdefault(fid, [])
        for feature in annotation.records[seqid]:
            validate_bounds(feature, len(contig), annotation.path)
            ok = check_translation(feature, contig, entry.genetic_code)
            stats.cds += 1
            stats.translation_failures += not ok
            checked += not feature.pseudo  # a pseudogene is expected not to translate
            failed += not ok and not feature.pseudo
            table = feature.transl_table if feature.transl_table is not None else entry.genetic_code
            for start, end, phase in phased_segments(feature):
                segments.append(
                    {
                        "start": start,
                        "end": end,
                        "strand": feature.strand,
                        "phase": phase,
                        "gene_id": feature.gene_id,
                        "transl_table": table,
                        "translation_ok": ok,
                    }
                )
    for segments in out.values():
        segments.sort(key=lambda s: (s["start"], s["end"], s["gene_id"]))
    if failed >= MIN_TRANSLATION_FAILURES and 2 * failed > checked:
        raise InputError(
            f"{failed} of {checked} CDS do not translate (genetic code {entry.genetic_code}) on "
            f"{entry.path.name}: this annotation does not fit the sequence (of another genome or assembly, "
            "or a wrong genetic_code in the taxonomy table?)",
            path=annotation.path,
        )
    return out


def _clip(intervals: list[tuple[int, int]], starts: list[int], lo: int, hi: int) -> list[dict]:
    """Intervals overlapping [lo, hi), shifted to chunk coordinates (``starts`` = their sorted starts)."""
    first = max(bisect.bisect_right(starts, lo) - 1, 0)
    out = []
    for s, e in intervals[first:]:
        if s >= hi:
            break
        if e > lo:
            out.append({"start": max(s, lo) - lo, "end": min(e, hi) - lo})
    return out


def _gc(seq: str) -> float | None:
    gc, acgt = gc_counts(seq)
    return gc / acgt if acgt else None


def contig_rows(
    genome: Genome, chunk_size: int = DEFAULT_CHUNK_SIZE, conservation: ConservationTrack | None = None
) -> Iterator[dict]:
    """One row per contig, or per ``chunk_size`` window of a longer contig (windows never cross rows).

    ``conservation`` (the genome's strain track, if any) fills the conservation columns; without it they
    are null with an empty strain list.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    entry, shared = genome.entry, provenance(genome.entry)
    for contig_id, description, record in zip(genome.ids, genome.descriptions, genome.records, strict=True):
        seq = record.sequence
        soft_starts = [s for s, _ in record.softmask]
        iupac_starts = [s for s, _ in record.non_acgt]
        segments = genome.cds.get(contig_id, [])
        track = conservation.contig(contig_id) if conservation is not None else None
        for index, lo in enumerate(range(0, len(seq), chunk_size)):
            hi = min(lo + chunk_size, len(seq))
            chunk = seq[lo:hi]
            non_acgt = _clip(record.non_acgt, iupac_starts, lo, hi)
            yield {
                "genome_id": entry.genome_id,
                "file": entry.file,
                "contig_id": contig_id,
                "description": description,
                "chunk_index": index,
                "chunk_start": lo,
                "contig_length": len(seq),
                "length": hi - lo,
                "sequence": chunk,
                "gc": _gc(chunk),
                "n_non_acgt": sum(i["end"] - i["start"] for i in non_acgt),
                "softmask": _clip(record.softmask, soft_starts, lo, hi),
                "non_acgt": non_acgt,
                **shared,
                "cds": [s for s in segments if s["start"] < hi and s["end"] > lo],
                **encode_for_row(track, lo, hi - lo),
            }


def contig_table(
    genome: Genome, chunk_size: int = DEFAULT_CHUNK_SIZE, conservation: ConservationTrack | None = None
) -> pa.Table:
    """``contig_rows`` as an Arrow table in ``CONTIG_SCHEMA``."""
    return rows_table(list(contig_rows(genome, chunk_size, conservation)), CONTIG_SCHEMA)


_IS_ACGT = np.zeros(256, dtype=bool)
_IS_ACGT[np.frombuffer(b"ACGT", dtype=np.uint8)] = True
_IS_GC = np.zeros(256, dtype=bool)
_IS_GC[np.frombuffer(b"GC", dtype=np.uint8)] = True
_COMPLEMENT = np.frombuffer(COMPLEMENT_TABLE, dtype=np.uint8)
_CHECK_BASES = 1 << 22  # bases of candidate windows gathered per numpy check


@dataclass
class _Reads:
    """Accepted reads of one genome, in order: contig index, start, the fragments ('+' strand) as a
    (reads, read_length) byte matrix, and their G+C and ACGT counts."""

    contigs: np.ndarray
    starts: np.ndarray
    matrix: np.ndarray
    gc: np.ndarray
    acgt: np.ndarray


def _sample_reads(genome: Genome, n_reads: int, read_length: int, seed: int) -> _Reads:
    """The read draws of ``read_rows`` (its docstring has the rule), vectorised per batch of draws.

    The generator is drawn exactly as a one-read-at-a-time loop would (same batch sizes), and the windows
    of a batch are checked at once (ACGT and G+C counts over a (batch, read_length) byte matrix).
    """
    if read_length < 1 or n_reads < 0:
        raise ValueError("read_length must be positive and n_reads >= 0")
    entry = genome.entry
    parts: list[tuple[np.ndarray, ...]] = []
    empty = np.empty(0, dtype=np.int64)
    windows = np.array([max(len(r.sequence) - read_length + 1, 0) for r in genome.records], dtype=np.int64)
    total = int(windows.sum())
    made = draws = 0
    if total == 0 or n_reads == 0:
        if n_reads:
            genome.stats.reads_short += n_reads
            genome.stats.warnings.append(f"{entry.genome_id}: no contig holds {read_length} nt; no reads")
        return _Reads(empty, empty, np.empty((0, read_length), dtype=np.uint8), empty, empty)
    cumulative = np.cumsum(windows)
    offsets = cumulative - windows
    rng = np.random.default_rng(stable_seed("reads", seed, entry.genome_id))
    max_bad = math.floor(MAX_NON_ACGT_FRACTION * read_length)
    budget = MAX_DRAWS_PER_READ * n_reads
    step = max(1, _CHECK_BASES // read_length)  # windows checked at once (bounds the byte matrix)
    while made < n_reads and draws < budget:
        batch = rng.integers(0, total, size=min(max(n_reads - made, 64), budget - draws))
        draws += len(batch)
        for lo in range(0, len(batch), step):
            if made == n_reads:
                break
            contigs = np.searchsorted(cumulative, batch[lo : lo + step], side="right")
            starts = batch[lo : lo + step] - offsets[contigs]
            text = "".join(
                [
                    genome.records[c].sequence[s : s + read_length]
                    for c, s in zip(contigs.tolist(), starts.tolist(), strict=True)
                ]
            )
            matrix = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(len(starts), read_length)
            acgt = _IS_ACGT[matrix].sum(axis=1)
            keep = np.flatnonzero(read_length - acgt <= max_bad)[: n_reads - made]
            parts.append(
                (contigs[keep], starts[keep], matrix[keep], _IS_GC[matrix[keep]].sum(axis=1), acgt[keep])
            )
            made += len(keep)
    genome.stats.reads += made
    if made < n_reads:
        genome.stats.reads_short += n_reads - made
        genome.stats.warnings.append(
            f"{entry.genome_id}: only {made}/{n_reads} reads with <= 10% non-ACGT found in {draws} draws"
        )
    return _Reads(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def read_rows(
    genome: Genome,
    n_reads: int = DEFAULT_READS_PER_GENOME,
    read_length: int = DEFAULT_READ_LENGTH,
    seed: int = 0,
) -> Iterator[dict]:
    """``n_reads`` fragments of ``read_length``: start uniform over every valid window of the genome
    (so contigs weigh by length), alternating strands (half each; '-' is reverse-complemented), a window
    with more than 10% non-ACGT redrawn (bounded). Seeded by (seed, genome_id) through a stable hash.
    """
    yield from read_table(genome, n_reads, read_length, seed).to_pylist()


def read_table(
    genome: Genome,
    n_reads: int = DEFAULT_READS_PER_GENOME,
    read_length: int = DEFAULT_READ_LENGTH,
    seed: int = 0,
) -> pa.Table:
    """The rows of ``read_rows`` as an Arrow table in ``READ_SCHEMA``, built column by column."""
    reads = _sample_reads(genome, n_reads, read_length, seed)
    n, gid = len(reads.starts), genome.entry.genome_id
    matrix = reads.matrix.copy()
    matrix[1::2] = _COMPLEMENT[matrix[1::2, ::-1]]  # every second read is on '-'
    offsets = np.arange(0, (n + 1) * read_length, read_length, dtype=np.int32)
    shared = provenance(genome.entry)
    columns = {
        "read_id": pa.array([f"{gid}:{i}" for i in range(n)], pa.string()),
        "genome_id": pa.array([gid] * n, pa.string()),
        "contig_id": pa.array(genome.ids, pa.string()).take(pa.array(reads.contigs)),
        "start": pa.array(reads.starts, pa.int64()),
        "end": pa.array(reads.starts + read_length, pa.int64()),
        "strand": pa.array(["+", "-"] * (n // 2) + ["+"] * (n % 2), pa.string()),
        "sequence": pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(matrix.tobytes())]
        ),
        "gc": pa.array(reads.gc / np.maximum(reads.acgt, 1), pa.float64(), mask=reads.acgt == 0),
    }
    for name in READ_SCHEMA.names[len(columns) :]:
        columns[name] = pa.array([shared[name]] * n, READ_SCHEMA.field(name).type)
    try:
        return pa.Table.from_arrays(list(columns.values()), schema=READ_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"row does not fit the dataset schema: {exc}") from None


def rows_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows -> an Arrow table in the fixed schema (raises InputError if a row does not fit it)."""
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"row does not fit the dataset schema: {exc}") from None
