"""Percentile bootstrap of means, vectorised.

Why not a loop: a results file carries intervals for ~10 datasets x several tasks, each with up to 100k
sites and 1,000 resamples. Drawing index matrices in chunks of ~4M entries and reducing them with
``np.take`` keeps 1,000 x 100k resamples near 2 s on one CPU core and memory at ~32 MB. Every column is
resampled with the SAME indices, so the intervals of accuracy and bits come from one set of resamples.
"""

from __future__ import annotations

import numpy as np

from genobench_hf.errors import ConfigError

#: Index entries per chunk (int64: 8 bytes each); a constant so that results depend only on the inputs.
CHUNK_ENTRIES = 4_000_000


def check_ci(n_bootstrap: int, ci: float) -> None:
    """Reject a negative resample count or a confidence level outside (0, 1)."""
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 0:
        raise ConfigError(f"n_bootstrap must be a non-negative integer; got {n_bootstrap!r}")
    if not 0.0 < float(ci) < 1.0:
        raise ConfigError(f"ci must be a confidence level in (0, 1), e.g. 0.95; got {ci!r}")


def bootstrap_means(values: np.ndarray, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_bootstrap`` resamples (with replacement) of the rows of ``values`` (n, k) -> (B, k).

    Rows are the resampling unit: sites for micro intervals, genomes (their per-genome means) for the
    cluster bootstrap of macro averages.
    """
    n, k = values.shape
    out = np.empty((n_bootstrap, k), dtype=np.float64)
    cols = [np.ascontiguousarray(values[:, j]) for j in range(k)]
    chunk = max(1, CHUNK_ENTRIES // max(n, 1))
    for start in range(0, n_bootstrap, chunk):
        rows = min(chunk, n_bootstrap - start)
        idx = rng.integers(0, n, size=(rows, n))
        for j, col in enumerate(cols):
            out[start : start + rows, j] = np.take(col, idx).mean(axis=1)
    return out


def percentile_intervals(stats: np.ndarray, ci: float) -> list[list[float]]:
    """Percentile interval [lo, hi] at level ``ci`` for each column of ``stats`` (B, k)."""
    alpha = (1.0 - ci) / 2.0
    q = np.quantile(stats, [alpha, 1.0 - alpha], axis=0)
    return [[float(q[0, j]), float(q[1, j])] for j in range(stats.shape[1])]
