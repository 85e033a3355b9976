"""Rank statistics without a SciPy dependency (SciPy is not a genobench requirement)."""

from __future__ import annotations

from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they occupy (as scipy.stats.rankdata)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # rank of the last member of each group of ties
    return (last - (counts - 1) / 2.0)[inverse]


def spearman(x: Any, y: Any) -> float:
    """Spearman's rho with average ranks for ties; pairs with a NaN are dropped (unaligned = missing).

    Returns NaN when fewer than 2 pairs remain or either side is constant (the correlation is undefined).
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ConfigError(f"spearman needs two sequences of the same length; got {a.size} and {b.size}")
    if np.isinf(a).any() or np.isinf(b).any():
        raise ConfigError("spearman inputs must be finite (NaN marks a missing value)")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan")
    ra = average_ranks(a) - (a.size + 1) / 2.0
    rb = average_ranks(b) - (b.size + 1) / 2.0
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / den) if den > 0 else float("nan")
