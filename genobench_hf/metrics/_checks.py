"""Input validation and JSON helpers shared by every metric.

Metrics are the last step before a results file, so a silent shape or normalisation mistake here would
publish a wrong number; every check raises :class:`ConfigError` with the offending shape or row instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError

BASES = "ACGT"
#: Tolerance on row sums: rows this close to 1 are renormalised (float32 round-off), others are an error.
SUM_TOLERANCE = 1e-6
#: p(true) is floored here before -log2 so that one zero-probability site gives a large finite number
#: (~49.8 bits) instead of an infinity that JSON cannot carry; such sites are counted in the output.
PROB_FLOOR = 1e-15


def check_probs_targets(probs: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (probs float64 (n, 4) renormalised, targets int64 (n,)) or raise ConfigError."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 4:
        raise ConfigError(f"probs must have shape (n, 4) over A,C,G,T; got shape {p.shape}")
    n = p.shape[0]
    if n == 0:
        raise ConfigError("no sites to score: probs has 0 rows")
    t = np.asarray(targets)
    if t.shape != (n,):
        raise ConfigError(f"targets must have shape ({n},) to match probs {p.shape}; got {t.shape}")
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ConfigError("targets must be integer base indices 0..3 (A,C,G,T); got non-integer values")
    elif t.dtype.kind not in "iu":
        raise ConfigError(f"targets must be integer base indices 0..3 (A,C,G,T); got dtype {t.dtype}")
    t = t.astype(np.int64)
    bad_t = np.flatnonzero((t < 0) | (t > 3))
    if bad_t.size:
        raise ConfigError(f"targets must be in 0..3 (A,C,G,T); row {bad_t[0]} is {t[bad_t[0]]}")
    finite = np.isfinite(p).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ConfigError(
            f"probs contain NaN or infinite values ({int((~finite).sum())} rows; first row {row})"
        )
    if (p < 0).any():
        row = int(np.flatnonzero((p < 0).any(axis=1))[0])
        raise ConfigError(f"probs must be non-negative; row {row} is {p[row].tolist()}")
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ConfigError(
            f"probs rows must sum to 1 over A,C,G,T (tolerance {SUM_TOLERANCE}); {int(off.sum())} rows do not, "
            f"first row {row} sums to {sums[row]!r}"
        )
    return p / sums[:, None], t


def check_vector(name: str, values: Any, n: int, *, allow_nan: bool) -> np.ndarray:
    """A float64 (n,) side column (gc, mass_outside) aligned with the sites."""
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (n,):
        raise ConfigError(f"{name} must have shape ({n},) to match the sites; got {v.shape}")
    if np.isinf(v).any() or (not allow_nan and np.isnan(v).any()):
        raise ConfigError(f"{name} must be finite{'' if allow_nan else ' (no NaN)'}")
    return v


def check_labels(name: str, labels: Sequence[Any], n: int) -> np.ndarray:
    """A length-n sequence of string labels (genome ids) as a numpy str array."""
    if isinstance(labels, str):
        raise ConfigError(f"{name} must be a sequence of strings, one per site, not a single string")
    arr = np.asarray([str(x) for x in labels])
    if arr.shape != (n,):
        raise ConfigError(f"{name} must have one entry per site ({n}); got {arr.shape[0]}")
    return arr


def opt_float(x: float | np.floating | None) -> float | None:
    """float for JSON, None for a missing or undefined (NaN) value."""
    if x is None:
        return None
    x = float(x)
    return None if np.isnan(x) else x


def safe_mean(total: float, n: int) -> float | None:
    """total / n, or None when there is nothing to average."""
    return float(total) / n if n else None
