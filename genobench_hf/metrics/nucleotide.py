"""Scores of single-nucleotide imputation (DESIGN.md "Imputation protocols"), one implementation.

Every number a report shows for tests 1 (accuracy, bits per nucleotide, ECE, confusion, GC bins, micro and
macro averages with bootstrap intervals) is computed here; the runner and the ``metrics/`` evaluate
modules both call :func:`nucleotide_metrics`, so the two can never disagree.

Ties share the credit: the bases whose probability is within :data:`TIE_TOLERANCE` of the maximum are
all "predicted", each with weight 1/(number tied), so a site's correctness is the EXPECTED accuracy under
a uniformly random tie-break (0.25 for a uniform prediction, whatever the true base). No seed is involved,
and a uniform model's accuracy is exactly 0.25 instead of the share of A among the targets (which an
argmax that breaks ties toward A would report). The confusion matrix spreads each site the same way, so
its diagonal sums to n * accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError
from genobench_hf.metrics._checks import (
    BASES,
    PROB_FLOOR,
    check_labels,
    check_probs_targets,
    check_vector,
    safe_mean,
)
from genobench_hf.metrics.bootstrap import bootstrap_means, check_ci, percentile_intervals
from genobench_hf.metrics.transfer import CHANCE_BITS

#: GC bins of the window without the site (fraction GC); the last bin is closed at 1.0.
GC_EDGES: tuple[float, ...] = (0.0, 0.3, 0.4, 0.5, 0.6, 1.0)
N_CALIBRATION_BINS = 15
#: probabilities this close to a site's maximum count as tied (float round-off of equal scores)
TIE_TOLERANCE = 1e-12


def prediction_weights(probs: np.ndarray) -> np.ndarray:
    """(n, 4) weights of each base as the prediction: 1/(number tied) on the tied maxima, 0 elsewhere."""
    tied = probs >= probs.max(axis=1, keepdims=True) - TIE_TOLERANCE
    return tied / tied.sum(axis=1, keepdims=True)


def site_scores(probs: Any, targets: Any) -> dict[str, np.ndarray]:
    """Per-site arrays every score is built from: prediction weights, correct, bits, confidence (validated)."""
    p, t = check_probs_targets(probs, targets)
    p_true = p[np.arange(t.size), t]
    weights = prediction_weights(p)
    return {
        "probs": p,
        "targets": t,
        "weights": weights,
        "correct": weights[np.arange(t.size), t],  # expected correctness under random tie-breaking
        "bits": -np.log2(np.maximum(p_true, PROB_FLOOR)),
        "confidence": p.max(axis=1),
        "floored": p_true < PROB_FLOOR,
    }


def _calibration_bin(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins [k/B, (k+1)/B) on the top-label confidence; confidence 1.0 joins the last bin."""
    return np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Per-bin counts, mean confidence and accuracy (all bins, empty ones with None) for calibration plots."""
    if n_bins < 1:
        raise ConfigError(f"n_bins must be >= 1; got {n_bins}")
    b = _calibration_bin(confidence, n_bins)
    n = np.bincount(b, minlength=n_bins)
    conf_sum = np.bincount(b, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(b, weights=correct, minlength=n_bins)
    return [
        {
            "lower": k / n_bins,
            "upper": (k + 1) / n_bins,
            "n": int(n[k]),
            "mean_confidence": safe_mean(conf_sum[k], int(n[k])),
            "accuracy": safe_mean(acc_sum[k], int(n[k])),
        }
        for k in range(n_bins)
    ]


def _ece_from_bins(bins: list[dict[str, Any]], n_total: int) -> float:
    """Sum over bins of (n_b / n) * |accuracy_b - confidence_b|."""
    return float(
        sum(b["n"] / n_total * abs(b["accuracy"] - b["mean_confidence"]) for b in bins if b["n"] > 0)
    )


def expected_calibration_error(probs: Any, targets: Any, n_bins: int = N_CALIBRATION_BINS) -> float:
    """Top-label ECE with ``n_bins`` equal-width bins on the max probability (DESIGN.md: 15 bins)."""
    s = site_scores(probs, targets)
    return _ece_from_bins(reliability_bins(s["confidence"], s["correct"], n_bins), s["targets"].size)


def confusion_matrix(targets: np.ndarray, weights: np.ndarray) -> list[list[float]]:
    """4x4 (expected) counts: rows = true A,C,G,T, columns = predicted A,C,G,T; a site whose maximum is
    tied between j bases adds 1/j to each of their columns (``weights`` from :func:`prediction_weights`)."""
    counts = np.zeros((4, 4))
    np.add.at(counts, targets, weights)
    return counts.tolist()


def accuracy_by_bins(
    values: Any, correct: np.ndarray, bits: np.ndarray, edges: Sequence[float]
) -> list[dict[str, Any]]:
    """Accuracy and bits per bin of a per-site covariate (GC, conservation); NaN values are left out.

    Bins are [edges[k], edges[k+1]) and the last is closed, so a covariate of exactly 1.0 is counted.
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ConfigError(f"bin edges must be a strictly increasing list of >= 2 numbers; got {list(edges)}")
    v = check_vector("bin values", values, correct.size, allow_nan=True)
    ok = ~np.isnan(v)
    if np.any((v[ok] < e[0]) | (v[ok] > e[-1])):
        raise ConfigError(
            f"bin values must lie in [{e[0]}, {e[-1]}]; got min {v[ok].min()}, max {v[ok].max()}"
        )
    nb = e.size - 1
    b = np.minimum(np.searchsorted(e, v[ok], side="right") - 1, nb - 1)
    n = np.bincount(b, minlength=nb)
    acc = np.bincount(b, weights=correct[ok], minlength=nb)
    bit = np.bincount(b, weights=bits[ok], minlength=nb)
    return [
        {
            "lower": float(e[k]),
            "upper": float(e[k + 1]),
            "n": int(n[k]),
            "accuracy": safe_mean(acc[k], int(n[k])),
            "bits_per_nt": safe_mean(bit[k], int(n[k])),
        }
        for k in range(nb)
    ]


