"""Task registry with typed metadata (in the spirit of mteb's TaskMetadata and lm-eval's registries).

Adding a task is one module with one class decorated by :func:`register_task`, plus one import line in
``genobench_hf/tasks/__init__.py``. The runner only talks to the :class:`Task` interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from genobench_hf.errors import ConfigError

if TYPE_CHECKING:
    from genobench_hf.scoring.base import Scorer

DATASET_NAMES: tuple[str, ...] = ("PRO", "EUK", "VIR", "PRO_reads", "EUK_reads", "VIR_reads")
KINGDOMS: tuple[str, ...] = ("PRO", "EUK", "VIR")


def kingdom_of(dataset: str) -> str:
    """``PRO_reads`` -> ``PRO``: the kingdom whose genomes a dataset was built from."""
    return dataset.split("_")[0]


def is_reads(dataset: str) -> bool:
    return dataset.endswith("_reads")


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


@dataclass
class TaskConfig:
    """Knobs shared by the site-scoring tasks; every one is a CLI flag."""

    window: int = 256
    n_sites: int = 2000
    mask_rate: float = 0.15
    seed: int = 0
    split: str = "test"
    limit: int | None = None  # at most this many sites per dataset (smoke runs)
    n_bootstrap: int = 1000
    span_lengths: tuple[int, ...] = (30, 100, 300)
    span_flank: int = 100
    n_spans: int = 32
    n_genes: int = 16
    max_gene_length: int = 1000
    n_generations: int = 50  # gene_completion: sampled completions per gene (Evo 2 used 50)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.window < 8:
            raise ConfigError(f"--window must be at least 8 nucleotides, got {self.window}")
        if not 0.0 < self.mask_rate < 1.0:
            raise ConfigError(f"--mask-rate must be in (0, 1), got {self.mask_rate}")
        if self.n_sites < 1:
            raise ConfigError(f"the number of sites must be positive, got {self.n_sites}")
        if self.n_generations < 1:
            raise ConfigError(f"--generations must be positive, got {self.n_generations}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be positive, got {self.limit}")

    @property
    def sites_per_dataset(self) -> int:
        return min(self.n_sites, self.limit) if self.limit else self.n_sites


class Task(ABC):
    """A benchmark task: turns a dataset and a scorer into a metrics dict."""

    metadata: ClassVar[TaskMetadata]

    @abstractmethod
    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        """Score ``dataset`` with ``scorer``; ``context`` is the runner's (data access, config, cache)."""

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
