"""Probe and ablation summaries (accuracy, macro-F1, AUROC, selectivity, Gini, half-effect count).

One implementation for the ``aa_probe``/``cds_probe``/``neuron_importance`` tasks and the
``metrics/probe_summary`` and ``metrics/neuron_importance`` evaluate modules. Conventions:

* macro-F1 averages the per-class F1 over the classes present in the references or the predictions
  (scikit-learn's ``f1_score(average="macro")``); a class never predicted has F1 0.
* AUROC is the Mann-Whitney statistic with average ranks for ties (0.5 for a constant score), vectorised
  over neurons; a neuron's selectivity for a class is ``max(AUROC, 1 - AUROC)`` because a neuron that is
  *low* for a class separates it as well as one that is high. Selective = best one-vs-rest value >= 0.9.
* Importance of a neuron = the increase in bits/nt when it is ablated; negative values (ablation helped)
  count as 0 in the Gini coefficient and the half-effect count, which describe how the *harm* is spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError
from genobench_hf.metrics._checks import opt_float
from genobench_hf.metrics.stats import average_ranks

SELECTIVITY_THRESHOLD = 0.9


def _labels(name: str, values: Any, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (n is not None and arr.size != n):
        raise ConfigError(
            f"{name} must be a 1-D sequence{'' if n is None else f' of {n} labels'}; got {arr.shape}"
        )
    if arr.size == 0:
        raise ConfigError(f"{name} is empty")
    if arr.dtype.kind not in "iub":
        raise ConfigError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def macro_f1(references: Any, predictions: Any) -> float:
    """Mean per-class F1 over the classes seen in either sequence."""
    y = _labels("references", references)
    p = _labels("predictions", predictions, y.size)
    scores = []
    for c in np.union1d(y, p):
        tp = float(np.sum((y == c) & (p == c)))
        denom = float(np.sum(y == c) + np.sum(p == c))
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def balanced_accuracy(references: Any, predictions: Any) -> float:
    """Mean per-class recall over the classes present in the references (chance = 1 / their number for
    any predictor that ignores its input, whatever the class shares)."""
    y = _labels("references", references)
    p = _labels("predictions", predictions, y.size)
    return float(np.mean([np.mean(p[y == c] == c) for c in np.unique(y)]))


def auroc(scores: Any, positive: Any) -> float | None:
    """Binary AUROC of ``scores`` for the boolean ``positive``; None when one class is absent."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    pos = np.asarray(positive, dtype=bool).ravel()
    if s.shape != pos.shape:
        raise ConfigError(f"auroc needs one score per label; got {s.size} scores and {pos.size} labels")
    out = one_vs_rest_auroc(s[:, None], pos.astype(np.int64), classes=[1])
    return opt_float(out[0, 0])


def one_vs_rest_auroc(activations: Any, labels: Any, classes: Sequence[int] | None = None) -> np.ndarray:
    """``(n_neurons, n_classes)`` AUROC of each neuron for each class against the rest (NaN if undefined)."""
    x = np.asarray(activations, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"activations must be (n_samples, n_neurons); got shape {x.shape}")
    y = _labels("labels", labels, x.shape[0])
    if not np.isfinite(x).all():
        raise ConfigError("activations must be finite")
    cls = np.unique(y) if classes is None else np.asarray(classes, dtype=np.int64)
    ranks = np.empty_like(x)
    for j in range(x.shape[1]):
        ranks[:, j] = average_ranks(x[:, j])
    onehot = (y[:, None] == cls[None, :]).astype(np.float64)  # (n, K)
    n_pos = onehot.sum(axis=0)
    n_neg = y.size - n_pos
    rank_sums = ranks.T @ onehot  # (D, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (rank_sums - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    out[:, (n_pos == 0) | (n_neg == 0)] = np.nan
    return out


