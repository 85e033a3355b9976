"""``genobench evaluate``: load data and model, run tasks over Accelerate processes, write results.

The runner owns orchestration only: sampling lives in ``tasks``, probabilities in ``scoring``, formulas in
``metrics``. Every process builds the same windows (cheap, deterministic), scores its share of chunks
(:mod:`genobench_hf.execution`), and the main process computes metrics and writes the results file.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genobench_hf import progress
from genobench_hf.contract import Scorer, ScoreRequest, SiteScores
from genobench_hf.devices import device_name, make_accelerator, parse_device
from genobench_hf.errors import ConfigError
from genobench_hf.execution import ChunkedExecutor, ExecutionStats, fingerprint, launcher_mismatch
from genobench_hf.protocol import describe as describe_protocol
from genobench_hf.results import new_results, skipped, write_results
from genobench_hf.site_records import RECORDS, GeneLog, SiteLog, SpanLog, records_path
from genobench_hf.store import DatasetStore, default_data_dir
from genobench_hf.system import environment, peak_memory_mb
from genobench_hf.tasks import DATASET_NAMES, TaskConfig, available_tasks, get_task
from genobench_hf.tasks.base import DEFAULT_TASKS, parse_names
from genobench_hf.threads import configure_threads


@dataclass
class EvalConfig:
    """Everything that defines an evaluation run (recorded in the results' ``config``)."""

    model: str
    tasks: list[str] = field(default_factory=lambda: list(DEFAULT_TASKS))
    datasets: list[str] = field(default_factory=lambda: list(DATASET_NAMES))
    data_dir: Path | None = None
    output: Path = Path("genobench-results.json")
    task: TaskConfig = field(default_factory=TaskConfig)
    batch_size: int = 16
    model_kind: str = "auto"
    tokenizer_kind: str = "auto"
    trust_remote_code: bool = False
    dtype: str = "float32"
    right_context: int | None = None
    baseline: str | None = "markov:auto"
    cache_dir: Path | None = None
    resume: bool = True
    show_progress: bool = True
    threads: int | None = None  # torch CPU threads; None = detected (genobench_hf.threads)
    device: str = "auto"  # auto | cpu | cuda | cuda:N (genobench_hf.devices)

    def __post_init__(self) -> None:
        self.device = parse_device(self.device)
        self.tasks = parse_names(self.tasks, list(available_tasks()), "tasks")
        self.datasets = parse_names(self.datasets, DATASET_NAMES, "datasets")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be >= 1, got {self.batch_size}")
        self.output = Path(self.output)


class RunContext:
    """The run's :class:`genobench_hf.contract.RunContext`: dataset rows, the sharded scorer, baselines,
    the model's hidden states, the config."""

    def __init__(
        self, config: EvalConfig, store: DatasetStore, executor: ChunkedExecutor, models: Any
    ) -> None:
        self.config = config
        self.store = store
        self.executor = executor
        self.models = models
        self.site_log = SiteLog()
        self.span_log = SpanLog()
        self.gene_log = GeneLog()

    def record_sites(self, task: str, dataset: str, split: str, windows: list[ScoreRequest], scores: list[SiteScores],
                     rows: list[dict[str, Any]]) -> None:  # fmt: skip
        """Keep the model's per-site records (written beside the results JSON)."""
        self.site_log.add(task, dataset, split, windows, scores, rows)

    def record_spans(self, task: str, dataset: str, split: str, kind: str, windows: list[ScoreRequest],
                     predicted: list[str], decoder: str, rows: list[dict[str, Any]],
                     proteins: list[tuple[str, str]] | None = None) -> None:  # fmt: skip
        """Keep the model's per-span (or per-gene) records (written beside the results JSON)."""
        self.span_log.add(task, dataset, split, kind, windows, predicted, decoder, rows, proteins)

    def record_genes(self, task: str, dataset: str, split: str, part: str, headline: bool, mode: str,
                     genes: dict[str, dict[str, Any]]) -> None:  # fmt: skip
        """Keep the model's per-gene gene-completion records (written beside the results JSON)."""
        self.gene_log.add(task, dataset, split, part, headline, mode, genes)

    @property
    def encoder(self) -> Any:
        """The loaded neural model (hidden states for probes and ablation); None for a Markov chain."""
        return self.models.loaded

    def identity(self, scorer: Scorer) -> dict[str, Any]:
        """What identifies ``scorer``'s scores in cache keys (model content, kind, settings)."""
        return self.models.identity(scorer)

    def rows(self, dataset: str, split: str) -> list[dict[str, Any]]:
        return self.store.rows(dataset, split)

    def baselines(self, dataset: str) -> dict[str, Scorer]:
        return self.models.baselines(dataset)

    def score(
        self,
        key: str,
        dataset: str,
        windows: list[ScoreRequest],
        protocol: str,
        scorer: Scorer,
        *,
        cache: bool = True,
    ) -> list[SiteScores]:
        cfg = self.config
        cache_key = fingerprint(
            {
                "scorer": self.identity(scorer),
                "key": key,
                "dataset": dataset,
                "data": self.store.fingerprint(dataset),
                "protocol": protocol,
                "task": asdict(cfg.task) | {"n_bootstrap": None},
                "n_windows": len(windows),
            }
        )
        return self.executor.run(
            f"{key}-{dataset}-{cache_key}",
            windows,
            protocol,
            scorer,
            desc=f"{key} {dataset}",  # type: ignore[arg-type]
            cache=cache,
        )


def evaluate(config: EvalConfig) -> dict[str, Any]:
    """Run every requested task on every requested dataset; return (and on rank 0 write) the results."""
    from genobench_hf.model_provider import ModelProvider

    started = time.perf_counter()
    configure_threads(config.threads)
    accelerator = make_accelerator(config.device)
    rank, world = accelerator.process_index, accelerator.num_processes
    mismatch = launcher_mismatch(world, os.environ)
    if mismatch and accelerator.is_main_process:
        warnings.warn(f"genobench: {mismatch}", stacklevel=2)
    device = device_name(accelerator)
    data_dir = config.data_dir or default_data_dir(build_if_missing=accelerator.is_main_process)
    accelerator.wait_for_everyone()
    store = DatasetStore(data_dir)
    cache_dir = config.cache_dir or config.output.parent / ".genobench-cache"
    executor = ChunkedExecutor(
        rank=rank,
        world_size=world,
        batch_size=config.batch_size,
        cache_dir=cache_dir if config.resume else None,
        show_progress=config.show_progress,
    )
    models = ModelProvider(config, store, device=device, cache_dir=cache_dir)
    context = RunContext(config, store, executor, models)

    fingerprints = {d: store.fingerprint(d) for d in config.datasets if store.has(d)}
    doc = new_results(
        {
            "model": config.model,
            **models.describe(),
            "tasks": config.tasks,
            "datasets": config.datasets,
            "dataset_fingerprints": fingerprints,
            "protocol": describe_protocol(config.task, fingerprints),
            "data_dir": str(data_dir),
            **{k: v for k, v in asdict(config.task).items() if k != "extra"},
            "batch_size": config.batch_size,
            "dtype": config.dtype,
            "device": config.device,
            "right_context": config.right_context,
            "baseline": config.baseline,
            "world_size": world,
            "launcher_warning": mismatch,
        },
        environment(world, device),
    )
    n_stages = len(config.tasks) * len(config.datasets)
    show = config.show_progress and accelerator.is_main_process
    with progress.stages(n_stages, label=f"evaluate {config.model}", enabled=show) as display:
        for task_name in config.tasks:
            task = get_task(task_name)
            per_dataset: dict[str, Any] = {}
            for dataset in config.datasets:
                with display.stage(f"{task_name} {dataset}"):
                    if not store.has(dataset):
                        per_dataset[dataset] = skipped(f"dataset {dataset} not found in {data_dir}")
                        continue
                    t0 = time.perf_counter()
                    per_dataset[dataset] = task.run(models.scorer_for(dataset), dataset, context)
                    by_task = doc["timing"].setdefault("by_task", {})
                    by_task[f"{task_name}/{dataset}"] = time.perf_counter() - t0
            doc["results"][task_name] = per_dataset
            own = task.summarise(per_dataset)
            summary = own if own is not None else summarise(per_dataset, task.metadata.main_score)
            doc["summaries"][task_name] = task.metadata.info.summary_fields() | summary
    doc["config"]["markov_chains"] = models.markov_summary()
    doc["timing"].update(
        {"wall_seconds": time.perf_counter() - started}
        | _timing(_gather((executor.stats, peak_memory_mb(device)), world))
    )
    if accelerator.is_main_process:
        kept = {
            "site_records": context.site_log,
            "span_records": context.span_log,
            "gene_records": context.gene_log,
        }
        logs = [
            (name, log, records_path(config.output, RECORDS[name])) for name, log in kept.items() if len(log)
        ]
        try:
            for name, log, path in logs:
                Path(config.output).parent.mkdir(parents=True, exist_ok=True)
                doc[name] = log.write(path)
            write_results(doc, config.output)
        except BaseException:  # records without their results file would be a half-written output
            for _, _, path in logs:
                path.unlink(missing_ok=True)
            raise
    accelerator.wait_for_everyone()
    return doc


def summarise(per_dataset: dict[str, Any], main_score: str) -> dict[str, Any]:
    """Mean of the main score over the datasets a task ran on (skipped ones listed, not averaged)."""
    values = {d: r[main_score] for d, r in per_dataset.items() if isinstance(r, dict) and main_score in r}
    out: dict[str, Any] = {
        "main_score": main_score,
        "datasets": sorted(values),
        "skipped": sorted(d for d, r in per_dataset.items() if "skipped" in r),
    }
    if values:
        out[f"mean_{main_score}"] = sum(values.values()) / len(values)
        if main_score == "bits_per_nt":
            out["mean_gain_over_chance_bits"] = 2.0 - out[f"mean_{main_score}"]
    return out


def _gather(item: Any, world: int) -> list[Any]:
    """``item`` of every process, in rank order (a one-element list for a single process)."""
    if world == 1:
        return [item]
    from accelerate.utils import gather_object

    return list(gather_object([item]))


def _timing(per_rank: list[tuple[ExecutionStats, float]]) -> dict[str, Any]:
    """The ``timing`` counters of the whole run: summed over processes (each scores its own chunks), with
    the per-process figures beside them."""
    stats = ExecutionStats.combined([s for s, _ in per_rank])
    seconds = stats.seconds
    return {
        "scoring_seconds": seconds,
        "nucleotides_scored": stats.nucleotides,
        "sites_scored": stats.sites,
        "nucleotides_per_second": stats.nucleotides / seconds if seconds else None,
        "sites_per_second": stats.sites / seconds if seconds else None,
        "cached_chunks": stats.cached_chunks,
        "computed_chunks": stats.computed_chunks,
        "batch_size_backoffs": stats.batch_size_backoffs,
        "peak_memory_mb": max(peak for _, peak in per_rank),
        "by_rank": [_rank_timing(s, peak) for s, peak in per_rank],
    }


def _rank_timing(stats: ExecutionStats, peak_memory: float) -> dict[str, Any]:
    keys = ("seconds", "sites", "computed_chunks", "cached_chunks")
    return {k: getattr(stats, k) for k in keys} | {"peak_memory_mb": peak_memory}
