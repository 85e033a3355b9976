"""The catalog (datasets, kingdoms) and the task defaults: a bottom-layer module with no heavy imports.

Why here and not in ``tasks/``: importing the ``tasks`` package registers every task and so imports torch;
the CLI builds its parsers (``--help``) from these defaults and must stay light. ``tasks.base`` re-exports
everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genobench_hf.errors import ConfigError

DATASET_NAMES: tuple[str, ...] = ("PRO", "EUK", "VIR", "PRO_reads", "EUK_reads", "VIR_reads")
KINGDOMS: tuple[str, ...] = ("PRO", "EUK", "VIR")
#: ``--model-kind`` values: auto-detected, or the loader's three model kinds (scoring/loading.py)
MODEL_KINDS: tuple[str, ...] = ("auto", "masked", "causal", "seq2seq")
#: what ``genobench evaluate`` runs without --tasks
DEFAULT_TASKS: tuple[str, ...] = ("imputation", "next_nucleotide", "imputation_dense")


def kingdom_of(dataset: str) -> str:
    """``PRO_reads`` -> ``PRO``: the kingdom whose genomes a dataset was built from."""
    return dataset.split("_")[0]


def is_reads(dataset: str) -> bool:
    return dataset.endswith("_reads")


@dataclass
class TaskConfig:
    """Knobs shared by the site-scoring tasks. These field defaults are THE task defaults: ``genobench
    evaluate``, ``genobench run`` and :class:`~genobench_hf.runner.EvalConfig` all take them from here, so
    their results are scored under one protocol (:mod:`genobench_hf.protocol`).

    2,000 sites per dataset: the paired 95% half-width of a difference in bits shrinks as 1/sqrt(n)
    (about +-0.04 bits unpaired at 500 sites); 2,000 halves it at four times the site-scoring cost. Spans
    of 30 and 100 nt and genes of at most 600 nt bound the cost of left-to-right causal infilling, which
    grows with the square of the span length."""

    window: int = 256
    n_sites: int = 2000
    mask_rate: float = 0.15
    seed: int = 0
    split: str = "test"
    limit: int | None = None  # at most this many sites per dataset (smoke runs)
    n_bootstrap: int = 1000
    span_lengths: tuple[int, ...] = (30, 100)
    span_flank: int = 100
    n_spans: int = 8
    n_genes: int = 4
    max_gene_length: int = 600
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
        if self.split == "train":  # no task scores a genome the Markov chain or our models were fitted on
            raise ConfigError("--split train: Markov chains and genobench's models are fitted on it; "
                              "score validation, test or rare")  # fmt: skip

    @property
    def sites_per_dataset(self) -> int:
        return min(self.n_sites, self.limit) if self.limit else self.n_sites
