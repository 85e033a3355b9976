"""Task registry with typed metadata (in the spirit of mteb's TaskMetadata and lm-eval's registries).

Adding a task is one module with one class decorated by :func:`register_task`, plus one import line in
``genobench_hf/tasks/__init__.py``. The runner only talks to the :class:`Task` interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from genobench_hf.errors import ConfigError
from genobench_hf.outcomes import Rendering, TaskInfo
from genobench_hf.task_config import (  # noqa: F401  (re-exported: the catalog and the task defaults)
    DATASET_NAMES,
    DEFAULT_TASKS,
    KINGDOMS,
    TaskConfig,
    is_reads,
    kingdom_of,
)

if TYPE_CHECKING:
    from genobench_hf.contract import RunContext, Scorer


@dataclass(frozen=True)
class TaskMetadata:
    """What a task measures, on what, and which score ranks models."""

    name: str
    description: str
    category: str  # "imputation", "transfer", "representation", "efficiency"
    protocol: (
        str | None
    )  # scoring protocol of genobench_hf.scoring.base, None if the task does not score sites
    main_score: str  # key in each dataset's metrics that a leaderboard sorts by
    higher_is_better: bool
    default_datasets: tuple[str, ...] = DATASET_NAMES
    eval_split: str = "test"
    reference: str | None = None
    #: how the report shows the task: "leaderboard" (columns of the score tables, ranked by main_score)
    #: or "section" (a section of its own); recorded in the results with the main score and its direction
    report: Rendering = "leaderboard"

    @property
    def info(self) -> TaskInfo:
        """What the results file records about the task (:mod:`genobench_hf.outcomes`)."""
        return TaskInfo(self.main_score, self.higher_is_better, self.report)


class Task(ABC):
    """A benchmark task: turns a dataset and a scorer into a metrics dict."""

    metadata: ClassVar[TaskMetadata]

    @abstractmethod
    def run(self, scorer: Scorer, dataset: str, context: RunContext) -> dict[str, Any]:
        """Score ``dataset`` with ``scorer``; ``context`` gives everything else a task may use (rows, the
        hidden-state encoder, sharded cached scoring, baselines: :class:`~genobench_hf.contract.RunContext`)."""

    def summarise(self, per_dataset: dict[str, Any]) -> dict[str, Any] | None:
        """A task-specific summary over datasets; None = the runner's mean of the main score."""
        return None


_TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task available to ``genobench evaluate --tasks``."""
    name = cls.metadata.name
    if name in _TASKS and _TASKS[name] is not cls:
        raise ValueError(f"task {name!r} is registered twice")
    _TASKS[name] = cls
    return cls


def available_tasks() -> dict[str, TaskMetadata]:
    return {name: cls.metadata for name, cls in sorted(_TASKS.items())}


def get_task(name: str) -> Task:
    try:
        return _TASKS[name]()
    except KeyError:
        known = ", ".join(sorted(_TASKS)) or "(none)"
        raise ConfigError(f"unknown task {name!r}; available tasks: {known}") from None


def parse_names(value: str | Sequence[str], known: Sequence[str], what: str) -> list[str]:
    """Split a comma list and check every name against ``known`` (clear error naming the bad one)."""
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    items = [v for v in items if v]
    if not items:
        raise ConfigError(f"no {what} given")
    for item in items:
        if item not in known:
            raise ConfigError(
                f"unknown {what[:-1] if what.endswith('s') else what} {item!r}; choose from {', '.join(known)}"
            )
    return list(dict.fromkeys(items))
