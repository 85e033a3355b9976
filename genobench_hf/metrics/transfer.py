"""Summaries on the gain over chance: transfer matrix and rare-species gap (DESIGN.md, issue 4).

Ratios are taken on the gain over chance (2 - bits), never on raw bits: raw bits sit between ~1.8 and 2.0
for every model, so a ratio of bits is ~1 whatever happens, while the gain says how much of what a model
learnt survives the shift to another kingdom or to rare taxa.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError
from genobench_hf.metrics.paired import ratio_interval

#: Cross-entropy of the uniform distribution over A, C, G, T.
CHANCE_BITS = 2.0


def _check_bits(name: str, bits: Any) -> float:
    """A finite, non-negative cross-entropy as float (numpy scalars welcome, strings and bools not)."""
    try:
        if isinstance(bits, str | bool):
            raise TypeError
        b = float(bits)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of bits per nucleotide; got {bits!r}") from None
    if not math.isfinite(b) or b < 0:
        raise ConfigError(f"{name} must be a finite, non-negative number of bits per nucleotide; got {b!r}")
    return b


def gain_over_chance(bits: float) -> float:
    """2 - bits: the information a model adds over a uniform guess (negative = worse than chance)."""
    return CHANCE_BITS - _check_bits("bits", bits)


def _ratio(num: float | None, den: float | None) -> float | None:
    """num / den when the denominator is a positive gain; a ratio of non-positive gains means nothing."""
    if num is None or den is None or den <= 0:
        return None
    return num / den


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _interval(draws: np.ndarray, ci: float = 0.95) -> list[float]:
    lo, hi = np.quantile(draws, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return [float(lo), float(hi)]


def rare_gap(
    common_bits: float, rare_bits: float, *, common_draws: Any = None, rare_draws: Any = None
) -> dict[str, Any]:
    """Gains on common and rare taxa, their difference (common - rare) and ratio (rare / common).

    With bootstrap draws of both gains (independent samples: the two splits hold different genomes), the
    gap gets a percentile interval and the ratio one too, flagged ``ratio_unstable`` where it is undefined
    in many resamples or too wide to read (:func:`genobench_hf.metrics.paired.ratio_interval`)."""
    common = gain_over_chance(common_bits)
    rare = gain_over_chance(rare_bits)
    out: dict[str, Any] = {
        "common_bits": float(common_bits),
        "rare_bits": float(rare_bits),
        "common_gain": common,
        "rare_gain": rare,
        "gap": common - rare,
        "ratio": _ratio(rare, common),
    }
    if common_draws is not None and rare_draws is not None:
        c, r = np.asarray(common_draws, dtype=np.float64), np.asarray(rare_draws, dtype=np.float64)
        if c.shape != r.shape or c.ndim != 1:
            raise ConfigError("common and rare bootstrap draws must be 1-D arrays of the same length")
        out["gap_ci"] = _interval(c - r)
        ratio = ratio_interval(r, c)
        out["ratio_ci"], out["ratio_undefined_share"], out["ratio_unstable"] = (
            ratio["ci"], ratio["undefined_share"], ratio["unstable"]
        )  # fmt: skip
    return out


def _in_domain_sets(
    matrix: Mapping[str, Mapping[str, Any]], in_domain: Mapping[str, str | Sequence[str] | None] | None
) -> dict[str, set[str] | None]:
    """Which test sets are in-domain for each train set; None = unknown training data (external model)."""
    tests = {test for row in matrix.values() for test in row}
    if in_domain is None:
        found = {train: {t for t in tests if t.startswith(train)} for train in matrix}
        return {train: (s or None) for train, s in found.items()}
    missing = [train for train in matrix if train not in in_domain]
    if missing:
        raise ConfigError(
            f"in_domain gives no entry for train set(s) {missing}; use None for unknown training data"
        )
    sets: dict[str, set[str] | None] = {}
    for train in matrix:
        value = in_domain[train]
        if value is None:  # unknown training data
            sets[train] = None
            continue
        chosen = {value} if isinstance(value, str) else set(value)
        unknown = sorted(chosen - tests)
        if unknown:
            raise ConfigError(f"in_domain[{train!r}] names test set(s) {unknown} that are not in the matrix")
        sets[train] = chosen  # empty: known training, but none of its own datasets was evaluated
    return sets


def matrix_from_rows(
    train_names: Sequence[str], test_names: Sequence[str], bits: Sequence[float | None]
) -> dict[str, dict[str, float | None]]:
    """``matrix[train][test] = bits`` from parallel columns (the evaluate module's input rows)."""
    if not len(train_names) == len(test_names) == len(bits):
        raise ConfigError(
            f"train_name, test_name and bits must have one entry per row; got lengths "
            f"{len(train_names)}, {len(test_names)}, {len(bits)}"
        )
    matrix: dict[str, dict[str, float | None]] = {}
    for train, test, b in zip(train_names, test_names, bits, strict=True):
        row = matrix.setdefault(str(train), {})
        if str(test) in row:
            raise ConfigError(f"duplicate transfer cell (train {train!r}, test {test!r})")
        row[str(test)] = b
    return matrix


def _row_means(gains: Mapping[str, Any], keep: set[str], inside: bool) -> Any:
    vals = [g for t, g in gains.items() if (t in keep) == inside]
    return sum(vals) / len(vals) if vals else None


def transfer_summary(
    matrix: Mapping[str, Mapping[str, float | None]],
    *,
    in_domain: Mapping[str, str | Sequence[str] | None] | None = None,
    draws: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Summarise ``matrix[train][test] = bits per nt`` on the gain over chance.

    In-domain test sets of a train set come from ``in_domain`` (a name or a list of names; None = unknown
    training data; an empty list = known training whose own datasets were not evaluated) or, by default,
    are the test names that start with the train name (PRO -> PRO, PRO_reads). A row of unknown training
    gives only its mean gain; a known row without an in-domain test set contributes off-diagonal cells
    only. Overall gains are means over rows of the row means, so every train set weighs the same; which
    rows each mean covers is listed (``*_rows``); the overall ``ratio`` = off / in over the rows that have
    both. None cells (skipped tasks) are ignored.

    ``draws[train][test]``: bootstrap draws of that cell's gain (sites resampled with the same indices for
    every train row of a test set, so rows are paired); with them every gain, gap (off - in) and ratio
    gets a 95% interval, and ratios are flagged ``ratio_unstable`` where they cannot be read.
    """
    if not matrix:
        raise ConfigError("the transfer matrix is empty")
    gains: dict[str, dict[str, float]] = {}
    for train, row in matrix.items():
        if not isinstance(row, Mapping):
            raise ConfigError(f"matrix[{train!r}] must map test set names to bits; got {type(row).__name__}")
        gains[train] = {
            test: gain_over_chance(_check_bits(f"matrix[{train!r}][{test!r}]", bits))
            for test, bits in row.items()
            if bits is not None
        }
    domains = _in_domain_sets(matrix, in_domain)
    boot = _draw_table(gains, draws)
    per_train: dict[str, dict[str, Any]] = {}
    for train, row in gains.items():
        dom = domains[train]
        entry: dict[str, Any] = {
            "gains": dict(sorted(row.items())),
            "mean_gain": _mean(list(row.values())),
            "known_training": dom is not None,
            "in_domain": sorted(dom) if dom is not None else None,
            "in_domain_gain": None,
            "off_diagonal_gain": None,
            "ratio": None,
        }
        if dom is not None:
            entry["in_domain_gain"] = _row_means(row, dom, True)
            entry["off_diagonal_gain"] = _row_means(row, dom, False)
            entry["ratio"] = _ratio(entry["off_diagonal_gain"], entry["in_domain_gain"])
            if boot is not None:
                _add_intervals(entry, entry["in_domain_gain"], entry["off_diagonal_gain"],
                               _row_means(boot[train], dom, True), _row_means(boot[train], dom, False))  # fmt: skip
        per_train[train] = entry
    rows = per_train.values()
    in_rows = [t for t, r in per_train.items() if r["in_domain_gain"] is not None]
    off_rows = [t for t, r in per_train.items() if r["off_diagonal_gain"] is not None]
    both = [t for t in in_rows if t in off_rows]
    in_gain = _mean([per_train[t]["in_domain_gain"] for t in in_rows])
    off_gain = _mean([per_train[t]["off_diagonal_gain"] for t in off_rows])
    in_both = _mean([per_train[t]["in_domain_gain"] for t in both])
    off_both = _mean([per_train[t]["off_diagonal_gain"] for t in both])
    out: dict[str, Any] = {
        "chance_bits": CHANCE_BITS,
        "n_train": len(per_train),
        "n_known_training": sum(r["known_training"] for r in rows),
        "mean_gain": _mean([r["mean_gain"] for r in rows if r["mean_gain"] is not None]),
        "in_domain_gain": in_gain,
        "off_diagonal_gain": off_gain,
        "ratio": _ratio(off_both, in_both),
        "in_domain_rows": in_rows,
        "off_diagonal_rows": off_rows,
        "ratio_rows": both,
        "per_train": per_train,
    }
    if boot is not None and both:
        in_d = np.mean([_row_means(boot[t], domains[t] or set(), True) for t in both], axis=0)
        off_d = np.mean([_row_means(boot[t], domains[t] or set(), False) for t in both], axis=0)
        _add_intervals(out, in_both, off_both, in_d, off_d)
    return out


def _draw_table(
    gains: Mapping[str, Mapping[str, float]], draws: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, np.ndarray]] | None:
    """Draw arrays per cell, checked to cover every scored cell with one common length."""
    if draws is None:
        return None
    out: dict[str, dict[str, np.ndarray]] = {}
    lengths = set()
    for train, row in gains.items():
        for test in row:
            d = (draws.get(train) or {}).get(test)
            if d is None:
                return None  # a cell without draws (e.g. an older results file): no intervals
            arr = np.asarray(d, dtype=np.float64).ravel()
            lengths.add(arr.size)
            out.setdefault(train, {})[test] = arr
    if len(lengths) != 1:
        raise ConfigError(f"transfer draws must have one length for every cell; got {sorted(lengths)}")
    return out


def _add_intervals(
    entry: dict[str, Any], in_gain: float | None, off_gain: float | None, in_draws: Any, off_draws: Any
) -> None:
    """95% intervals of a row's (or the matrix's) in-domain and off-diagonal gains, gap and ratio (the
    matrix's gap and ratio over the rows that have both, like its ``ratio``)."""
    if in_draws is not None:
        entry["in_domain_gain_ci"] = _interval(np.asarray(in_draws))
    if off_draws is not None:
        entry["off_diagonal_gain_ci"] = _interval(np.asarray(off_draws))
    if in_draws is None or off_draws is None or in_gain is None or off_gain is None:
        return
    entry["gap"] = off_gain - in_gain
    entry["gap_ci"] = _interval(np.asarray(off_draws) - np.asarray(in_draws))
    ratio = ratio_interval(np.asarray(off_draws), np.asarray(in_draws))
    entry["ratio_ci"], entry["ratio_undefined_share"], entry["ratio_unstable"] = (
        ratio["ci"], ratio["undefined_share"], ratio["unstable"]
    )  # fmt: skip
