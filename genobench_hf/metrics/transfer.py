"""Summaries on the gain over chance: transfer matrix and rare-species gap (DESIGN.md, issue 4).

Ratios are taken on the gain over chance (2 - bits), never on raw bits: raw bits sit between ~1.8 and 2.0
for every model, so a ratio of bits is ~1 whatever happens, while the gain says how much of what a model
learnt survives the shift to another kingdom or to rare taxa.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from genobench_hf.errors import ConfigError

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


def rare_gap(common_bits: float, rare_bits: float) -> dict[str, float | None]:
    """Gains on common and rare taxa, their difference (common - rare) and ratio (rare / common)."""
    common = gain_over_chance(common_bits)
    rare = gain_over_chance(rare_bits)
    return {
        "common_bits": float(common_bits),
        "rare_bits": float(rare_bits),
        "common_gain": common,
        "rare_gain": rare,
        "gap": common - rare,
        "ratio": _ratio(rare, common),
    }


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
        chosen = {value} if isinstance(value, str) else set(value or ())
        unknown = sorted(chosen - tests)
        if unknown:
            raise ConfigError(f"in_domain[{train!r}] names test set(s) {unknown} that are not in the matrix")
        sets[train] = chosen or None
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


def transfer_summary(
    matrix: Mapping[str, Mapping[str, float | None]],
    *,
    in_domain: Mapping[str, str | Sequence[str] | None] | None = None,
) -> dict[str, Any]:
    """Summarise ``matrix[train][test] = bits per nt`` on the gain over chance.

    In-domain test sets of a train set come from ``in_domain`` (a name or a list of names; None or empty =
    unknown training data) or, by default, are the test names that start with the train name (PRO ->
    PRO, PRO_reads). A row with no in-domain test set (an external model trained on unknown data) gives
    only its mean gain. Overall in-domain and off-diagonal gains are means over rows of the row means, so
    every train set weighs the same; ``ratio`` = off / in (None unless in > 0). None cells (skipped
    tasks) are ignored.
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
            entry["in_domain_gain"] = _mean([g for t, g in row.items() if t in dom])
            entry["off_diagonal_gain"] = _mean([g for t, g in row.items() if t not in dom])
            entry["ratio"] = _ratio(entry["off_diagonal_gain"], entry["in_domain_gain"])
        per_train[train] = entry
    rows = per_train.values()
    in_gain = _mean([r["in_domain_gain"] for r in rows if r["in_domain_gain"] is not None])
    off_gain = _mean([r["off_diagonal_gain"] for r in rows if r["off_diagonal_gain"] is not None])
    return {
        "chance_bits": CHANCE_BITS,
        "n_train": len(per_train),
        "n_known_training": sum(r["known_training"] for r in rows),
        "mean_gain": _mean([r["mean_gain"] for r in rows if r["mean_gain"] is not None]),
        "in_domain_gain": in_gain,
        "off_diagonal_gain": off_gain,
        "ratio": _ratio(off_gain, in_gain),
        "per_train": per_train,
    }
