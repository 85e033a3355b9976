"""Typed results: what a task's results say about themselves, read without the task registry.

Every results file records, in each task's summary, the task's main score, its direction and how the
report renders it (``main_score``, ``higher_is_better``, ``report``: written by the runner from the task's
:class:`~genobench_hf.tasks.base.TaskMetadata`). The report, ``compare``, the summary table and the
model-index export read them here, so a new task is scored, reported and exported with no other module
knowing its name -- and reading a results file never imports the tasks (nor torch).

Files written before those keys were recorded fall back to :data:`LEGACY_SECTIONS` and
:data:`KNOWN_SCORES`: the built-in tasks of that time, kept only to read old files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from genobench_hf.results import load_results as load_results_doc

Rendering = Literal["leaderboard", "section"]
#: the two ways the report shows a task: columns of the leaderboard tables, or a section of its own
RENDERINGS: tuple[str, ...] = ("leaderboard", "section")
#: results files without ``report`` in their summaries: the tasks that had a section of their own then
LEGACY_SECTIONS = ("transfer", "conservation", "aa_probe", "cds_probe", "neuron_importance", "efficiency")
#: results files without ``higher_is_better``: the direction of the main scores of that time
KNOWN_SCORES: dict[str, bool] = {
    "bits_per_nt": False,
    "identity": True,
    "accuracy": True,
    "gain_gap_bits": False,
    "nucleotides_per_second": True,
    "aa_recovery": True,
    "spearman": True,
    "half_effect_neurons": True,
}


@dataclass(frozen=True)
class TaskInfo:
    """How to read and show one task's results: the key that ranks models, its direction, the rendering."""

    main_score: str | None
    higher_is_better: bool
    report: Rendering = "leaderboard"

    def summary_fields(self) -> dict[str, Any]:
        """The keys the runner writes into the task's summary (read back by :func:`task_info`)."""
        return {
            "main_score": self.main_score,
            "higher_is_better": self.higher_is_better,
            "report": self.report,
        }


def task_info(doc: Mapping[str, Any], task: str) -> TaskInfo:
    """The task's :class:`TaskInfo` as its results file records it (legacy files: the tables above)."""
    summary = (doc.get("summaries") or {}).get(task)
    summary = summary if isinstance(summary, Mapping) else {}
    main = summary.get("main_score") if isinstance(summary.get("main_score"), str) else None
    report = summary.get("report") if summary.get("report") in RENDERINGS else None
    higher = summary.get("higher_is_better")
    if main is None:
        main = next((k for k in KNOWN_SCORES for entry in _entries(doc, task) if _number(entry.get(k))), None)
    if not isinstance(higher, bool):
        higher = KNOWN_SCORES.get(main or "", True)
    return TaskInfo(main, higher, report or ("section" if task in LEGACY_SECTIONS else "leaderboard"))  # type: ignore[arg-type]


def _entries(doc: Mapping[str, Any], task: str) -> Iterator[Mapping[str, Any]]:
    per_dataset = (doc.get("results") or {}).get(task)
    for entry in (per_dataset or {}).values() if isinstance(per_dataset, Mapping) else ():
        if isinstance(entry, Mapping) and "skipped" not in entry:
            yield entry


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


@dataclass(frozen=True)
class TaskResult:
    """One task of a results file: its metrics per dataset (``{"skipped": why}`` where it did not run),
    its summary over datasets and its :class:`TaskInfo`."""

    name: str
    info: TaskInfo
    per_dataset: dict[str, dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def scores(self) -> dict[str, float]:
        """The main score of every dataset the task scored (skipped datasets left out)."""
        key = self.info.main_score
        out = {
            d: _number(m.get(key)) if key else None for d, m in self.per_dataset.items() if "skipped" not in m
        }
        return {d: v for d, v in out.items() if v is not None}

    @property
    def skipped(self) -> dict[str, str]:
        """Dataset -> why the task did not run on it."""
        return {d: str(m["skipped"]) for d, m in self.per_dataset.items() if "skipped" in m}


@dataclass(frozen=True)
class Results:
    """A results document with typed access (``doc`` is the JSON object itself, unchanged)."""

    doc: dict[str, Any]
    path: Path | None = None

    @property
    def model(self) -> str:
        return str(self.config.get("model", ""))

    @property
    def config(self) -> dict[str, Any]:
        return self.doc.get("config") or {}

    @property
    def tasks(self) -> dict[str, TaskResult]:
        results = self.doc.get("results") or {}
        summaries = self.doc.get("summaries") or {}
        return {
            task: TaskResult(
                task, task_info(self.doc, task), dict(per_dataset), dict(summaries.get(task) or {})
            )
            for task, per_dataset in results.items()
            if isinstance(per_dataset, Mapping)
        }

    def __getitem__(self, task: str) -> TaskResult:
        return self.tasks[task]


def load_results(path: str | Path) -> Results:
    """Read a results JSON file (schema version checked; bad files: one-line ``InputError``)."""
    return Results(load_results_doc(Path(path)), Path(path))
