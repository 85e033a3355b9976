"""Bottom-k MinHash sketches of canonical k-mers, to find genomes that share sequence across taxa.

Splits must never put near-identical sequence (e.g. lambdoid phages, two pieces of one genome) on both
sides; comparing whole genomes k-mer by k-mer is too costly, so every genome is reduced to the ``s``
smallest 64-bit hashes of its canonical k-mers (Broder's bottom-k sketch; the Jaccard estimate of two
sketches is the share of the union's ``s`` smallest hashes found in both, as in Mash). Everything is
vectorised with numpy (2-bit codes, k-mer integers by doubling in the narrowest integer type, splitmix64
hashing) and processed in blocks, so memory stays flat for chromosome-size records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

DEFAULT_K = 21
DEFAULT_SIZE = 1000
_BLOCK = 1 << 15  # bases per vectorised block: small enough that the temporaries stay in L2 (2x faster)

_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[_b + 32] = _i  # lowercase
_CODE[ord("U")] = _CODE[ord("u")] = 3
_CODE_TABLE = _CODE.tobytes()  # the same map for bytes.translate


_DTYPES = ((4, np.uint8), (8, np.uint16), (16, np.uint32), (32, np.uint64))  # bases per integer


def _dtype(span: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned type that holds a packed ``span``-mer (2 bits per base)."""
    return next(dt for cap, dt in _DTYPES if span <= cap)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place: a fast, well-mixed 64-bit hash of k-mer integers (stable across runs)."""
    tmp = np.empty_like(x)
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        np.right_shift(x, np.uint64(shift), out=tmp)
        x ^= tmp
        x *= np.uint64(factor)
    np.right_shift(x, np.uint64(31), out=tmp)
    x ^= tmp
    return x


def _packed_kmers(c: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k-mer integers of both strands at every offset, by doubling (log2(k) passes instead of k).

    ``c`` holds 2-bit codes (uint8). A 2m-mer is its first m-mer shifted left by 2m bits OR its m-mer at
    offset m (reverse strand: the other way round); k is assembled from its binary digits, right to left
    (smallest piece first). Every intermediate uses the narrowest integer type that holds it, so the
    early passes move 1-4 bytes per base instead of 8.
    """
    parts: list[tuple[int, np.ndarray, np.ndarray]] = []  # (length, fwd, rev), increasing length
    span_f, span_r, span = c, np.uint8(3) - c, 1
    remaining = k
    while remaining:
        if remaining & 1:
            parts.append((span, span_f, span_r))
        remaining >>= 1
        if remaining:
            n2 = len(span_f) - span
            dt = _dtype(2 * span)
            if span_f.dtype != dt:
                span_f, span_r = span_f.astype(dt), span_r.astype(dt)
            shift = dt(2 * span)
            new_f = span_f[:n2] << shift
            new_f |= span_f[span:]
            new_r = span_r[span:] << shift
            new_r |= span_r[:n2]
            span_f, span_r, span = new_f, new_r, 2 * span
    acc, acc_f, acc_r = parts[0]  # the rightmost piece; each further piece goes to its left
    for length, part_f, part_r in parts[1:]:
        total = acc + length
        dt, m = _dtype(total), len(c) - total + 1
        new_f = part_f[:m].astype(dt)
        new_f <<= dt(2 * acc)
        new_f |= acc_f[length : length + m]
        new_r = acc_r[length : length + m].astype(dt)
        new_r <<= dt(2 * length)
        new_r |= part_r[:m]
        acc, acc_f, acc_r = total, new_f, new_r
    n = len(c) - k + 1
    return acc_f[:n].astype(np.uint64, copy=False), acc_r[:n].astype(np.uint64, copy=False)


def _code_hashes(codes: np.ndarray, k: int) -> np.ndarray:
    """Canonical k-mer hashes of a uint8 code array (``_CODE``; 4 = not ACGT, never inside a k-mer)."""
    if len(codes) - k + 1 <= 0:
        return np.empty(0, dtype=np.uint64)
    bad = codes == 4
    valid = None
    if bad.any():
        cumulative = np.concatenate(([0], np.cumsum(bad)))
        valid = (cumulative[k:] - cumulative[:-k]) == 0
        codes = np.minimum(codes, 3)
    fwd, rev = _packed_kmers(codes, k)
    np.minimum(fwd, rev, out=fwd)
    return _mix64(fwd if valid is None else fwd[valid])


