"""The Python API: ``evaluate(model=..., tasks=..., datasets=...)`` and ``load_results(path)``.

The same run as ``genobench evaluate`` (one :class:`~genobench_hf.runner.EvalConfig`, the same task
defaults, so the numbers are the CLI's), returned as typed :class:`~genobench_hf.outcomes.Results`.
``genobench_hf`` and the thin ``genobench`` package re-export these names.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from genobench_hf.errors import ConfigError
from genobench_hf.outcomes import Results, TaskResult, load_results
from genobench_hf.task_config import DATASET_NAMES, DEFAULT_TASKS, TaskConfig

__all__ = ["Results", "TaskResult", "evaluate", "load_results"]

#: EvalConfig settings ``evaluate`` passes through (everything else named must be a TaskConfig field)
RUN_OPTIONS = ("batch_size", "model_kind", "tokenizer_kind", "trust_remote_code", "dtype", "right_context",
               "cache_dir", "resume", "threads", "device")  # fmt: skip


def evaluate(
    model: str,
    tasks: str | Sequence[str] = DEFAULT_TASKS,
    datasets: str | Sequence[str] = DATASET_NAMES,
    *,
    data_dir: str | Path | None = None,
    output: str | Path | None = None,
    baseline: str | None = "markov:auto",
    show_progress: bool = False,
    **options: Any,
) -> Results:
    """Score ``model`` (registry name, Hub id, local folder, or ``markov:K`` / ``markov:auto``) on
    ``tasks`` x ``datasets`` and return the typed results.

    ``options`` are the task settings of :class:`~genobench_hf.task_config.TaskConfig` (``n_sites``,
    ``limit``, ``seed``, ``window``, ...) and the run settings in :data:`RUN_OPTIONS` (``batch_size``,
    ``device``, ...); an unknown name is a ``ConfigError``. ``data_dir`` defaults to the datasets built
    from the embedded corpus. ``output`` keeps the results JSON (and its chunk cache beside it, which makes
    a rerun resume); without it the run writes into a temporary folder that is removed afterwards.
    """
    from genobench_hf.runner import EvalConfig
    from genobench_hf.runner import evaluate as run

    task_fields = {f.name for f in fields(TaskConfig)}
    unknown = sorted(set(options) - task_fields - set(RUN_OPTIONS))
    if unknown:
        known = ", ".join(sorted(task_fields | set(RUN_OPTIONS)))
        raise ConfigError(f"evaluate() got unknown option(s) {', '.join(unknown)}; known: {known}")
    task = TaskConfig(**{k: v for k, v in options.items() if k in task_fields})
    run_options = {k: v for k, v in options.items() if k in RUN_OPTIONS}

    def config(path: Path) -> EvalConfig:
        return EvalConfig(
            model=model, tasks=_names(tasks), datasets=_names(datasets), data_dir=None if data_dir is None else
            Path(data_dir), output=path, task=task, baseline=baseline, show_progress=show_progress, **run_options,
        )  # fmt: skip

    if output is not None:
        return Results(run(config(Path(output))), Path(output))
    with tempfile.TemporaryDirectory(prefix="genobench-evaluate-") as tmp:
        return Results(run(config(Path(tmp) / "results.json")))


def _names(value: str | Sequence[str]) -> list[str]:
    return [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
