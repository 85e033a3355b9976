"""The contract between tasks, the executor and scorers (bottom layer: imports nothing of genobench's above).

A task turns datasets into :class:`ScoreRequest` objects; a scorer turns each request into
:class:`SiteScores` (a probability over A, C, G, T per hidden site). Every model kind (masked LM, causal
LM, seq2seq LM, Markov chain) implements :class:`Scorer`, so the tasks and metrics never branch on the
model kind; what a task must know about a scorer is a member of the contract (``skip_reason``,
``trained_on_genobench_train``), never its name. ``scoring.base`` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from genobench_hf.seeding import stable_seed

Protocol_ = Literal["imputation", "next_nucleotide", "imputation_dense"]
PROTOCOLS: tuple[str, ...] = ("imputation", "next_nucleotide", "imputation_dense")
BASES = "ACGT"
BASE_INDEX = {b: i for i, b in enumerate(BASES)}


@dataclass(frozen=True)
class ScoreRequest:
    """One window and the sites hidden in it: THE request type between tasks, the executor and scorers.

    ``window`` is in the model alphabet (ACGTN) and still holds the true bases at ``sites``; hiding them is
    the scorer's job, so one request serves every model kind. ``targets`` are for metrics and leak tests
    only: a scorer never reads them. ``frame_seed`` is the window's identity (tasks: genome, row, start),
    from which fixed-frame scorers draw each site's frame offset (:mod:`genobench_hf.scoring.frames`);
    without it they draw from the window with its sites hidden.

    Tasks sample a window once and score it under several protocols (``imputation`` and
    ``next_nucleotide`` share their sites), so ``protocol`` may be left unbound (None) until the executor
    binds it (:meth:`bind`); a bound request is checked (sites are ACGT positions of the window).
    ``genome_id``, ``row``, ``start`` (where the window was cut) and ``gc`` (GC of its unhidden ACGT
    positions) are the site metadata of the per-genome, per-GC metrics and the site records.
    """

    window: str
    sites: tuple[int, ...]
    protocol: Protocol_ | None = None
    targets: tuple[int, ...] = field(default=(), compare=False)
    frame_seed: int | None = None
    genome_id: str = field(default="", compare=False)
    row: int = field(default=-1, compare=False)
    start: int = field(default=0, compare=False)
    gc: float = field(default=float("nan"), compare=False)

    def __post_init__(self) -> None:
        if self.protocol is None:
            return
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}")
        if not self.sites:
            raise ValueError("a request needs at least one site")
        for s in self.sites:
            if not 0 <= s < len(self.window) or self.window[s] not in BASES:
                raise ValueError(f"site {s} is not an ACGT position of the window")

    @classmethod
    def make(cls, genome_id: str, row: int, start: int, window: str, sites: Sequence[int]) -> ScoreRequest:
        """A sampled window (protocol unbound): targets, GC and the frame seed derived from its identity and
        text -- model-independent and never a function of a hidden base."""
        sites = tuple(int(s) for s in sites)
        return cls(
            window,
            sites,
            targets=tuple(BASE_INDEX[window[s]] for s in sites),
            frame_seed=stable_seed("frame", genome_id, row, start),
            genome_id=genome_id,
            row=row,
            start=start,
            gc=gc_without(window, sites),
        )

    def bind(self, protocol: Protocol_) -> ScoreRequest:
        """This request under ``protocol`` (checked); itself when already bound to it."""
        return self if self.protocol == protocol else replace(self, protocol=protocol)


@dataclass
class SiteScores:
    """Probabilities over A, C, G, T for each site of one request (rows sum to 1).

    ``frame`` (fixed-frame k-mer tokenizers): per site, its offset in the covering token and that token's
    width; offset -1 marks a site covered by no token, whose probabilities carry no information and which
    the metrics leave out (and count)."""

    probs: np.ndarray
    mass_outside: np.ndarray
    path: str
    approximate: bool = False
    frame: np.ndarray | None = None


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores requests: a wrapped transformers model, a Markov chain, a test double."""

    name: str

    def skip_reason(self, protocol: Protocol_) -> str | None:
        """``None`` if the protocol is supported, else why not (reported as ``{"skipped": reason}``)."""
        ...

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        """Score every request; the result list is aligned with ``requests``."""
        ...


