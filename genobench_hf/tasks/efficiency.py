"""Efficiency: what a model costs to run (inference) and, where known, to train.

Inference is timed directly on the current device (never through the score cache, which would time a
file read): a warm-up batch, then ``n_windows`` imputation windows of the configured length. Reported:
nucleotides/s, ms per 1 kb, sites/s, peak memory, and cost per million nucleotides at the documented price
per device-hour (:mod:`genobench_hf.costs`). Training figures come from the model folder's
``training_metrics.json`` (written by ``genobench train``) when it exists.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from genobench_hf.costs import price_per_hour
from genobench_hf.metrics import efficiency_summary
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer
from genobench_hf.system import peak_memory_mb
from genobench_hf.tasks.base import Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.sampling import sample_sites

N_WINDOWS = 64


def training_figures(model: str) -> dict[str, Any] | None:
    """``training_metrics.json`` of a local model folder (our baselines), else None (unknown)."""
    path = Path(model) / "training_metrics.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return None


@register_task
class Efficiency(Task):
    metadata = TaskMetadata(
        name="efficiency",
        description="Inference throughput (nt/s, ms per kb), peak memory and cost per million nucleotides on "
        "the current device; training time and cost from the model's training metrics when known.",
        category="efficiency",
        protocol="imputation",
        main_score="nucleotides_per_second",
        higher_is_better=True,
        default_datasets=("PRO",),
        report="section",
    )

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        if scorer.skip_reason("imputation"):
            return skipped(str(scorer.skip_reason("imputation")))
        cfg = context.config.task
        rows = context.rows(dataset, cfg.split)
        windows = sample_sites(
            rows,
            n_sites=N_WINDOWS,
            window=cfg.window,
            seed=cfg.seed,
            dataset=dataset,
            reads=is_reads(dataset),
            protocol="imputation",
        )
        if not windows:
            return skipped(f"no windows of {cfg.window} nt in {dataset}/{cfg.split}")
        requests = [w.bind("imputation") for w in windows]
        batch = context.config.batch_size
        scorer.score(requests[:batch], batch)  # warm-up: lazy init, kernel selection
        t0 = time.perf_counter()
        scorer.score(requests, batch)
        seconds = time.perf_counter() - t0
        device = context.models.device
        price = price_per_hour(device, context.config.task.extra.get("price_per_hour"))
        summary = efficiency_summary(
            [sum(len(w.window) for w in windows)],
            [seconds],
            price_per_device_hour=price,
            sites=len(windows),
            peak_memory_mb=peak_memory_mb(device),
        )
        return {
            "device": device,
            "world_size": 1,
            "window": cfg.window,
            "n_windows": len(windows),
            "batch_size": batch,
            **summary,
            "training": training_figures(context.config.model) or {"unknown": "no training_metrics.json"},
        }
