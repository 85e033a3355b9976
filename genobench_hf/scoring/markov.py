"""Order-K Markov chain baseline (``markov:K``): the floor every DNA language model must beat.

Counts. (k+1)-mers for every context length k = 0..K are counted on both strands; k-mers that contain a
non-ACGT symbol are skipped (sequences are split at them). Codes are 2-bit integers with the oldest base
most significant, so the context of length k-1 of a context h of length k is ``h % 4**(k-1)``.
Contexts up to length 9 are stored as dense ``(4**k, 4)`` tables, longer ones as sorted (k+1)-mer codes
with their counts (memory grows with the distinct k-mers seen, not with ``4**K``).

Smoothing: interpolated, recursive down to a uniform order -1, combining absolute discounting (Ney, Essen
& Kneser 1994) with a per-order Dirichlet prior on the lower order (hierarchical Pitman-Yor style). With
c(h, b) the count of context h followed by b, c(h) = sum_b c(h, b), n(h) = #{b : c(h, b) > 0}, h' = h without
its oldest base, discount 0 <= D <= 1 and strength theta_k > 0::

    p_-1(b)    = 1/4
    p_k(b | h) = (max(c(h, b) - D, 0) + (D * n(h) + theta_k) * p_{k-1}(b | h')) / (c(h) + theta_k)

An unseen context (c(h) = 0) gives p_{k-1} exactly, so high K cannot collapse. Why theta: with 4 letters
absolute discounting alone (D <= 1) keeps trusting contexts seen a handful of times and two-sided bits
blow up above K = 8 on E. coli; theta_k is fitted by default as the value maximising the leave-one-out
log-likelihood of the training k-mers (each occurrence predicted with itself removed at every order,
searched on a log2 grid in [2^-4, 2^24]). The default D = 0 was best on held-out E. coli.

Scoring a site i of a window (the site itself is never read: leak-free):
- left-only: p(b | x_{i-m..i-1}) with m = min(K, length of the ACGT run ending at i-1): the context backs
  off at the window start, at N and at hidden sites.
- two-sided (exact Bayes for the chain): p(b | x_{-i}) ∝ p(b | left) * prod_{j=i+1..i+K} p(x_j | ctx_j with b
  at i), where ctx_j backs off like the left context. The product stops at the first non-ACGT position
  right of i (or the window end): later factors no longer see x_i, so they do not depend on b and cancel.
  Treating N as a context break (instead of summing over its 4 values) is the one approximation.
- imputation_dense: every hidden site of the window is treated as N while scoring any one of them, so each
  site is scored given x_{-S} only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genobench_hf.errors import ConfigError, InputError
from genobench_hf.scoring.base import ScoreRequest, SiteScores, normalise_log_scores

MAX_ORDER = 15  # (K+1)-mer codes fit in uint32
DENSE_MAX = 9  # contexts up to this length use dense tables (4**10 entries at most)
_INVALID = 4
_CHUNK = 1 << 22  # bases counted per step (bounds memory on chromosome-size inputs)
_SITE_CHUNK = 8192  # sites scored per vectorised step
_LUT = np.full(256, _INVALID, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _LUT[ord(_b)] = _LUT[ord(_b.lower())] = _i


def encode(seq: str) -> np.ndarray:
    """ACGT -> 0..3, anything else -> 4 (a context break), as uint8."""
    if not isinstance(seq, str):
        raise InputError(f"sequences must be str, got {type(seq).__name__}")
    return _LUT[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]


def _count_chunk(x: np.ndarray, n_starts: int, order: int, both_strands: bool) -> list[list[np.ndarray]]:
    """Per k: uint32 codes of the valid (k+1)-mers starting at 0..n_starts-1 of x [, reverse complements]."""
    bad = np.concatenate(([0], np.cumsum(x == _INVALID)))
    xs = np.where(x < 4, x, 0).astype(np.uint32)
    fwd = rev = np.zeros(0, dtype=np.uint32)
    out: list[list[np.ndarray]] = []
    for length in range(1, order + 2):
        n = min(n_starts, len(x) - length + 1)
        if n <= 0:
            out.append([])
            continue
        last = xs[length - 1 : length - 1 + n]
        fwd = (fwd[:n] * 4 + last) if length > 1 else last.copy()
        ok = bad[length : length + n] == bad[:n]
        out.append([fwd[ok]])
        if both_strands:  # reverse complement, oldest base most significant: add comp(last) on top
            rev = (rev[:n] + (3 - last) * np.uint32(4 ** (length - 1))) if length > 1 else 3 - last
            out[-1].append(rev[ok])
    return out


def _merge_sparse(pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sum (codes, counts) pieces into sorted unique codes with exact integer counts."""
    if len(pieces) <= 1:
        return pieces[0] if pieces else (np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32))
    codes = np.concatenate([p[0] for p in pieces])
    counts = np.concatenate([p[1] for p in pieces]).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    codes, counts = codes[order], counts[order]
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return codes[starts].astype(np.uint32), np.add.reduceat(counts, starts).astype(np.uint32)


