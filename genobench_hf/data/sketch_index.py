"""Which sketches are similar, without comparing every pair: an inverted index over sketch hashes.

The bottom-k Jaccard estimate (``sketch.jaccard``) counts hashes found in both sketches, so two sketches
that share no hash estimate exactly 0. For any threshold > 0 the pairs that can reach it are therefore
among the pairs sharing at least one hash: sorting all (hash, sketch) entries once puts every shared
hash's sketches next to each other, and those runs give the candidate pairs. Only the candidates get
the exact ``jaccard`` (the same function, so the same values), which turns the O(N^2) serial loop into
O(total hashes * log) plus the work on pairs that really share sequence. A threshold <= 0 admits every
pair (an estimate is never negative), so that case compares all pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from genobench_hf.data.sketch import Sketch, jaccard


def all_pairs(sketches: Sequence[Sketch], threshold: float) -> list[tuple[int, int, float]]:
    """(i, j, Jaccard) for every i < j with Jaccard >= threshold, by comparing every pair (the reference)."""
    out = []
    for i, j in itertools.combinations(range(len(sketches)), 2):
        value = jaccard(sketches[i], sketches[j])
        if value >= threshold:
            out.append((i, j, value))
    return out


def candidate_pairs(sketches: Sequence[Sketch]) -> np.ndarray:
    """(n, 2) sorted unique index pairs i < j of sketches that share at least one hash."""
    sizes = np.array([len(s.hashes) for s in sketches], dtype=np.int64)
    if len(sketches) < 2 or not sizes.sum():
        return np.zeros((0, 2), dtype=np.int64)
    hashes = np.concatenate([s.hashes for s in sketches])
    owner = np.repeat(np.arange(len(sketches), dtype=np.int64), sizes)
    order = np.lexsort((owner, hashes))  # by hash, then sketch: owners ascend inside each run
    hashes, owner = hashes[order], owner[order]
    start = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
    length = np.diff(np.append(start, len(hashes)))
    shared = np.repeat(length > 1, length)  # entries of hashes held by two sketches or more
    owner, run_start, run_len = (
        owner[shared],
        np.repeat(start, length)[shared],
        np.repeat(length, length)[shared],
    )
    rank = np.arange(len(hashes))[shared] - run_start  # position inside the run
    pos = np.arange(len(owner))
    pairs = []
    d = 1
    active = np.flatnonzero(rank + 1 < run_len)  # entries with a partner d places further in their run
    while len(active):
        a, b = owner[active], owner[pos[active] + d]
        pairs.append((a * len(sketches) + b)[a != b])  # a repeated hash in one sketch is not a pair
        d += 1
        active = active[rank[active] + d < run_len[active]]
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(pairs))
    return np.stack((codes // len(sketches), codes % len(sketches)), axis=1)


def similar_pairs_indexed(sketches: Sequence[Sketch], threshold: float) -> list[tuple[int, int, float]]:
    """The same list as :func:`all_pairs` (same order, same values), from the candidates only."""
    ks = {s.k for s in sketches}
    if len(ks) > 1:
        raise ValueError(f"sketches use different k ({', '.join(map(str, sorted(ks)))})")
    if threshold <= 0:
        return all_pairs(sketches, threshold)
    out = []
    for i, j in candidate_pairs(sketches).tolist():  # already in (i, j) order, like combinations
        value = jaccard(sketches[i], sketches[j])
        if value >= threshold:
            out.append((i, j, value))
    return out
