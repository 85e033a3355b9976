"""Conservation scores: rank correlation of a per-site score with conservation, and accuracy by bin.

Conservation here is within-species polymorphism (fraction of aligned strains that agree with the
reference), not phyloP: do not compare with GUANinE's cons30. Missing conservation (no aligned strain) is
NaN and is left out of every statistic.

Bins are [0, .5), [.5, .75), [.75, 1) and the single value 1 (fully conserved). ``accuracy_by_bins`` takes
strictly increasing edges with a closed last bin, so the split between "< 1" and "= 1" is the edge
``1 - 1e-9`` (below every ratio of counts <= 255); the returned bins are relabelled with their real bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genobench_hf.metrics._checks import check_vector
from genobench_hf.metrics.nucleotide import accuracy_by_bins
from genobench_hf.metrics.stats import spearman

CONSERVATION_BINS: tuple[tuple[float, float, str], ...] = (
    (0.0, 0.5, "[0, 0.5)"),
    (0.5, 0.75, "[0.5, 0.75)"),
    (0.75, 1.0, "[0.75, 1)"),
    (1.0, 1.0, "[1, 1]"),
)
_EDGES = (0.0, 0.5, 0.75, 1.0 - 1e-9, 1.0)


def _nan_to_none(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def accuracy_by_conservation(conservation: Any, correct: Any, bits: Any) -> list[dict[str, Any]]:
    """Accuracy and bits per conservation bin (NaN conservation left out), via ``accuracy_by_bins``."""
    c = np.asarray(correct, dtype=np.float64)
    b = check_vector("bits", bits, c.size, allow_nan=False)
    bins = accuracy_by_bins(conservation, c, b, _EDGES)
    return [
        row | {"lower": lo, "upper": hi, "label": label}
        for row, (lo, hi, label) in zip(bins, CONSERVATION_BINS, strict=True)
    ]


def conservation_correlation(
    score: Any, conservation: Any, *, correct: Any = None, bits: Any = None
) -> dict[str, Any]:
    """Spearman between a per-site score (e.g. log2 p(true base)) and conservation, plus bins.

    ``spearman`` is None when undefined (fewer than 2 sites with conservation, or a constant score such
    as a uniform model or chance). With ``correct`` and ``bits`` (per site) the result also holds
    ``accuracy_by_conservation``.
    """
    s = np.asarray(score, dtype=np.float64).ravel()
    c = check_vector("conservation", conservation, s.size, allow_nan=True)
    ok = ~np.isnan(c)
    out: dict[str, Any] = {
        "n": int(ok.sum()),
        "n_missing": int((~ok).sum()),
        "spearman": _nan_to_none(spearman(s, c)),
    }
    if correct is not None and bits is not None:
        out["accuracy_by_conservation"] = accuracy_by_conservation(c, correct, bits)
    return out


__all__ = ["CONSERVATION_BINS", "accuracy_by_conservation", "conservation_correlation"]