def _per_base(targets: np.ndarray, correct: np.ndarray, bits: np.ndarray) -> dict[str, dict[str, Any]]:
    n = np.bincount(targets, minlength=4)
    acc = np.bincount(targets, weights=correct, minlength=4)
    bit = np.bincount(targets, weights=bits, minlength=4)
    return {
        base: {"n": int(n[i]), "accuracy": safe_mean(acc[i], int(n[i])), "bits": safe_mean(bit[i], int(n[i]))}
        for i, base in enumerate(BASES)
    }


def nucleotide_metrics(
    probs: Any,
    targets: Any,
    *,
    genome_ids: Sequence[str] | None = None,
    gc: Any = None,
    mass_outside: Any = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> dict[str, Any]:
    """Every test-1 score of one (task, dataset) as a JSON-ready dict.

    ``probs`` (n, 4) over A,C,G,T (rows within 1e-6 of 1 are renormalised, others raise ConfigError),
    ``targets`` (n,) ints 0..3. ``genome_ids`` adds per-genome and macro (mean of per-genome means) scores
    with a cluster bootstrap over genomes; ``gc`` (fraction GC of each window without its site, NaN =
    undefined) adds GC bins; ``mass_outside`` (NaN = undefined) is averaged over defined sites.
    Micro intervals resample sites i.i.d.; intervals are percentile intervals, seeded and deterministic.
    """
    check_ci(n_bootstrap, ci)
    s = site_scores(probs, targets)
    t, correct, bits = s["targets"], s["correct"], s["bits"]
    n = t.size
    accuracy = float(correct.mean())
    bits_per_nt = float(bits.mean())
    bins = reliability_bins(s["confidence"], correct, N_CALIBRATION_BINS)
    out: dict[str, Any] = {
        "n_scored": int(n),
        "accuracy": accuracy,
        "bits_per_nt": bits_per_nt,
        "gain_over_chance_bits": CHANCE_BITS - bits_per_nt,
        "chance_bits": CHANCE_BITS,
        "ece": _ece_from_bins(bins, n),
        "reliability": bins,
        "confusion": confusion_matrix(t, s["weights"]),
        "per_base": _per_base(t, correct, bits),
        "n_prob_floored": int(s["floored"].sum()),
    }
    if gc is not None:
        g = check_vector("gc", gc, n, allow_nan=True)
        out["accuracy_by_gc"] = accuracy_by_bins(g, correct, bits, GC_EDGES)
        out["n_gc_missing"] = int(np.isnan(g).sum())
    if mass_outside is not None:
        m = check_vector("mass_outside", mass_outside, n, allow_nan=True)
        out["mass_outside_mean"] = None if np.isnan(m).all() else float(np.nanmean(m))
    else:
        out["mass_outside_mean"] = None

    seq_micro, seq_macro = np.random.SeedSequence(seed).spawn(2)
    genome_means: np.ndarray | None = None
    if genome_ids is not None:
        ids = check_labels("genome_ids", genome_ids, n)
        names, codes = np.unique(ids, return_inverse=True)
        counts = np.bincount(codes)
        acc_g = np.bincount(codes, weights=correct) / counts
        bits_g = np.bincount(codes, weights=bits) / counts
        genome_means = np.stack([acc_g, bits_g], axis=1)
        out["per_genome"] = {
            str(name): {"n": int(counts[i]), "accuracy": float(acc_g[i]), "bits_per_nt": float(bits_g[i])}
            for i, name in enumerate(names)
        }
        out["macro"] = {
            "accuracy": float(acc_g.mean()),
            "bits_per_nt": float(bits_g.mean()),
            "n_genomes": int(names.size),
        }

    if n_bootstrap == 0:
        out["ci"] = None
        return out
    micro = bootstrap_means(np.stack([correct, bits], axis=1), n_bootstrap, np.random.default_rng(seq_micro))
    acc_ci, bits_ci = percentile_intervals(micro, ci)
    intervals: dict[str, Any] = {
        "level": float(ci),
        "n_bootstrap": int(n_bootstrap),
        "accuracy": acc_ci,
        "bits_per_nt": bits_ci,
    }
    if genome_means is not None:
        # One genome cannot show between-genome spread: no interval rather than a zero-width one.
        if genome_means.shape[0] >= 2:
            macro = bootstrap_means(genome_means, n_bootstrap, np.random.default_rng(seq_macro))
            intervals["macro_accuracy"], intervals["macro_bits_per_nt"] = percentile_intervals(macro, ci)
        else:
            intervals["macro_accuracy"] = intervals["macro_bits_per_nt"] = None
    out["ci"] = intervals
    return out


__all__ = [
    "GC_EDGES",
    "N_CALIBRATION_BINS",
    "TIE_TOLERANCE",
    "accuracy_by_bins",
    "confusion_matrix",
    "expected_calibration_error",
    "nucleotide_metrics",
    "prediction_weights",
    "reliability_bins",
    "site_scores",
]
