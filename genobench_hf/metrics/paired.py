"""Paired comparisons on the same items: a mean difference with bootstrap intervals, and ratios.

Every model is scored on the same sites (and every probe on the same held-out nucleotides), so the
question "is A better than B" is answered on the per-item differences, never by reading two marginal
intervals: the paired interval is narrower because the items' difficulty cancels. Two intervals:

* over items (sites, nucleotides): conditional on the genomes sampled;
* a cluster bootstrap over groups (genomes), when at least ``MIN_CLUSTERS`` groups exist: what a new draw
  of genomes might give. Each resample draws whole groups and pools their items.

Ratios (transfer off/in, rare/common) are bootstrapped on the same resamples as their numerator and
denominator; a resample whose denominator is not positive has no ratio, and the share of such resamples
is reported (``undefined_share``): a ratio undefined in more than ``UNSTABLE_SHARE`` of them, or whose
interval spans more than ``UNSTABLE_WIDTH``, is flagged ``unstable`` and the gap should be read instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError
from genobench_hf.metrics.bootstrap import bootstrap_means, check_ci, percentile_intervals

MIN_CLUSTERS = 3
UNSTABLE_SHARE = 0.05
UNSTABLE_WIDTH = 1.0


def _vector(name: str, values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ConfigError(f"{name} is empty")
    if not np.isfinite(v).all():
        raise ConfigError(f"{name} must be finite")
    return v


def _cluster_stats(
    values: np.ndarray,
    groups: np.ndarray,
    n_bootstrap: int,
    rng: np.random.Generator,
    sizes: np.ndarray | None = None,
) -> np.ndarray:
    """(B, k) pooled means of ``values`` (n, k) over resamples of whole groups; with ``sizes`` each item
    is a sum over ``sizes[i]`` units (a span's matches over its nucleotides) and the mean is per unit."""
    keys, inverse = np.unique(groups, return_inverse=True)
    sums = np.zeros((len(keys), values.shape[1]))
    np.add.at(sums, inverse, values)
    counts = np.bincount(inverse, weights=sizes, minlength=len(keys)).astype(np.float64)
    idx = rng.integers(0, len(keys), size=(n_bootstrap, len(keys)))
    return np.stack([sums[idx, j].sum(axis=1) for j in range(values.shape[1])], axis=1) / counts[idx].sum(
        axis=1, keepdims=True
    )


def paired_difference(
    a: Any,
    b: Any,
    *,
    groups: Sequence[Any] | None = None,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """``mean(a) - mean(b)`` over the same items with paired percentile intervals (see module docstring).

    ``excludes_zero`` says whether the item-level interval excludes 0 (the cluster interval's verdict is
    ``cluster_excludes_zero``, None when there are fewer than ``MIN_CLUSTERS`` groups).
    """
    check_ci(n_bootstrap, ci)
    x, y = _vector("a", a), _vector("b", b)
    if x.size != y.size:
        raise ConfigError(f"a paired comparison needs the same items: {x.size} vs {y.size} values")
    d = (x - y)[:, None]
    out: dict[str, Any] = {"difference": float(d.mean()), "n": int(d.size), "ci_level": ci}
    rng = np.random.default_rng(seed)
    lo_hi = percentile_intervals(bootstrap_means(d, n_bootstrap, rng), ci)[0] if n_bootstrap else [None, None]
    out["ci"] = lo_hi
    out["excludes_zero"] = None if lo_hi[0] is None else bool(lo_hi[0] > 0 or lo_hi[1] < 0)
    out["n_groups"], out["cluster_ci"], out["cluster_excludes_zero"] = None, None, None
    if groups is not None:
        g = np.asarray([str(v) for v in groups])
        if g.size != d.size:
            raise ConfigError(f"groups must name one group per item ({d.size}); got {g.size}")
        out["n_groups"] = len(np.unique(g))
        if out["n_groups"] >= MIN_CLUSTERS and n_bootstrap:
            c = percentile_intervals(_cluster_stats(d, g, n_bootstrap, rng), ci)[0]
            out["cluster_ci"] = c
            out["cluster_excludes_zero"] = bool(c[0] > 0 or c[1] < 0)
    return out


def paired_pooled_difference(
    hits_a: Any,
    hits_b: Any,
    sizes: Any,
    *,
    groups: Sequence[Any] | None = None,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """``sum(hits_a) / sum(sizes) - sum(hits_b) / sum(sizes)`` over the same items (spans: matching out of
    scored nucleotides, so the difference is one of pooled identity), in :func:`paired_difference`'s shape.

    The item-level interval resamples whole items, never their units: the nucleotides of one infilled span
    are not independent. Items with no unit (a span of N only) carry no information and are left out.
    """
    check_ci(n_bootstrap, ci)
    x, y, n = _vector("hits_a", hits_a), _vector("hits_b", hits_b), _vector("sizes", sizes)
    if not x.size == y.size == n.size:
        raise ConfigError(f"a paired comparison needs the same items: {x.size}, {y.size}, {n.size} values")
    keep = n > 0
    if not keep.any():
        raise ConfigError("no item has a scored unit")
    d, n = (x - y)[keep][:, None], n[keep]
    out: dict[str, Any] = {"difference": float(d.sum() / n.sum()), "n": int(keep.sum()), "ci_level": ci}
    rng = np.random.default_rng(seed)
    items = np.arange(d.shape[0])
    lo_hi = (
        percentile_intervals(_cluster_stats(d, items, n_bootstrap, rng, n), ci)[0] if n_bootstrap else None
    )
    out["ci"] = lo_hi or [None, None]
    out["excludes_zero"] = None if lo_hi is None else bool(lo_hi[0] > 0 or lo_hi[1] < 0)
    out["n_groups"], out["cluster_ci"], out["cluster_excludes_zero"] = None, None, None
    if groups is not None:
        g = np.asarray([str(v) for v in groups])
        if g.size != keep.size:
            raise ConfigError(f"groups must name one group per item ({keep.size}); got {g.size}")
        g = g[keep]
        out["n_groups"] = len(np.unique(g))
        if out["n_groups"] >= MIN_CLUSTERS and n_bootstrap:
            c = percentile_intervals(_cluster_stats(d, g, n_bootstrap, rng, n), ci)[0]
            out["cluster_ci"] = c
            out["cluster_excludes_zero"] = bool(c[0] > 0 or c[1] < 0)
    return out


def ratio_interval(numerator: np.ndarray, denominator: np.ndarray, ci: float = 0.95) -> dict[str, Any]:
    """Percentile interval of ``numerator / denominator`` over paired bootstrap draws (arrays of equal
    length), resamples with a denominator <= 0 left out and counted."""
    num = np.asarray(numerator, dtype=np.float64).ravel()
    den = np.asarray(denominator, dtype=np.float64).ravel()
    if num.shape != den.shape or num.size == 0:
        raise ConfigError("a ratio interval needs paired, non-empty numerator and denominator draws")
    ok = den > 0
    share = float(1.0 - ok.mean())
    if ok.sum() < 2:
        return {"ci": None, "undefined_share": share, "unstable": True}
    lo, hi = np.quantile(num[ok] / den[ok], [(1 - ci) / 2, 1 - (1 - ci) / 2])
    unstable = share > UNSTABLE_SHARE or (hi - lo) > UNSTABLE_WIDTH
    return {"ci": [float(lo), float(hi)], "undefined_share": share, "unstable": bool(unstable)}
