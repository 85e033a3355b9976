"""Build the six datasets (PRO, EUK, VIR and their ``_reads``) as Hub dataset repos, atomically.

Pass 1 reads each genome once (gzip + parse is the cost that matters): it cleans, sketches and annotates
it and writes its contig and read rows to a per-genome Parquet file in a staging folder (in parallel with
``num_proc``; the output does not depend on it). Splits need every sketch, so pass 2 assigns splits,
verifies them, and streams the per-genome files into the split shards and cards. Everything is staged in
a hidden sibling of the final folders and renamed into place only when all requested datasets are
complete, so a failure (e.g. a corrupt genome file) leaves no half-written dataset behind.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from genobench_hf import __version__
from genobench_hf.data import hub
from genobench_hf.data.rows import (
    CONTIG_SCHEMA,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_READ_LENGTH,
    DEFAULT_READS_PER_GENOME,
    READ_SCHEMA,
    GenomeStats,
    contig_rows,
    load_genome,
    read_rows,
    rows_table,
)
from genobench_hf.data.sketch import DEFAULT_K, DEFAULT_SIZE, Sketch
from genobench_hf.data.splits import (
    DEFAULT_RARE_MAX,
    DEFAULT_RARE_RANK,
    DEFAULT_THRESHOLD,
    SPLITS,
    SplitReport,
    assign_splits,
)
from genobench_hf.data.taxonomy import GenomeEntry, embedded_corpus_dir, load_corpus
from genobench_hf.errors import ConfigError

ALL = ("PRO", "EUK", "VIR", "PRO_reads", "EUK_reads", "VIR_reads")
DESCRIPTIONS = {
    "PRO": "Prokaryote (bacteria and archaea) genomes, one row per contig or 1 Mb chunk, with CDS annotations.",
    "EUK": "Eukaryote genome pieces, one row per contig or 1 Mb chunk, with CDS annotations where available.",
    "VIR": "Virus and phage genomes, one row per contig/segment, with CDS annotations where available.",
}
COLUMN_DOCS = {
    "genome_id": "genome file stem",
    "file": "genome file, relative to the corpus folder",
    "contig_id": "FASTA/GenBank record id",
    "description": "record description (FASTA header)",
    "chunk_index": "index of this window of the contig",
    "chunk_start": "contig coordinate of `sequence[0]`",
    "contig_length": "length of the whole contig",
    "length": "length of `sequence`",
    "sequence": "uppercase nucleotides (IUPAC kept)",
    "gc": "G+C share of the ACGT bases",
    "n_non_acgt": "number of non-ACGT positions",
    "softmask": "lowercase (soft-masked) intervals, row coordinates",
    "non_acgt": "non-ACGT intervals, row coordinates",
    "kingdom": "PRO / EUK / VIR",
    "domain": "lineage",
    "phylum": "lineage",
    "class": "lineage",
    "order": "lineage",
    "family": "lineage",
    "genus": "lineage (`-` = unknown)",
    "species": "lineage",
    "taxid": "NCBI taxid (`-` = unknown)",
    "genetic_code": "NCBI translation table of the genome",
    "organism": "organism as in the source record",
    "accession": "INSDC/RefSeq accession(s)",
    "source": "where the file was taken from",
    "license": "licence/provenance text",
    "sha256": "sha256 of the genome file",
    "split": "split name",
    "cds": "CDS segments overlapping the row: contig coordinates, strand, phase, gene_id, transl_table, translation_ok",
    "read_id": "`genome_id:index`",
    "start": "contig coordinate of the fragment's start on `+`",
    "end": "contig coordinate of the fragment's end on `+`",
    "strand": "`+` or `-` (sequence reverse-complemented)",
}


@dataclass
class DatasetSummary:
    name: str
    path: Path
    rows: dict[str, int]
    genomes: int
    bases: int
    cds: int = 0
    translation_failures: int = 0


@dataclass
class BuildSummary:
    out_dir: Path
    source: str
    datasets: list[DatasetSummary]
    report: SplitReport
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bases: int = 0  # nucleotides read (every genome once)

    def table(self) -> str:
        """The summary the CLI prints (rows per split, bases, genomes, CDS, split report) as text."""
        import io

        from rich.console import Console

        from genobench_hf.commands.datasets import print_summary

        buffer = io.StringIO()
        print_summary(self, Console(file=buffer, width=160, color_system=None))
        return buffer.getvalue()


@dataclass(frozen=True)
class _Job:
    entry: GenomeEntry
    stage: Path
    contigs: bool
    reads: bool
    chunk_size: int
    reads_per_genome: int
    read_length: int
    seed: int


def _process(job: _Job) -> tuple[str, np.ndarray, GenomeStats]:
    """Pass 1 for one genome (runs in a worker with num_proc > 1)."""
    sketch = Sketch(k=DEFAULT_K, size=DEFAULT_SIZE)
    genome = load_genome(job.entry, sketch)
    gid = job.entry.genome_id
    if job.contigs:
        pq.write_table(
            rows_table(list(contig_rows(genome, job.chunk_size)), CONTIG_SCHEMA),
            job.stage / f"{gid}.contigs.parquet",
            compression="none",
        )
    if job.reads:
        table = rows_table(
            list(read_rows(genome, job.reads_per_genome, job.read_length, job.seed)), READ_SCHEMA
        )
        pq.write_table(table, job.stage / f"{gid}.reads.parquet", compression="none")
    return gid, sketch.hashes, genome.stats


def _split_tables(paths: Sequence[Path], split: str) -> Callable[[], object]:
    def generate():
        for path in paths:
            for batch in pq.ParquetFile(path).iter_batches(
                batch_size=256 if "contigs" in path.name else 8192
            ):
                table = pa.Table.from_batches([batch])
                idx = table.schema.get_field_index("split")
                yield table.set_column(idx, "split", pa.array([split] * table.num_rows, pa.string()))

    return generate


def resolve_source(
    source: Path | None,
    taxonomy: Path | None,
    manifest: Path | None,
    out_dir: Path,
    cache_dir: Path | None = None,
) -> tuple[Path, Path | None, str]:
    """(corpus folder, taxonomy table, description) for the three ways to name the genomes."""
    if manifest is not None:
        if source is not None or taxonomy is not None:
            raise ConfigError("give either --manifest or --source/--taxonomy, not both")
        from genobench_hf.data.ncbi import materialize_manifest

        folder = materialize_manifest(Path(manifest), out_dir / ".genobench-corpus", cache_dir=cache_dir)
        return folder, None, f"the NCBI manifest `{Path(manifest).name}`"
    if source is None:
        if taxonomy is not None:
            raise ConfigError("--taxonomy needs --source (the embedded corpus has its own table)")
        return embedded_corpus_dir(), None, "the corpus embedded in the genobench package"
    return Path(source), taxonomy, f"the folder `{Path(source).name}`"


def build_all(
    out_dir: str | Path,
    *,
    source: Path | None = None,
    taxonomy: Path | None = None,
    manifest: Path | None = None,
    reads_per_genome: int = DEFAULT_READS_PER_GENOME,
    read_length: int = DEFAULT_READ_LENGTH,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    seed: int = 0,
    names: Sequence[str] = ALL,
    num_proc: int = 1,
    threshold: float = DEFAULT_THRESHOLD,
    rare_rank: str = DEFAULT_RARE_RANK,
    rare_max: int = DEFAULT_RARE_MAX,
    progress: bool = True,
    max_shard_rows: int = hub.MAX_SHARD_ROWS,
    max_shard_bytes: int = hub.MAX_SHARD_BYTES,
) -> BuildSummary:
    """Build ``names`` into ``out_dir/<NAME>/`` (replacing existing ones only once all succeeded)."""
    started = time.perf_counter()
    unknown = sorted(set(names) - set(ALL))
    if unknown or not names:
        raise ConfigError(f"unknown dataset name(s) {unknown}; choose from {', '.join(ALL)}")
    if reads_per_genome < 0 or read_length < 1 or chunk_size < 1 or num_proc < 1:
        raise ConfigError("--reads-per-genome >= 0, --read-length >= 1, --chunk-size >= 1, --num-proc >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folder, taxonomy, source_text = resolve_source(source, taxonomy, manifest, out_dir)
    kingdoms = sorted({n.split("_")[0] for n in names})
    entries = [e for e in load_corpus(folder, taxonomy) if e.kingdom in kingdoms]
    missing = [k for k in kingdoms if not any(e.kingdom == k for e in entries)]
    if missing:
        raise ConfigError(
            f"no genomes of kingdom(s) {', '.join(missing)} in {folder}; drop them from the names"
        )
    staging = Path(tempfile.mkdtemp(prefix=".genobench-build-", dir=out_dir))
    try:
        per_genome = staging / "genomes"
        per_genome.mkdir()
        jobs = [
            _Job(
                e,
                per_genome,
                f"{e.kingdom}" in names,
                f"{e.kingdom}_reads" in names,
                chunk_size,
                reads_per_genome,
                read_length,
                seed,
            )
            for e in entries
        ]
        sketches: dict[str, Sketch] = {}
        stats: dict[str, GenomeStats] = {}
        bar = tqdm(total=len(jobs), desc="genomes", unit="genome", disable=not progress)
        if num_proc > 1:
            with multiprocessing.get_context().Pool(min(num_proc, len(jobs))) as pool:
                results = pool.imap(_process, jobs)
                for gid, hashes, st in results:
                    sketches[gid], stats[gid] = Sketch(hashes=hashes), st
                    bar.update()
        else:
            for job in jobs:
                gid, hashes, st = _process(job)
                sketches[gid], stats[gid] = Sketch(hashes=hashes), st
                bar.update()
        bar.close()
        bases = {gid: st.bases for gid, st in stats.items()}
        report = assign_splits(
            entries, bases, sketches, threshold=threshold, rare_rank=rare_rank, rare_max=rare_max
        )
        context = {
            "version": __version__,
            "source_text": source_text,
            "k": DEFAULT_K,
            "sketch_size": DEFAULT_SIZE,
            "threshold": threshold,
            "rare_rank": rare_rank,
            "rare_max": rare_max,
            "seed": seed,
            "read_length": read_length,
            "reads_per_genome": reads_per_genome,
            "chunk_size": chunk_size,
        }
        summaries = []
        for name in names:
            summaries.append(
                _write_dataset(
                    name,
                    staging,
                    per_genome,
                    entries,
                    stats,
                    report,
                    context,
                    max_rows=max_shard_rows,
                    max_bytes=max_shard_bytes,
                )
            )
        for summary in summaries:  # all complete: move into place
            final = out_dir / summary.name
            if final.exists():
                old = staging / f"old-{summary.name}"
                final.rename(old)
            (staging / summary.name).rename(final)
            summary.path = final
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    warnings = [w for st in stats.values() for w in st.warnings] + report.warnings
    return BuildSummary(
        out_dir, source_text, summaries, report, warnings, time.perf_counter() - started, sum(bases.values())
    )


def _write_dataset(name, staging, per_genome, entries, stats, report, context, *, max_rows, max_bytes):
    kingdom, is_reads = name.split("_")[0], name.endswith("_reads")
    members = sorted((e for e in entries if e.kingdom == kingdom), key=lambda e: e.genome_id)
    schema = READ_SCHEMA if is_reads else CONTIG_SCHEMA
    suffix = "reads" if is_reads else "contigs"
    folder = staging / name
    counts: dict[str, tuple[int, int]] = {}
    for split in SPLITS:
        paths = [
            per_genome / f"{e.genome_id}.{suffix}.parquet"
            for e in members
            if report.assignment[e.genome_id] == split
        ]
        if paths:  # an empty split (e.g. no rare taxa in a small folder) is left out of the repo and card
            counts[split] = hub.write_tables(
                folder, split, schema, _split_tables(paths, split)(), max_rows=max_rows, max_bytes=max_bytes
            )
    cds = sum(stats[e.genome_id].cds for e in members)
    failures = sum(stats[e.genome_id].translation_failures for e in members)
    genomes = [
        {
            "genome_id": e.genome_id,
            "organism": e.organism.replace("|", "/"),
            "accession": e.accession.replace("|", "/"),
            "kingdom": e.kingdom,
            "genus": e.genus,
            "split": report.assignment[e.genome_id],
            "bases": stats[e.genome_id].bases,
        }
        for e in members
    ]
    description = (
        DESCRIPTIONS[kingdom]
        if not is_reads
        else f"{context['read_length']}-nt reads sampled from the {kingdom} genomes (both strands)."
    )
    hub.write_card(
        folder,
        schema,
        counts,
        hub.CardContext(
            name,
            description,
            {
                **context,
                "is_reads": is_reads,
                "repo_hint": f"<org>/genobench-{name}",
                "genomes": genomes,
                "split_table": report.to_markdown(kingdom),
                "split_rows": [(s, f"{n:,}") for s, (n, _) in counts.items()],
                "columns": [(c, COLUMN_DOCS.get(c, "")) for c in schema.names],
                "cds": cds,
                "translation_failures": failures,
            },
        ),
    )
    return DatasetSummary(
        name,
        folder,
        {s: counts.get(s, (0, 0))[0] for s in SPLITS},
        len(members),
        sum(stats[e.genome_id].bases for e in members),
        cds,
        failures,
    )
