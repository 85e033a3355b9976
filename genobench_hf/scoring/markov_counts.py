"""k-mer counting for the Markov chain: every (k+1)-mer, k = 0..K, on both strands, in one pass.

Codes are 2-bit integers with the oldest base most significant; k-mers containing a non-ACGT symbol are
skipped. Why one pass: only the (K+1)-mers are coded and sorted (one ``np.unique``); every shorter
(k+1)-mer is the prefix of the (K+1)-mer that starts at the same position of its strand, so its counts
are prefix sums over the sorted (K+1)-mer table, level by level. The (k+1)-mers whose (K+1)-mer would
cross a break are the "edges": on the forward strand they lie inside the last K bases of an ACGT run,
on the reverse strand inside the first K bases (reverse-complemented). They are counted directly from
those short segments and added, so the counts equal a per-order count exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from genobench_hf.errors import InputError

MAX_ORDER = 15  # (K+1)-mer codes fit in uint32
DENSE_MAX = 9  # contexts up to this length use dense tables (4**10 entries at most)
INVALID = 4
_CHUNK = 1 << 22  # bases coded per step (bounds memory on chromosome-size inputs)
_LUT = np.full(256, INVALID, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _LUT[ord(_b)] = _LUT[ord(_b.lower())] = _i

Sparse = tuple[np.ndarray, np.ndarray]  # sorted uint32 (k+1)-mer codes, uint32 counts


def encode(seq: str) -> np.ndarray:
    """ACGT -> 0..3, anything else -> 4 (a context break), as uint8."""
    if not isinstance(seq, str):
        raise InputError(f"sequences must be str, got {type(seq).__name__}")
    return _LUT[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]


def _runs(s: np.ndarray) -> np.ndarray:
    """Start of every run of equal values in the sorted array ``s``, then ``len(s)``."""
    m = np.empty(len(s) + 1, dtype=bool)
    m[0] = m[-1] = True
    np.not_equal(s[1:], s[:-1], out=m[1:-1])
    return np.flatnonzero(m)


def _unique_counts(codes: np.ndarray) -> Sparse:
    """Sorted unique codes and their counts (sort + run lengths: several times faster than np.unique)."""
    if not len(codes):
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32)
    s = np.sort(codes)
    idx = _runs(s)
    return s[idx[:-1]].astype(np.uint32), np.diff(idx).astype(np.uint32)


def _prefix_level(table: Sparse, shift: int) -> Sparse:
    """Counts of the codes ``table`` shifted right by ``shift`` bits (their prefixes; already sorted)."""
    codes, counts = table
    if not len(codes):
        return table
    p = codes >> np.uint32(shift)
    idx = _runs(p)
    csum = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=csum[1:])
    return p[idx[:-1]], np.diff(csum[idx]).astype(np.uint32)


def _add(table: Sparse, extra: Sparse) -> Sparse:
    """Sum of two sorted (codes, counts) tables: ``extra`` is searched in and inserted into ``table``
    (O(n + m log n), no re-sort of the larger table)."""
    if len(extra[0]) > len(table[0]):
        table, extra = extra, table
    codes, counts = table
    if not len(extra[0]):
        return table
    pos = np.searchsorted(codes, extra[0])
    hit = pos < len(codes)
    hit[hit] = codes[pos[hit]] == extra[0][hit]
    counts = counts.copy()
    counts[pos[hit]] += extra[1][hit]
    new = ~hit
    return np.insert(codes, pos[new], extra[0][new]), np.insert(counts, pos[new], extra[1][new])


def _merge(pieces: list[Sparse]) -> Sparse:
    """Sum sorted (codes, counts) pieces into one table with exact integer counts."""
    if not pieces:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32)
    pieces = sorted(pieces, key=lambda p: -len(p[0]))
    out = pieces[0]
    for piece in pieces[1:]:
        out = _add(out, piece)
    return out


def _reverse_complement(codes: np.ndarray, length: int) -> np.ndarray:
    """Codes of the reverse complements: complement every base (x ^ 3), then reverse the 2-bit groups."""
    x = codes ^ np.uint32(4**length - 1)
    for shift, mask in ((2, 0x33333333), (4, 0x0F0F0F0F), (8, 0x00FF00FF), (16, 0x0000FFFF)):
        m, sh = np.uint32(mask), np.uint32(shift)
        x = ((x >> sh) & m) | ((x & m) << sh)
    return x >> np.uint32(32 - 2 * length)


def _kmer_codes(x: np.ndarray, n_starts: int, length: int, both_strands: bool) -> np.ndarray:
    """uint32 codes of the valid ``length``-mers starting at 0..n_starts-1 of x [and reverse complements]."""
    n = min(n_starts, len(x) - length + 1)
    if n <= 0:
        return np.zeros(0, dtype=np.uint32)
    bad = np.zeros(len(x) + 1, dtype=np.int32)
    np.cumsum(x == INVALID, out=bad[1:])
    ok = bad[length : length + n] == bad[:n]
    xs = np.where(x < 4, x, 0).astype(np.uint32)
    fwd = xs[:n].copy()
    for j in range(1, length):
        fwd <<= np.uint32(2)
        fwd |= xs[j : j + n]
    out = [fwd[ok]]
    if both_strands:
        out.append(_reverse_complement(fwd[ok], length))
    return np.concatenate(out)


def _edges(x: np.ndarray, order: int, both_strands: bool) -> np.ndarray:
    """The run ends whose k-mers (k <= order) have no (order+1)-mer to be a prefix of, INVALID-separated.

    Forward strand: the last ``order`` bases of each ACGT run; reverse strand: the reverse complement of
    the first ``order`` bases. Each segment sits in its own row of ``order + 1`` columns (last = break).
    """
    valid = np.concatenate(([False], x < 4, [False]))
    d = np.diff(valid.astype(np.int8))
    a, b = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    width = np.minimum(b - a, order)
    col = np.arange(order + 1)
    rows = []
    tail = b[:, None] - width[:, None] + col  # forward: x[b - w : b]
    rows.append(np.where(col < width[:, None], x[np.minimum(tail, len(x) - 1)], INVALID))
    if both_strands:  # reverse: comp(x[a + w - 1]), ..., comp(x[a])
        head = a[:, None] + width[:, None] - 1 - col
        comp = 3 - x[np.clip(head, 0, len(x) - 1)].astype(np.int16)
        rows.append(np.where(col < width[:, None], comp, INVALID))
    return np.concatenate(rows).astype(np.uint8).ravel()


def count_kmers(
    sequences: Iterable[str], order: int, both_strands: bool = True
) -> tuple[list[np.ndarray], list[Sparse]]:
    """Counts of every (k+1)-mer, k = 0..order: dense ``(4**(k+1),)`` int64 arrays for k <= DENSE_MAX,
    sorted (uint32 codes, uint32 counts) pairs above."""
    top_pieces: list[Sparse] = []
    buffer: list[np.ndarray] = []  # raw (K+1)-mer codes: one sort of many chunks beats merging tables
    edge_rows: list[np.ndarray] = []
    for seq in sequences:
        x = encode(seq)
        for start in range(0, len(x), _CHUNK):
            chunk = x[start : start + _CHUNK + order]
            buffer.append(_kmer_codes(chunk, _CHUNK, order + 1, both_strands))
            if sum(map(len, buffer)) >= 4 * _CHUNK:
                top_pieces.append(_unique_counts(np.concatenate(buffer)))
                buffer = []
        if len(x):
            edge_rows.append(_edges(x, order, both_strands))
    if buffer:
        top_pieces.append(_unique_counts(np.concatenate(buffer)))
    table = _merge(top_pieces)
    edge_x = np.concatenate(edge_rows) if edge_rows else np.zeros(0, dtype=np.uint8)
    n_dense = min(order, DENSE_MAX) + 1
    sparse: list[Sparse] = [table]
    for k in range(order - 1, n_dense - 1, -1):  # prefixes of the (K+1)-mers, plus the edge k-mers
        table = _prefix_level(table, 2)
        sparse.append(_add(table, _edge_counts(edge_x, k)))
    dense = [np.zeros(4**n_dense, dtype=np.int64)]
    if order >= n_dense:
        dense[0] = np.bincount(table[0] >> np.uint32(2), weights=table[1], minlength=4**n_dense)
        dense[0] = dense[0].astype(np.int64)
    else:
        dense[0][table[0]] = table[1]
    for _ in range(n_dense - 1):  # a dense prefix level sums groups of 4 consecutive codes
        dense.append(dense[-1].reshape(-1, 4).sum(axis=1))
    dense.reverse()
    for k, arr in enumerate(dense):
        codes, counts = _edge_counts(edge_x, k)
        arr[codes] += counts
    return dense, sparse[::-1] if order >= n_dense else []


def _edge_counts(edge_x: np.ndarray, k: int) -> Sparse:
    """Counts of the (k+1)-mers inside the edge segments (see :func:`_edges`)."""
    return _unique_counts(_kmer_codes(edge_x, len(edge_x), k + 1, both_strands=False))