@dataclass
class MarkovModel:
    """Counts of an order-K chain and its per-order strengths; probabilities are derived on demand."""

    order: int
    discount: float
    dense: list[np.ndarray]  # dense[k]: (4**k, 4) int64 counts for k <= min(order, DENSE_MAX)
    sparse: list[tuple[np.ndarray, np.ndarray]]  # (sorted (k+1)-mer codes, counts) for k > DENSE_MAX
    strengths: np.ndarray = field(default_factory=lambda: np.zeros(0))  # theta_k, k = 0..order
    _tables: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.order <= MAX_ORDER:
            raise ConfigError(f"Markov order must be in 0..{MAX_ORDER}, got {self.order}")
        if not 0.0 <= self.discount <= 1.0:
            raise ConfigError(f"Markov discount must be in [0, 1], got {self.discount}")
        self.strengths = np.asarray(self.strengths, dtype=np.float64)
        if len(self.strengths) and (len(self.strengths) != self.order + 1 or np.any(self.strengths <= 0)):
            raise ConfigError(f"need {self.order + 1} positive strengths, got {self.strengths.tolist()}")

    @classmethod
    def fit(
        cls,
        sequences: Iterable[str],
        order: int,
        *,
        both_strands: bool = True,
        discount: float = 0.0,
        strength: float | None = None,
    ) -> MarkovModel:
        """Count (k+1)-mers for k = 0..order; theta_k = ``strength`` or, if None, the leave-one-out estimate."""
        cls(order, discount, [], [])  # validate arguments before the (possibly long) count
        if strength is not None and not strength > 0:
            raise ConfigError(f"Markov strength must be > 0, got {strength}")
        n_dense = min(order, DENSE_MAX) + 1
        dense = [np.zeros(4 ** (k + 1), dtype=np.int64) for k in range(n_dense)]
        pieces: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(order + 1 - n_dense)]
        for seq in sequences:
            x = encode(seq)
            for start in range(0, len(x), _CHUNK):
                chunk = x[start : start + _CHUNK + order]
                for k, strands in enumerate(_count_chunk(chunk, _CHUNK, order, both_strands)):
                    if k < n_dense:
                        for codes in strands:
                            dense[k] += np.bincount(codes, minlength=4 ** (k + 1))
                    elif strands:
                        u, c = np.unique(np.concatenate(strands), return_counts=True)
                        pieces[k - n_dense].append((u, c.astype(np.uint32)))
                        if len(pieces[k - n_dense]) > 8:
                            pieces[k - n_dense] = [_merge_sparse(pieces[k - n_dense])]
        model = cls(order, discount, [d.reshape(-1, 4) for d in dense], [_merge_sparse(p) for p in pieces])
        model.strengths = model._loo_strengths() if strength is None else np.full(order + 1, float(strength))
        return model

    def _loo_strengths(self, max_types: int = 50_000, seed: int = 0) -> np.ndarray:
        """theta_k maximising the leave-one-out log-likelihood of the training k-mers, order by order.

        Each occurrence is predicted from counts with itself removed at every order, so theta_k is the
        weight of the lower order that generalises. One seeded sample of (K+1)-mer types (weighted by
        their counts) serves every order: its suffixes are the occurrences of the shorter k-mers.
        """
        d, thetas = self.discount, np.ones(self.order + 1)
        codes, w = self._types(self.order)
        if len(codes) > max_types:
            pick = np.sort(np.random.default_rng(seed).choice(len(codes), max_types, replace=False))
            codes, w = codes[pick], w[pick]
        if not len(codes):
            return thetas
        b, h, rows = codes & 3, codes >> 2, np.arange(len(codes))
        q = np.full(len(codes), 0.25)
        for k in range(self.order + 1):
            c = self._counts(k, h % 4**k)
            c[rows, b] -= 1
            tot, n_seen = c.sum(1), (c > 0).sum(1)
            base = (
                np.maximum(c[rows, b] - d, 0.0) + d * n_seen * q
            )  # LOO p = (base + theta q) / (tot + theta)
            log2_theta = 8.0
            for step in (4.0, 1.0, 0.25):  # coarse-to-fine search over log2(theta) in [-4, 24]
                grid = np.clip(log2_theta + step * np.arange(-3, 4), -4.0, 24.0)
                th = 2.0 ** grid[None, :]
                loglik = w @ np.log((base[:, None] + th * q[:, None]) / (tot[:, None] + th))
                log2_theta = float(grid[np.argmax(loglik)])
            thetas[k] = 2.0**log2_theta
            q = (base + thetas[k] * q) / (tot + thetas[k])
        return thetas

    def _types(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (k+1)-mer codes (int64) seen in training and their counts."""
        if k <= DENSE_MAX:
            flat = self.dense[k].ravel()
            codes = np.flatnonzero(flat)
            return codes.astype(np.int64), flat[codes].astype(np.float64)
        codes, cnt = self.sparse[k - DENSE_MAX - 1]
        return codes.astype(np.int64), cnt.astype(np.float64)

    # ---- derived quantities -------------------------------------------------------------------------
    @property
    def n_train_kmers(self) -> int:
        """Number of (K+1)-mers counted (both strands)."""
        return int(self._types(self.order)[1].sum())

    @property
    def fingerprint(self) -> str:
        """Short sha256 of the order, discount, strengths and counts: identifies a fitted model."""
        h = hashlib.sha256(f"{self.order}:{self.discount!r}".encode())
        for arr in [self.strengths, *self.dense, *(a for pair in self.sparse for a in pair)]:
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:16]

    def truncated(self, order: int) -> MarkovModel:
        """The same model at a lower order (shares arrays; theta_k does not depend on higher orders)."""
        if not 0 <= order <= self.order:
            raise ConfigError(f"cannot truncate an order-{self.order} model to order {order}")
        n_dense = min(order, DENSE_MAX) + 1
        return MarkovModel(
            order,
            self.discount,
            self.dense[:n_dense],
            self.sparse[: order + 1 - n_dense],
            self.strengths[: order + 1],
        )

    def _dense_tables(self) -> np.ndarray:
        """Interpolated p_k(b | h) for every context h of length k <= DENSE_MAX, concatenated by k."""
        if self._tables is None:
            prev, tables = np.full((1, 4), 0.25), []
            for k, counts in enumerate(self.dense):
                prev = self._step(k, counts.astype(np.float64), prev[np.arange(4**k) % len(prev)])
                tables.append(prev)
            self._tables = np.concatenate(tables)
        return self._tables

    def _step(self, k: int, c: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """One level of the recursion: counts (n, 4) and lower-order probabilities (n, 4) -> (n, 4)."""
        d, theta = self.discount, self.strengths[k]
        tot = c.sum(axis=1, keepdims=True)
        n_seen = (c > 0).sum(axis=1, keepdims=True)
        return (np.maximum(c - d, 0.0) + (d * n_seen + theta) * lower) / (tot + theta)

    def _counts(self, k: int, ctx: np.ndarray) -> np.ndarray:
        """(n, 4) float counts of the contexts ``ctx`` (codes of length k)."""
        if k <= DENSE_MAX:
            return self.dense[k][ctx].astype(np.float64)
        codes, cnt = self.sparse[k - DENSE_MAX - 1]
        out = np.zeros((len(ctx), 4))
        if not len(codes) or not len(ctx):
            return out
        keys = (ctx * 4).astype(np.uint32)
        order = np.argsort(keys)  # sorted queries make searchsorted cache-friendly (~15x faster)
        keys = keys[order]
        idx = np.searchsorted(codes, keys)
        for off in range(4):
            j = np.minimum(idx + off, len(codes) - 1)
            hit = (codes[j] >> 2) == (keys >> 2)
            out[order[hit], (codes[j[hit]] & 3).astype(np.intp)] = cnt[j[hit]]
        return out

    def _predict(self, ctx: np.ndarray, m: np.ndarray) -> np.ndarray:
        """(n, 4) probabilities given contexts ``ctx`` (n, K) (nearest base last) of usable length m."""
        big_k = self.order
        ctx = np.where(ctx < 4, ctx, 0).astype(np.int64)
        kd = min(big_k, DENSE_MAX)
        code = np.zeros(len(ctx), dtype=np.int64)
        for j in range(1, kd + 1):
            code += ctx[:, big_k - j] << (2 * (j - 1))
        md = np.minimum(m, kd)
        offsets = (4 ** np.arange(kd + 1) - 1) // 3
        p = self._dense_tables()[offsets[md] + code % (4**md)]
        act = np.flatnonzero(m > kd)
        if len(act):  # an unseen context has no seen extension: only rows seen so far go on
            act = act[self.dense[kd][code[act]].sum(axis=1) > 0]
        for k in range(kd + 1, big_k + 1):
            act = act[m[act] >= k]
            if not len(act):
                break
            code[act] += ctx[act, big_k - k] << (2 * (k - 1))
            c = self._counts(k, code[act])
            p[act] = self._step(k, c, p[act])
            act = act[c.sum(axis=1) > 0]
        return p

    # ---- scoring ------------------------------------------------------------------------------------
    def score_positions(self, codes: np.ndarray, positions: np.ndarray, *, two_sided: bool) -> np.ndarray:
        """(n, 4) p(b | context) at each position of an encoded sequence, each position hidden on its own.

        Non-ACGT codes (4) are context breaks; the base at a position itself is never read.
        """
        big_k = self.order
        pad = np.full(big_k, _INVALID, dtype=np.uint8)
        x = np.concatenate((pad, np.asarray(codes, dtype=np.uint8), pad))
        pos = np.asarray(positions, dtype=np.int64) + big_k
        out = np.empty((len(pos), 4))
        for s in range(0, len(pos), _SITE_CHUNK):
            out[s : s + _SITE_CHUNK] = self._score_chunk(x, pos[s : s + _SITE_CHUNK], two_sided)
        return out

    def _score_chunk(self, x: np.ndarray, pos: np.ndarray, two_sided: bool) -> np.ndarray:
        big_k, n = self.order, len(pos)
        seg = x[pos[:, None] + np.arange(-big_k, big_k + 1)]  # column K is the site
        seg[:, big_k] = _INVALID  # hide the site: nothing below can read the true base
        run = np.zeros((n, 2 * big_k + 2), dtype=np.int64)  # run[:, c]: ACGT run ending at column c-1
        for c in range(2 * big_k + 1):
            run[:, c + 1] = np.where(seg[:, c] < 4, run[:, c] + 1, 0)
        m_left = np.minimum(run[:, big_k], big_k)
        left = self._predict(seg[:, :big_k], m_left)
        if not two_sided or big_k == 0:
            return left
        # right factors j = i+t, t = 1..R where R = ACGT run starting at i+1 (capped at K)
        right_run = np.zeros(n, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        for t in range(1, big_k + 1):
            alive &= seg[:, big_k + t] < 4
            right_run += alive
        site, t = np.nonzero(np.arange(1, big_k + 1)[None, :] <= right_run[:, None])
        t = t + 1
        ctx = seg[site[:, None], t[:, None] + np.arange(big_k)]  # the K bases before j = i+t
        target = seg[site, big_k + t].astype(np.intp)
        m = np.minimum(t + m_left[site], big_k)
        ctx = np.repeat(ctx, 4, axis=0)
        cand = np.tile(np.arange(4, dtype=np.uint8), len(site))
        ctx[np.arange(len(ctx)), np.repeat(big_k - t, 4)] = cand  # b at i
        p = self._predict(ctx, np.repeat(m, 4))[np.arange(len(ctx)), np.repeat(target, 4)]
        keys = np.repeat(site, 4) * 4 + cand
        right = np.bincount(keys, weights=np.log(p), minlength=4 * n).reshape(n, 4)
        return normalise_log_scores(np.log(left) + right)

    def log2_prob_left(self, window: str, site: int) -> np.ndarray:
        """(4,) log2 p(b | x_{site-K..site-1}); backs off at the window start and at non-ACGT bases."""
        return np.log2(self.score_positions(encode(window), np.array([site]), two_sided=False)[0])

    def probs_two_sided(self, window: str, site: int) -> np.ndarray:
        """(4,) p(b | x_{-site}) over the window, exact Bayes for the chain (see the module docstring)."""
        return self.score_positions(encode(window), np.array([site]), two_sided=True)[0]

    # ---- persistence --------------------------------------------------------------------------------
    def metadata(self) -> dict[str, object]:
        return {
            "format": "genobench-markov/1",
            "order": self.order,
            "discount": self.discount,
            "strengths": self.strengths.tolist(),
            "n_train_kmers": self.n_train_kmers,
            "fingerprint": self.fingerprint,
        }

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.npz, metadata JSON embedded) and a human-readable ``<path>.json`` beside it."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        meta = json.dumps(self.metadata(), indent=2)
        arrays = {f"dense_{k}": a for k, a in enumerate(self.dense)}
        for i, (codes, cnt) in enumerate(self.sparse):
            arrays[f"sparse_codes_{i}"], arrays[f"sparse_counts_{i}"] = codes, cnt
        arrays["strengths"] = self.strengths
        arrays["metadata"] = np.frombuffer(meta.encode(), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)
        path.with_suffix(".json").write_text(meta + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> MarkovModel:
        """Read a model written by :meth:`save`; the fingerprint is checked against the counts."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(bytes(z["metadata"]).decode())
                order = int(meta["order"])
                n_dense = min(order, DENSE_MAX) + 1
                dense = [z[f"dense_{k}"] for k in range(n_dense)]
                sparse = [
                    (z[f"sparse_codes_{i}"], z[f"sparse_counts_{i}"]) for i in range(order + 1 - n_dense)
                ]
                strengths = z["strengths"]
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"not a genobench Markov model file ({exc})", path=path) from exc
        model = cls(order, float(meta["discount"]), dense, sparse, strengths)
        if model.fingerprint != meta.get("fingerprint"):
            raise InputError("Markov model counts do not match the stored fingerprint", path=path)
        return model


