"""Scores of span imputation (test 2): nucleotide identity, accuracy by distance from the span edge, and
amino-acid recovery of infilled genes.

A position's edge distance is ``min(j, L - 1 - j)`` for position j (0-based) of a span of length L: the
number of hidden nucleotides between it and the nearest known context. Infill quality should fall with
it; the curve says how far a model carries context into a gap. Only truth positions that are A, C, G or T
are scored (N/IUPAC in the reference say nothing about the model), and comparisons are case-insensitive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError
from genobench_hf.metrics._checks import safe_mean

_ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)


def _as_bytes(name: str, seqs: Sequence[str]) -> np.ndarray:
    try:
        return np.frombuffer("".join(seqs).upper().encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        raise ConfigError(f"{name} must contain ASCII sequence letters only") from None


def _check_pairs(predicted: Sequence[str], truth: Sequence[str]) -> np.ndarray:
    """Span lengths after checking that predictions and truths pair up with equal, non-zero lengths."""
    if isinstance(predicted, str) or isinstance(truth, str):
        raise ConfigError("predicted and truth must be sequences of span strings, not single strings")
    if len(predicted) != len(truth):
        raise ConfigError(f"got {len(predicted)} predicted spans for {len(truth)} true spans")
    if not truth:
        raise ConfigError("no spans to score")
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        if not isinstance(p, str) or not isinstance(t, str):
            raise ConfigError(f"span {i}: predicted and truth must be strings")
        if len(p) != len(t):
            raise ConfigError(f"span {i}: predicted length {len(p)} differs from true length {len(t)}")
        if not t:
            raise ConfigError(f"span {i} is empty")
    return np.array([len(t) for t in truth], dtype=np.int64)


def _identity_block(span_idx: np.ndarray, match: np.ndarray, n_spans: int) -> dict[str, Any]:
    """Micro (over nucleotides) and macro (over spans with >= 1 scored position) identity of some spans."""
    n = np.bincount(span_idx, minlength=n_spans)
    hits = np.bincount(span_idx, weights=match, minlength=n_spans)
    scored = n > 0
    return {
        "n_nucleotides": int(n.sum()),
        "identity": safe_mean(hits.sum(), int(n.sum())),
        "macro_identity": float((hits[scored] / n[scored]).mean()) if scored.any() else None,
    }


def protein_recovery(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Identity of translated infills vs true proteins, position by position over the true length.

    A predicted protein shorter than the truth counts its missing residues as wrong; extra residues are
    ignored. ``exact`` is the share of genes recovered without a single amino-acid change.
    """
    if not pairs:
        raise ConfigError("amino_acids is empty: pass None when no gene was infilled")
    matches, lengths, exact = protein_matches(pairs)
    return {
        "n_genes": len(lengths),
        "n_residues": sum(lengths),
        "identity": sum(matches) / sum(lengths),
        "macro_identity": sum(m / n for m, n in zip(matches, lengths, strict=True)) / len(lengths),
        "exact": sum(exact) / len(lengths),
    }


def protein_matches(pairs: Sequence[tuple[str, str]]) -> tuple[list[int], list[int], list[bool]]:
    """Per gene: identical residues, true protein length, and whether it was recovered exactly (the
    quantities :func:`protein_recovery` pools; per-gene records keep them)."""
    matches, lengths, exact = [], [], []
    for i, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(s, str) for s in pair):
            raise ConfigError(f"amino_acids[{i}] must be a (predicted, true) pair of protein strings")
        pred, true = (s.upper() for s in pair)
        if not true:
            raise ConfigError(f"amino_acids[{i}]: the true protein is empty")
        matches.append(sum(a == b for a, b in zip(pred, true, strict=False)))
        lengths.append(len(true))
        exact.append(pred[: len(true)] == true and len(pred) >= len(true))
    return matches, lengths, exact


def span_matches(predicted: Sequence[str], truth: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per span: (scored nucleotides, matching nucleotides), the counts :func:`span_metrics` pools into
    identity; kept per span so that a paired comparison can resample whole spans."""
    lengths = _check_pairs(predicted, truth)
    pred_b, true_b = _as_bytes("predicted", predicted), _as_bytes("truth", truth)
    span_idx = np.repeat(np.arange(lengths.size), lengths)
    scored = np.isin(true_b, _ACGT)
    n = np.bincount(span_idx[scored], minlength=lengths.size)
    hits = np.bincount(span_idx[scored], weights=(pred_b == true_b)[scored], minlength=lengths.size)
    return n.astype(np.int64), hits.astype(np.int64)


def span_metrics(
    predicted: Sequence[str],
    truth: Sequence[str],
    *,
    amino_acids: Sequence[tuple[str, str]] | None = None,
    max_distance: int | None = None,
) -> dict[str, Any]:
    """Identity (micro over nucleotides, macro over spans), accuracy by edge distance and by span length.

    ``max_distance`` K groups every distance > K into one open bucket (``max_distance`` None in its
    entry); without it every observed distance gets its own bucket. ``amino_acids`` holds (predicted,
    true) protein pairs of the gene spans, already translated by the caller.
    """
    lengths = _check_pairs(predicted, truth)
    if max_distance is not None and (
        isinstance(max_distance, bool) or int(max_distance) != max_distance or max_distance < 0
    ):
        raise ConfigError(f"max_distance must be a non-negative integer; got {max_distance!r}")
    pred_b, true_b = _as_bytes("predicted", predicted), _as_bytes("truth", truth)
    n_spans = lengths.size
    starts = np.cumsum(lengths) - lengths
    span_idx = np.repeat(np.arange(n_spans), lengths)
    j = np.arange(true_b.size) - starts[span_idx]
    dist = np.minimum(j, lengths[span_idx] - 1 - j)
    scored = np.isin(true_b, _ACGT)
    match = (pred_b == true_b)[scored].astype(np.float64)
    span_idx, dist = span_idx[scored], dist[scored]
    out: dict[str, Any] = {"n_spans": int(n_spans), "n_unscored": int((~scored).sum())}
    out.update(_identity_block(span_idx, match, n_spans))

    top = int(dist.max(initial=0)) if max_distance is None else int(max_distance)
    bucket = np.minimum(dist, top + 1)
    n_b = np.bincount(bucket, minlength=top + 2)
    hit_b = np.bincount(bucket, weights=match, minlength=top + 2)
    edges = [
        {"min_distance": d, "max_distance": d, "n": int(n_b[d]), "accuracy": safe_mean(hit_b[d], int(n_b[d]))}
        for d in range(top + 1)
    ]
    if max_distance is not None:
        beyond = top + 1
        edges.append(
            {
                "min_distance": beyond,
                "max_distance": None,
                "n": int(n_b[beyond]),
                "accuracy": safe_mean(hit_b[beyond], int(n_b[beyond])),
            }
        )
    out["accuracy_by_edge_distance"] = edges

    by_length = []
    for length in np.unique(lengths):
        members = np.flatnonzero(lengths == length)
        keep = np.isin(span_idx, members)
        remap = np.searchsorted(members, span_idx[keep])
        by_length.append(
            {
                "length": int(length),
                "n_spans": int(members.size),
                **_identity_block(remap, match[keep], members.size),
            }
        )
    out["by_span_length"] = by_length
    out["aa_recovery"] = None if amino_acids is None else protein_recovery(amino_acids)
    return out