def canonical_kmer_hashes(seq: str | bytes, k: int = DEFAULT_K) -> np.ndarray:
    """Hashes of every canonical k-mer made only of ACGT (a k-mer and its reverse complement hash alike)."""
    if not 1 <= k <= 31:
        raise ValueError("k must be in 1..31 (k-mers are packed in 64-bit integers)")
    data = seq.encode("ascii") if isinstance(seq, str) else seq
    return _code_hashes(_CODE[np.frombuffer(data, dtype=np.uint8)], k)


@dataclass
class Sketch:
    """The ``size`` smallest distinct hashes seen so far (sorted); add sequences with :meth:`update`."""

    k: int = DEFAULT_K
    size: int = DEFAULT_SIZE
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))

    def update(self, seq: str | bytes) -> Sketch:
        """Add every k-mer of one contiguous sequence (k-mers never span two records)."""
        if not 1 <= self.k <= 31:
            raise ValueError("k must be in 1..31 (k-mers are packed in 64-bit integers)")
        raw = seq.encode("ascii") if isinstance(seq, str) else bytes(seq)
        codes = np.frombuffer(raw.translate(_CODE_TABLE), dtype=np.uint8)  # one C pass, not per block
        step = _BLOCK
        for start in range(0, max(len(codes) - self.k + 1, 0), step):
            block = _code_hashes(codes[start : start + step + self.k - 1], self.k)
            if len(self.hashes) >= self.size:
                block = block[block < self.hashes[-1]]
                if not len(block):
                    continue
            if len(block) > self.size:
                block = np.partition(block, self.size - 1)[: self.size]
            merged = np.concatenate((self.hashes, block))
            merged.sort()  # then drop repeats: what np.unique does, without its hash-table path
            keep = np.empty(len(merged), dtype=bool)
            keep[:1] = True
            np.not_equal(merged[1:], merged[:-1], out=keep[1:])
            self.hashes = merged[keep][: self.size]
        return self

    @classmethod
    def of(cls, sequences: Iterable[str | bytes], k: int = DEFAULT_K, size: int = DEFAULT_SIZE) -> Sketch:
        sketch = cls(k=k, size=size)
        for seq in sequences:
            sketch.update(seq)
        return sketch


def jaccard(a: Sketch, b: Sketch) -> float:
    """Bottom-k estimate of the Jaccard index of the two k-mer sets (0.0 when either is empty)."""
    if a.k != b.k:
        raise ValueError(f"sketches use different k ({a.k} and {b.k})")
    size = min(a.size, b.size)
    if not len(a.hashes) or not len(b.hashes):
        return 0.0
    merged = np.concatenate((a.hashes, b.hashes))
    merged.sort()  # each sketch is sorted and distinct, so a hash in both appears exactly twice
    twice = merged[1:] == merged[:-1]
    union = merged[np.concatenate(([True], ~twice))][:size]  # the union's `size` smallest
    shared = np.count_nonzero(merged[1:][twice] <= union[-1])  # in both sketches and in that union
    return int(shared) / len(union)


def containment(a: Sketch, b: Sketch) -> float:
    """Share of the smaller set's sketched k-mers found in the other (below the larger one's cutoff).

    Jaccard misses a phage inside a 100x larger bacterial genome; this estimate does not (noisy when the
    small genome contributes few hashes below the large one's threshold). Reported, not used for merging.
    """
    small, large = (a, b) if (len(a.hashes) and len(b.hashes) and a.hashes[-1] >= b.hashes[-1]) else (b, a)
    if not len(small.hashes) or not len(large.hashes):
        return 0.0
    pool = small.hashes[small.hashes <= large.hashes[-1]]
    if not len(pool):
        return 0.0
    return float(np.isin(pool, large.hashes, assume_unique=True).mean())