def select_order(
    train: Iterable[str] | Callable[[], Iterable[str]],
    validation: Sequence[str],
    orders: Sequence[int] = range(1, 13),
    *,
    n_sites: int = 20000,
    seed: int = 0,
    two_sided: bool = True,
    discount: float = 0.0,
) -> tuple[int, dict[int, float]]:
    """Fit once at max(orders), score seeded validation sites at each order; return the best K and bits.

    Sites are drawn uniformly over the ACGT positions of ``validation`` with each whole sequence as
    context; ties go to the smaller order.
    """
    orders = sorted(set(orders))
    if not orders:
        raise ConfigError("select_order needs at least one candidate order")
    model = MarkovModel.fit(train() if callable(train) else train, orders[-1], discount=discount)
    codes = [encode(s) for s in validation]
    x = np.concatenate([np.concatenate((c, [_INVALID])) for c in codes]) if codes else np.zeros(0, np.uint8)
    acgt = np.flatnonzero(x < 4)
    if not len(acgt):
        raise InputError("the validation sequences hold no ACGT position")
    rng = np.random.default_rng(seed)
    pos = np.sort(rng.choice(acgt, size=min(n_sites, len(acgt)), replace=False))
    truth = x[pos].astype(np.intp)
    bits = {}
    for k in orders:
        p = model.truncated(k).score_positions(x, pos, two_sided=two_sided)
        bits[k] = float(-np.log2(p[np.arange(len(pos)), truth]).mean())
    best = min(orders, key=lambda k: (bits[k], k))
    return best, bits


