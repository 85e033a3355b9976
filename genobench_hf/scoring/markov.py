"""Order-K Markov chain baseline (``markov:K``): the floor every DNA language model must beat.

Counts. (k+1)-mers for every context length k = 0..K are counted on both strands; k-mers that contain a
non-ACGT symbol are skipped (sequences are split at them). Codes are 2-bit integers with the oldest base
most significant, so the context of length k-1 of a context h of length k is ``h % 4**(k-1)``.
Contexts up to length 9 are stored as dense ``(4**k, 4)`` tables, longer ones as sorted (k+1)-mer codes
with their counts (memory grows with the distinct k-mers seen, not with ``4**K``). Counting lives in
``markov_counts``; order selection and the on-disk cache of fitted chains in ``markov_select``.

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
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genobench_hf.errors import ConfigError, InputError
from genobench_hf.scoring.base import ScoreRequest, SiteScores, normalise_log_scores
from genobench_hf.scoring.markov_counts import DENSE_MAX, INVALID, MAX_ORDER, count_kmers, encode

__all__ = ["MarkovModel", "MarkovScorer", "encode"]

_SITE_CHUNK = 8192  # sites scored per vectorised step


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
        dense, sparse = count_kmers(sequences, order, both_strands)
        model = cls(order, discount, [d.reshape(-1, 4) for d in dense], sparse)
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

    def reduced(self, order: int, *, strength: float | None = None) -> MarkovModel:
        """What :meth:`fit` at ``order`` returns on the same data, without recounting: the counts of the
        lower orders are exactly those of a fit at that order; theta_k is re-estimated the way ``fit``
        does (leave-one-out on the order-``order`` types, or the fixed ``strength``)."""
        model = self.truncated(order)
        model.strengths = model._loo_strengths() if strength is None else np.full(order + 1, float(strength))
        return model

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
        pad = np.full(big_k, INVALID, dtype=np.uint8)
        x = np.concatenate((pad, np.asarray(codes, dtype=np.uint8), pad))
        pos = np.asarray(positions, dtype=np.int64) + big_k
        out = np.empty((len(pos), 4))
        for s in range(0, len(pos), _SITE_CHUNK):
            out[s : s + _SITE_CHUNK] = self._score_chunk(x, pos[s : s + _SITE_CHUNK], two_sided)
        return out

    def _score_chunk(self, x: np.ndarray, pos: np.ndarray, two_sided: bool) -> np.ndarray:
        big_k, n = self.order, len(pos)
        seg = x[pos[:, None] + np.arange(-big_k, big_k + 1)]  # column K is the site
        seg[:, big_k] = INVALID  # hide the site: nothing below can read the true base
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

    def save(self, path: str | Path, *, compress: bool = True) -> Path:
        """Write ``path`` (.npz, metadata JSON embedded) and a human-readable ``<path>.json`` beside it.

        ``compress=False`` trades disk for speed (zlib takes seconds on the sparse tables of a high order).
        """
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
        write_atomically(path, lambda fh: (np.savez_compressed if compress else np.savez)(fh, **arrays))
        write_atomically(path.with_suffix(".json"), lambda fh: fh.write((meta + "\n").encode()))
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
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise InputError(f"not a genobench Markov model file ({exc})", path=path) from exc
        model = cls(order, float(meta["discount"]), dense, sparse, strengths)
        if model.fingerprint != meta.get("fingerprint"):
            raise InputError("Markov model counts do not match the stored fingerprint", path=path)
        return model


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; cached chains are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MarkovScorer:
    """The :class:`~genobench_hf.scoring.base.Scorer` of a fitted chain; supports all three protocols.

    ``batch_size`` is ignored: sites are vectorised in chunks of several thousand whatever the caller asks.
    """

    #: fitted on the train split of the evaluated kingdom (``contract.in_training_data``)
    trained_on_genobench_train = True

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
        x[pos[dense]] = INVALID  # dense: every hidden site is unknown to every other (only x_{-S} is read)
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