def neuron_selectivity(
    activations: Any,
    labels: Any,
    *,
    threshold: float = SELECTIVITY_THRESHOLD,
    class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Per neuron the best one-vs-rest ``max(AUROC, 1 - AUROC)``; how many reach ``threshold``; the best one."""
    y = _labels("labels", labels)
    classes = np.unique(y)
    table = one_vs_rest_auroc(activations, y, classes)
    sep = np.fmax(table, 1.0 - table)
    filled = np.where(np.isnan(sep), -np.inf, sep)
    # on a tie (binary labels: AUROC a for one class is 1 - a for the other) name the class the neuron is high for
    best_class = np.argmax(filled + np.where(table >= 0.5, 1e-12, 0.0), axis=1)
    best = filled[np.arange(len(best_class)), best_class]
    top = int(np.argmax(best))
    name = lambda c: class_names[c] if class_names is not None else int(c)  # noqa: E731
    return {
        "n_neurons": int(table.shape[0]),
        "n_selective_neurons": int(np.sum(best >= threshold)),
        "selectivity_threshold": threshold,
        "best_neuron": {
            "index": top,
            "auroc": opt_float(table[top, best_class[top]]),
            "selectivity": opt_float(best[top]) if np.isfinite(best[top]) else None,
            "class": name(int(classes[best_class[top]])),
        },
    }


def probe_scores(
    references: Any,
    predictions: Any,
    *,
    positive_scores: Any = None,
    groups: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Accuracy and macro-F1 of a probe (plus AUROC of ``positive_scores`` for binary labels 0/1, and the
    same scores per group, e.g. per codon position)."""
    y = _labels("references", references)
    p = _labels("predictions", predictions, y.size)
    out: dict[str, Any] = {
        "n": int(y.size),
        "accuracy": float(np.mean(y == p)),
        "macro_f1": macro_f1(y, p),
        "balanced_accuracy": balanced_accuracy(y, p),
        "majority_share": float(np.max(np.bincount(y - y.min())) / y.size),
        "chance_balanced_accuracy": 1.0 / len(np.unique(y)),
    }
    if positive_scores is not None:
        s = np.asarray(positive_scores, dtype=np.float64)
        if not set(np.unique(y)) <= {0, 1}:
            raise ConfigError("AUROC needs binary references (0/1)")
        out["auroc"] = auroc(s, y == 1)
    if groups is not None:
        g = np.asarray([str(v) for v in groups])
        if g.size != y.size:
            raise ConfigError(f"groups must have one entry per label ({y.size}); got {g.size}")
        out["by_group"] = {
            str(k): {"n": int(np.sum(g == k)), "accuracy": float(np.mean(y[g == k] == p[g == k])),
                     "macro_f1": macro_f1(y[g == k], p[g == k])}
            for k in sorted(set(g.tolist()))
        }  # fmt: skip
    return out


def _importance(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ConfigError("no neuron importances given")
    if not np.isfinite(v).all():
        raise ConfigError("neuron importances must be finite")
    return np.clip(v, 0.0, None)


def gini(values: Any) -> float | None:
    """Gini coefficient of the importances clipped at 0 (0 = evenly spread, -> 1 = one neuron); None if
    every importance is 0."""
    v = np.sort(_importance(values))
    total = v.sum()
    if total <= 0:
        return None
    n = v.size
    return float((2.0 * np.sum(np.arange(1, n + 1) * v)) / (n * total) - (n + 1) / n)


def half_effect_count(values: Any) -> int | None:
    """Fewest neurons (most important first) whose importances sum to at least half of the total."""
    v = np.sort(_importance(values))[::-1]
    total = v.sum()
    if total <= 0:
        return None
    return int(np.searchsorted(np.cumsum(v), 0.5 * total - 1e-12 * total) + 1)


def importance_summary(
    baseline: dict[str, float], ablated: Sequence[dict[str, float]], indices: Sequence[int] | None = None
) -> dict[str, Any]:
    """Per-neuron drops from ``baseline`` ({accuracy, bits_per_nt}) and how the effect is spread.

    ``delta_accuracy`` = baseline - ablated (> 0: the neuron helped), ``delta_bits`` = ablated - baseline
    (> 0: the neuron helped); importance = ``delta_bits``. Returns per_neuron, the ranking (most important
    first), gini, half_effect_neurons and the total effect.
    """
    if not ablated:
        raise ConfigError("no ablation results given")
    idx = list(range(len(ablated))) if indices is None else [int(i) for i in indices]
    if len(idx) != len(ablated):
        raise ConfigError(f"{len(ablated)} ablation results but {len(idx)} neuron indices")
    per = [
        {"index": i, "delta_accuracy": float(baseline["accuracy"] - a["accuracy"]),
         "delta_bits": float(a["bits_per_nt"] - baseline["bits_per_nt"])}
        for i, a in zip(idx, ablated, strict=True)
    ]  # fmt: skip
    bits = np.array([p["delta_bits"] for p in per])
    order = np.argsort(-bits, kind="stable")
    return {
        "per_neuron": per,
        "ranking": [idx[int(k)] for k in order],
        "gini": gini(bits),
        "half_effect_neurons": half_effect_count(bits),
        "total_delta_bits": float(np.clip(bits, 0, None).sum()),
    }


def split_half_reliability(first: Any, second: Any) -> dict[str, float | None]:
    """How reproducible per-neuron effects are: Pearson r between the effects measured on two disjoint
    halves of the sites, and the Spearman-Brown reliability of the full-set estimate, 2r / (1 + r)."""
    a = np.asarray(first, dtype=np.float64).ravel()
    b = np.asarray(second, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size < 3:
        raise ConfigError("split-half reliability needs >= 3 neurons measured on both halves")
    if a.std() == 0 or b.std() == 0:
        return {"r": None, "spearman_brown": None}
    r = float(np.corrcoef(a, b)[0, 1])
    return {"r": r, "spearman_brown": 2 * r / (1 + r) if r > -1 else None}


def importance_null(noise_sd: float, n_neurons: int, *, draws: int = 500, seed: int = 0) -> dict[str, Any]:
    """Gini and half-effect count of pure measurement noise: ``n_neurons`` effects drawn N(0, noise_sd)
    (no neuron matters), clipped at 0 like real effects. An observed Gini below the null's 95th
    percentile (or a half-effect count above its 5th) is what noise alone gives."""
    if n_neurons < 1 or draws < 1:
        raise ConfigError("the importance null needs >= 1 neuron and >= 1 draw")
    rng = np.random.default_rng(seed)
    g, h = [], []
    for _ in range(draws):
        v = rng.normal(0.0, max(noise_sd, 1e-300), n_neurons)
        gv, hv = gini(v), half_effect_count(v)
        if gv is not None and hv is not None:
            g.append(gv)
            h.append(hv)
    if not g:
        return {"noise_sd": noise_sd, "gini": None, "half_effect_neurons": None}
    return {
        "noise_sd": float(noise_sd),
        "draws": len(g),
        "gini": {"mean": float(np.mean(g)), "p95": float(np.quantile(g, 0.95))},
        "half_effect_neurons": {"mean": float(np.mean(h)), "p05": float(np.quantile(h, 0.05))},
    }