class MarkovScorer:
    """The :class:`~genobench_hf.scoring.base.Scorer` of a fitted chain; supports all three protocols.

    ``batch_size`` is ignored: sites are vectorised in chunks of several thousand whatever the caller asks.
    """

    def __init__(self, model: MarkovModel) -> None:
        self.model = model
        self.name = f"markov:{model.order}"

    def skip_reason(self, protocol: str) -> str | None:
        if protocol in ("imputation", "next_nucleotide", "imputation_dense"):
            return None
        return f"unknown protocol {protocol!r}"

    def score(self, requests: Sequence[ScoreRequest], batch_size: int = 1) -> list[SiteScores]:
        """Score all requests at once: windows are joined with K-long breaks so contexts never cross."""
        if not requests:
            return []
        for req in requests:
            reason = self.skip_reason(req.protocol)
            if reason is not None:
                raise ConfigError(reason)
        gap = "N" * max(self.model.order, 1)  # contexts never cross from one window into the next
        starts = np.cumsum([0] + [len(r.window) + len(gap) for r in requests[:-1]]).tolist()
        x = encode(gap.join(r.window for r in requests))
        pos = np.fromiter(
            (s + st for r, st in zip(requests, starts, strict=True) for s in r.sites), dtype=np.int64
        )
        n_sites = [len(r.sites) for r in requests]
        dense = np.repeat([r.protocol == "imputation_dense" for r in requests], n_sites)
        two = np.repeat([r.protocol != "next_nucleotide" for r in requests], n_sites)
        x[pos[dense]] = _INVALID  # dense: every hidden site is unknown to every other (only x_{-S} is read)
        probs = np.empty((len(pos), 4))
        for flag in (True, False):
            sel = np.flatnonzero(two == flag)
            if len(sel):
                probs[sel] = self.model.score_positions(x, pos[sel], two_sided=flag)
        bounds = np.cumsum([0, *n_sites]).tolist()
        return [
            SiteScores(probs[a:b], np.zeros(b - a), path="markov", approximate=False)
            for a, b in itertools.pairwise(bounds)
        ]
