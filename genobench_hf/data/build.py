"""Build the six datasets (PRO, EUK, VIR and their ``_reads``) as Hub dataset repos, atomically.

Pass 1 reads each genome once (gzip + parse is the cost that matters): it cleans, sketches and annotates
it, aligns its species' strains for the conservation columns (cached on disk, see
``conservation_cache``), and writes its contig and read rows to per-genome Arrow IPC files in a staging
folder (in parallel with ``num_proc``; the output does not depend on it). Splits need every sketch, so
pass 2 assigns splits, verifies them, and streams the per-genome files (memory-mapped, batch by batch)
into the split shards and cards. Everything is staged in a hidden sibling of the final folders and
renamed into place only when all requested datasets are complete, so a failure (e.g. a corrupt genome
file) leaves no half-written dataset behind.
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

from genobench_hf.data import hub
from genobench_hf.data.build_summary import BuildSummary, DatasetSummary
from genobench_hf.data.card_info import COLUMN_DOCS, DESCRIPTIONS, conservation_context
from genobench_hf.data.conservation import DEFAULT_PRESET, strains_for
from genobench_hf.data.conservation_cache import cached_genome_conservation
from genobench_hf.data.rows import (
    CONTIG_SCHEMA,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_READ_LENGTH,
    DEFAULT_READS_PER_GENOME,
    READ_SCHEMA,
    GenomeStats,
    contig_table,
    load_genome,
    read_table,
)
from genobench_hf.data.sketch import DEFAULT_K, DEFAULT_SIZE, Sketch
from genobench_hf.data.splits import (
    DEFAULT_RARE_MAX,
    DEFAULT_RARE_RANK,
    DEFAULT_THRESHOLD,
    GROUP_RANKS,
    SPLITS,
    assign_splits,
)
from genobench_hf.data.taxonomy import GenomeEntry, embedded_corpus_dir, load_corpus, load_strains
from genobench_hf.errors import ConfigError
from genobench_hf.outputs import check_replaceable, make_staging, remove_stale_staging, write_manifest
from genobench_hf.task_config import DATASET_NAMES, is_reads, kingdom_of
from genobench_hf.version import __version__

ALL = DATASET_NAMES  # the catalog's names (genobench_hf.task_config)
__all__ = ["ALL", "COLUMN_DOCS", "DESCRIPTIONS", "BuildSummary", "DatasetSummary", "build_all"]
_BATCH_ROWS = {"contigs": 256, "reads": 8192}  # rows per staged record batch (and per shard write)
STAGING_PREFIX = ".genobench-build-"
#: the only files a dataset folder written before manifests (outputs.MANIFEST) holds
LEGACY_DATASET_FILES = ("README.md", "data/*.parquet")


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
    strains: tuple[GenomeEntry, ...] = ()  # strain genomes of the corpus (conservation), if enabled
    conservation_cache: Path | None = None


def _write_ipc(table: pa.Table, path: Path, batch_rows: int) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=batch_rows)


def _process(job: _Job) -> tuple[str, np.ndarray, GenomeStats]:
    """Pass 1 for one genome (runs in a worker with num_proc > 1)."""
    sketch = Sketch(k=DEFAULT_K, size=DEFAULT_SIZE)
    genome = load_genome(job.entry, sketch)
    gid = job.entry.genome_id
    if job.contigs:
        track = None
        if job.strains:
            started = time.perf_counter()
            reference = {cid: rec.sequence for cid, rec in zip(genome.ids, genome.records, strict=True)}
            track, cached = cached_genome_conservation(
                job.entry,
                job.strains,
                reference=reference,
                preset=DEFAULT_PRESET,
                cache_dir=job.conservation_cache,
            )
            if track is not None:
                seconds = 0.0 if cached else time.perf_counter() - started
                genome.stats.conservation = track.summary() | {"cached": cached, "seconds": seconds}
        table = contig_table(genome, job.chunk_size, track)
        _write_ipc(table, job.stage / f"{gid}.contigs.arrow", _BATCH_ROWS["contigs"])
        del table, track
    if job.reads:
        table = read_table(genome, job.reads_per_genome, job.read_length, job.seed)
        _write_ipc(table, job.stage / f"{gid}.reads.arrow", _BATCH_ROWS["reads"])
    return gid, sketch.hashes, genome.stats


def _split_tables(paths: Sequence[Path], split: str) -> Callable[[], object]:
    def generate():
        for path in paths:
            with pa.memory_map(str(path)) as source:
                reader = pa.ipc.open_file(source)
                idx = reader.schema.get_field_index("split")
                for i in range(reader.num_record_batches):
                    table = pa.Table.from_batches([reader.get_batch(i)])
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
        from genobench_hf.data.download import materialize_manifest

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
    conservation: bool = True,
    conservation_cache: Path | None = None,
    force: bool = False,
    evaluation_only: bool = False,
) -> BuildSummary:
    """Build ``names`` into ``out_dir/<NAME>/`` (replacing existing ones only once all succeeded).

    ``conservation=False`` leaves the conservation columns empty (no strain alignment);
    ``conservation_cache`` overrides the track cache folder (default ``$GENOBENCH_CACHE/conservation``).
    An existing ``out_dir/<NAME>`` that holds files genobench did not write is refused unless ``force``;
    staging folders of killed builds are removed first. ``evaluation_only`` puts every genome in ``test``.
    """
    started = time.perf_counter()
    unknown = sorted(set(names) - set(ALL))
    if unknown or not names:
        raise ConfigError(f"unknown dataset name(s) {unknown}; choose from {', '.join(ALL)}")
    if reads_per_genome < 0 or read_length < 1 or chunk_size < 1 or num_proc < 1:
        raise ConfigError("--reads-per-genome >= 0, --read-length >= 1, --chunk-size >= 1, --num-proc >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:  # before any work: never delete what the user put there
        check_replaceable(out_dir / name, force=force, legacy=LEGACY_DATASET_FILES)
    stale, notes = remove_stale_staging(out_dir, STAGING_PREFIX)
    notes += [f"removed {p}, the staging folder of a build that was killed" for p in stale]
    folder, taxonomy, source_text = resolve_source(source, taxonomy, manifest, out_dir)
    kingdoms = sorted({kingdom_of(n) for n in names})
    entries = [e for e in load_corpus(folder, taxonomy) if e.kingdom in kingdoms]
    _check_kingdoms(entries, kingdoms, folder)
    all_strains = load_strains(folder, taxonomy)
    strains = tuple(all_strains) if conservation and set(names) & set(kingdoms) else ()
    staging = make_staging(out_dir, STAGING_PREFIX)
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
                strains,
                conservation_cache,
            )
            for e in entries
        ]
        sketches: dict[str, Sketch] = {}
        stats: dict[str, GenomeStats] = {}
        bar = tqdm(total=len(jobs), desc="genomes", unit="genome", disable=not progress)
        if num_proc > 1:
            # forkserver, not fork: a forked child inherits the locks of the parent's threads (torch's
            # pools, a progress display) and can hang on one forever; a fresh server process holds none
            with multiprocessing.get_context("forkserver").Pool(min(num_proc, len(jobs))) as pool:
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
        entries = _without_empty_genomes(entries, stats, notes)
        _check_kingdoms(entries, kingdoms, folder)
        bases = {gid: st.bases for gid, st in stats.items()}
        report = assign_splits(
            entries,
            bases,
            sketches,
            threshold=threshold,
            rare_rank=rare_rank,
            rare_max=rare_max,
            # with or without --no-conservation, so that the splits do not depend on it
            held_out={e.genome_id for e in entries if strains_for(e, all_strains)},
            evaluation_only=evaluation_only,
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
            "conservation": conservation,
            "evaluation_only": evaluation_only,
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
        for summary in summaries:  # a user file may have appeared during the build
            check_replaceable(out_dir / summary.name, force=force, legacy=LEGACY_DATASET_FILES)
        for summary in summaries:  # all complete: move into place
            final = out_dir / summary.name
            if final.exists():
                old = staging / f"old-{summary.name}"
                final.rename(old)
            (staging / summary.name).rename(final)
            summary.path = final
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    warnings = notes + [w for st in stats.values() for w in st.warnings] + report.warnings
    tracks = {gid: st.conservation for gid, st in sorted(stats.items()) if st.conservation is not None}
    return BuildSummary(
        out_dir,
        source_text,
        summaries,
        report,
        warnings,
        time.perf_counter() - started,
        sum(bases.values()),
        conservation,
        tracks,
        sum(t["seconds"] for t in tracks.values()),
    )


def _check_kingdoms(entries: Sequence[GenomeEntry], kingdoms: Sequence[str], folder: Path) -> None:
    missing = [k for k in kingdoms if not any(e.kingdom == k for e in entries)]
    if missing:
        raise ConfigError(
            f"no genomes (with A/C/G/T bases) of kingdom(s) {', '.join(missing)} in {folder}; "
            "drop them from the names"
        )


def _without_empty_genomes(
    entries: list[GenomeEntry], stats: dict[str, GenomeStats], notes: list[str]
) -> list[GenomeEntry]:
    """Leave out genomes without a single A/C/G/T base (all N): nothing to score, and their length would
    count toward the split sizes. Each one is named in a warning."""
    kept = []
    for e in entries:
        if stats[e.genome_id].acgt:
            kept.append(e)
        else:
            notes.append(f"{e.file}: no A/C/G/T base (all N or other IUPAC codes); left out of the datasets")
    return kept


def _write_dataset(name, staging, per_genome, entries, stats, report, context, *, max_rows, max_bytes):
    kingdom, reads = kingdom_of(name), is_reads(name)
    members = sorted((e for e in entries if e.kingdom == kingdom), key=lambda e: e.genome_id)
    schema = READ_SCHEMA if reads else CONTIG_SCHEMA
    suffix = "reads" if reads else "contigs"
    folder = staging / name
    counts: dict[str, tuple[int, int]] = {}
    for split in SPLITS:
        paths = [
            per_genome / f"{e.genome_id}.{suffix}.arrow"
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
        if not reads
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
                "is_reads": reads,
                "group_rank": GROUP_RANKS.get(kingdom, "genus"),
                "repo_hint": f"<org>/genobench-{name}",
                "genomes": genomes,
                "split_table": report.to_markdown(kingdom),
                "split_rows": [(s, f"{n:,}") for s, (n, _) in counts.items()],
                "columns": [(c, COLUMN_DOCS.get(c, "")) for c in schema.names],
                "cds": cds,
                "translation_failures": failures,
                **conservation_context(
                    context["conservation"],
                    {
                        e.genome_id: stats[e.genome_id].conservation
                        for e in members
                        if stats[e.genome_id].conservation is not None
                    },
                    [e.genome_id for e in members],
                ),
            },
        ),
    )
    write_manifest(folder, __version__)  # what may be replaced by the next build (and nothing else)
    return DatasetSummary(
        name,
        folder,
        {s: counts.get(s, (0, 0))[0] for s in SPLITS},
        len(members),
        sum(stats[e.genome_id].bases for e in members),
        cds,
        failures,
    )
