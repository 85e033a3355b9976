"""The contract between tasks and scorers.

A task turns datasets into :class:`ScoreRequest` objects; a scorer turns each request into
:class:`SiteScores` (a probability over A, C, G, T per hidden site). Every model kind (masked LM, causal
LM, Markov chain) implements :class:`Scorer`, so the tasks and metrics never branch on the model kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Protocol_ = Literal["imputation", "next_nucleotide", "imputation_dense"]
PROTOCOLS: tuple[str, ...] = ("imputation", "next_nucleotide", "imputation_dense")
BASES = "ACGT"
BASE_INDEX = {b: i for i, b in enumerate(BASES)}


@dataclass(frozen=True)
class ScoreRequest:
    """One window and the sites hidden in it.

    ``window`` is in the model alphabet (ACGTN) and still holds the true bases at ``sites``; hiding them is
    the scorer's job, so one request serves every model kind. ``targets`` are for metrics and leak tests
    only: a scorer never reads them. ``frame_seed`` is the window's identity (tasks: genome, row, start),
    from which fixed-frame scorers draw each site's frame offset (:mod:`genobench_hf.scoring.frames`);
    without it they draw from the window with its sites hidden.
    """

    window: str
    sites: tuple[int, ...]
    protocol: Protocol_
    targets: tuple[int, ...] = field(default=(), compare=False)
    frame_seed: int | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}")
        if not self.sites:
            raise ValueError("a request needs at least one site")
        for s in self.sites:
            if not 0 <= s < len(self.window) or self.window[s] not in BASES:
                raise ValueError(f"site {s} is not an ACGT position of the window")


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


def normalise_log_scores(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64 (the shared final step of every candidate rule)."""
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores - scores.max(axis=-1, keepdims=True)
    out = np.exp(scores)
    return out / out.sum(axis=-1, keepdims=True)