def in_training_data(scorer: Scorer, split: str) -> bool | str:
    """Whether a genome of ``split`` was in the scorer's training data; "unknown" for external models.

    The one optional member of the :class:`Scorer` contract: ``trained_on_genobench_train = True`` marks a
    scorer fitted on genobench's own train split (the Markov chains), whose training genomes are known;
    absent means False (a published model: its training data is not ours to know)."""
    return split == "train" if getattr(scorer, "trained_on_genobench_train", False) else "unknown"


class DataStore(Protocol):
    """The data face of a run: built dataset rows by split, and their content fingerprint."""

    def rows(self, dataset: str, split: str, columns: tuple[str, ...] = ...) -> list[dict[str, Any]]: ...
    def splits(self, dataset: str) -> list[str]: ...
    def fingerprint(self, dataset: str) -> str: ...


class HiddenStateEncoder(Protocol):
    """The hidden-state face of a neural model (probes, ablation): weights, tokenizer and their kinds
    (:class:`genobench_hf.scoring.loading.LoadedModel`)."""

    model: Any
    tokenizer: Any
    model_kind: str
    tokenizer_kind: Any


class ChunkRunner(Protocol):
    """Where a run's chunked, cached work goes: this process's rank, the world size, the chunk cache."""

    rank: int
    world_size: int
    cache_dir: Path | None
    show_progress: bool


class RunContext(Protocol):
    """What a task may use besides the scorer it is handed (:meth:`genobench_hf.tasks.base.Task.run`).

    Every face is explicit -- a task never guesses with ``getattr``: ``store`` (rows, splits,
    fingerprints), ``encoder`` (the model's hidden states; None when the model has none, e.g. a Markov
    chain), ``executor`` (sharding and the chunk cache), ``score`` (sharded, cached scoring of requests),
    the baselines of a dataset, a scorer's content identity (for cache keys) and the per-site, per-span and
    per-gene records.
    ``genobench_hf.runner.RunContext`` is the run's; ``genobench_hf.testing.MemoryContext`` a test's."""

    config: Any  # genobench_hf.runner.EvalConfig: .task (TaskConfig), .batch_size
    store: DataStore
    executor: ChunkRunner
    encoder: HiddenStateEncoder | None
    models: Any  # genobench_hf.model_provider.ModelProvider: the device and the transfer rows' scorers

    def rows(self, dataset: str, split: str) -> list[dict[str, Any]]: ...
    def baselines(self, dataset: str) -> dict[str, Scorer]: ...
    def identity(self, scorer: Scorer) -> dict[str, Any]: ...
    def score(self, key: str, dataset: str, windows: list[ScoreRequest], protocol: str, scorer: Scorer, *,
              cache: bool = True) -> list[SiteScores]: ...  # fmt: skip
    def record_sites(self, task: str, dataset: str, split: str, windows: list[ScoreRequest],
                     scores: list[SiteScores], rows: list[dict[str, Any]]) -> None: ...  # fmt: skip
    def record_spans(self, task: str, dataset: str, split: str, kind: str, windows: list[ScoreRequest],
                     predicted: list[str], decoder: str, rows: list[dict[str, Any]],
                     proteins: list[tuple[str, str]] | None = None) -> None: ...  # fmt: skip
    def record_genes(self, task: str, dataset: str, split: str, part: str, headline: bool, mode: str,
                     genes: dict[str, dict[str, Any]]) -> None: ...  # fmt: skip


def normalise_log_scores(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64 (the shared final step of every candidate rule)."""
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores - scores.max(axis=-1, keepdims=True)
    out = np.exp(scores)
    return out / out.sum(axis=-1, keepdims=True)


#: byte -> is it an A, C, G or T (uppercase); byte -> is it G or C
IS_ACGT = np.zeros(256, dtype=bool)
IS_ACGT[[ord(b) for b in BASES]] = True
IS_GC = np.zeros(256, dtype=bool)
IS_GC[[ord("G"), ord("C")]] = True


def gc_without(window: str, hidden: Sequence[int]) -> float:
    """GC fraction of the window's ACGT positions that are not hidden (nan if none)."""
    arr = np.frombuffer(window.encode("ascii"), dtype=np.uint8)
    keep = IS_ACGT[arr].copy()
    keep[list(hidden)] = False
    n = int(keep.sum())
    return float(IS_GC[arr][keep].sum() / n) if n else float("nan")
