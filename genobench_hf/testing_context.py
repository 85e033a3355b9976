"""An in-memory :class:`genobench_hf.contract.RunContext` for tests of one task (no built datasets, no run).

Rows come from a dict or a function, scoring goes straight through the scorer (one process, no cache),
and every face of the contract is present, so a task under test sees the same interface as in a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from genobench_hf.contract import Scorer, ScoreRequest, SiteScores

SPLITS = ("train", "validation", "test", "rare")


@dataclass
class MemoryStore:
    """Rows by (dataset, split) from ``rows``; every split listed, columns ignored (rows are whole)."""

    rows_of: Callable[[str, str], list[dict[str, Any]]]
    split_names: tuple[str, ...] = SPLITS

    def rows(self, dataset: str, split: str, columns: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return self.rows_of(dataset, split)

    def splits(self, dataset: str) -> list[str]:
        return list(self.split_names)

    def fingerprint(self, dataset: str) -> str:
        return f"memory:{dataset}"


@dataclass
class MemoryContext:
    """A task's run context in a test: ``rows`` as ``{split: rows}`` or ``(dataset, split) -> rows``."""

    rows_by: Mapping[str, list[dict[str, Any]]] | Callable[[str, str], list[dict[str, Any]]]
    config: Any
    encoder: Any = None
    models: Any = None  # the model provider's device/transfer face, for the tasks that need it
    baselines_by: Mapping[str, Scorer] = field(default_factory=dict)
    cache_dir: Path | None = None
    batch_size: int = 8
    calls: list[str] = field(default_factory=list)  # the keys ``score`` was called with
    records: list[tuple[str, str, str]] = field(default_factory=list)  # (task, dataset, split) recorded

    def __post_init__(self) -> None:
        by = self.rows_by
        self.store = MemoryStore(by if callable(by) else lambda dataset, split: list(by.get(split, [])))
        self.executor = SimpleNamespace(rank=0, world_size=1, cache_dir=self.cache_dir, show_progress=False)

    def rows(self, dataset: str, split: str) -> list[dict[str, Any]]:
        return self.store.rows(dataset, split)

    def baselines(self, dataset: str) -> dict[str, Scorer]:
        return dict(self.baselines_by)

    def identity(self, scorer: Scorer) -> dict[str, Any]:
        return {"name": scorer.name}

    def score(self, key: str, dataset: str, windows: list[ScoreRequest], protocol: str, scorer: Scorer, *,
              cache: bool = True) -> list[SiteScores]:  # fmt: skip
        self.calls.append(key)
        return scorer.score([w.bind(protocol) for w in windows], self.batch_size)  # type: ignore[arg-type]

    def record_sites(self, task: str, dataset: str, split: str, windows: list[ScoreRequest],
                     scores: list[SiteScores], rows: list[dict[str, Any]]) -> None:  # fmt: skip
        self.records.append((task, dataset, split))

    def record_spans(self, task: str, dataset: str, split: str, kind: str, windows: list[ScoreRequest],
                     predicted: list[str], decoder: str, rows: list[dict[str, Any]],
                     proteins: list[tuple[str, str]] | None = None) -> None:  # fmt: skip
        self.records.append((task, dataset, split))

    def record_genes(self, task: str, dataset: str, split: str, part: str, headline: bool, mode: str,
                     genes: dict[str, dict[str, Any]]) -> None:  # fmt: skip
        self.records.append((task, dataset, split))
