"""Causal-LM scorer: left-only next-nucleotide scores and exact two-sided imputation by Bayes.

``next_nucleotide`` (char tokenizers): one forward over ``window[:last site]`` (after BOS if the
tokenizer has one); the score of site s is read from the logits at the position BEFORE s, restricted to
A, C, G, T and renormalised. Every site of a window comes from the same pass.

``imputation`` (and ``next_nucleotide`` for k-mer and BPE tokenizers, whose last token may hold more
than the site): exact Bayes, p(b | x_{-i}) ∝ p(window with b at i), the window's right side optionally
cut to ``right_context`` nt. p(window) is the product of p(token | earlier tokens) over ALL tokens of
the candidate window's canonical segmentation, the first given BOS; no per-token |V| correction, so
candidates with different token counts are compared by their full probabilities. The tokens all four
candidates share at the start cancel; the rest is computed with that shared prefix run once (KV cache,
:mod:`~genobench_hf.scoring.causal_prefix`), or on the 4 full windows where the model's cache fails a
one-time self-check (or ``prefix_cache=False``). Without BOS the first token has no probability: a site
where the candidates differ already in it is scored without it and labelled approximate.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

from genobench_hf.alignment import NUCLEOTIDES, TokenizerKind
from genobench_hf.errors import ModelError
from genobench_hf.scoring.base import Protocol_, ScoreRequest, SiteScores, normalise_log_scores
from genobench_hf.scoring.candidate import (
    CandidateScorer,
    Unit,
    candidates,
    causal_ids,
    check_protocols,
    collect,
    combine,
    shared_start,
)
from genobench_hf.scoring.causal_prefix import cache_agrees, prefix_scores, split_shared
from genobench_hf.scoring.frames import with_frames
from genobench_hf.scoring.loading import LoadedModel, LoadedModelScorer

PROBE_SITES = 3  # sites of the first batch on which the cached path is checked against full windows

CAUSAL_DENSE_SKIP = (
    "imputation_dense is defined for masked LMs only; a causal LM would need a different quantity"
)


class CausalLMScorer(LoadedModelScorer):
    """Scores causal LMs on ``next_nucleotide`` (left-only) and ``imputation`` (exact two-sided)."""

    model_kind = "causal"

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        tokenizer_kind: TokenizerKind | None = None,
        right_context: int | None = None,
        autocast: bool | str | None = None,
        prefix_cache: bool = True,
    ) -> None:
        super().__init__(loaded, tokenizer_kind=tokenizer_kind, autocast=autocast)
        if right_context is not None and right_context < 0:
            raise ModelError(f"right_context must be >= 0, got {right_context}")
        self.right_context = right_context
        self.char = self.tokenizer_kind.kind == "char"
        self._full = CandidateScorer(
            loaded, tokenizer_kind=self.tokenizer_kind, right_context=right_context, autocast=autocast
        )
        self.aligner = self._full.aligner
        self._prefix = np.array(loaded.causal_prefix(), dtype=np.int64)
        self._cache_ok: bool | None = None if prefix_cache else False
        if self.char:
            self._acgt = torch.from_numpy(self.aligner.align(NUCLEOTIDES, special=False).input_ids)

    def skip_reason(self, protocol: Protocol_) -> str | None:
        return CAUSAL_DENSE_SKIP if protocol == "imputation_dense" else None

    def path(self, protocol: Protocol_) -> str:
        """The scoring path a protocol goes through (recorded in the results)."""
        side = "left" if protocol == "next_nucleotide" else "bayes"
        return f"causal.{side}" if self.char else f"causal.{side}.{self.tokenizer_kind.kind}"

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        check_protocols(self, requests)
        left = [j for j, q in enumerate(requests) if self.char and q.protocol == "next_nucleotide"]
        both = sorted(set(range(len(requests))) - set(left))
        out: list[SiteScores | None] = [None] * len(requests)
        for idx, res in (
            (left, self._left([requests[j] for j in left], batch_size)),
            (both, self._bayes([requests[j] for j in both], batch_size)),
        ):
            for j, r in zip(idx, res, strict=True):
                out[j] = r
        return out  # type: ignore[return-value]

    def _bayes(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        """Exact Bayes over the 4 candidate windows of every site (module docstring)."""
        if not requests:
            return []
        units = self._full._units(requests)  # expanded, and re-cut by the frame rule for fixed-frame k-mers
        scores = np.zeros((len(units), 4))
        approx = [False] * len(units)
        cached: list[int] = []
        if self._cache_ok is not False:
            ids = [causal_ids(self.loaded, self.aligner, self._prefix, candidates(u)) for u in units]
            start = [shared_start(x) for x in ids]
            cached = [j for j in range(len(units)) if start[j] >= 1]  # no BOS, first token differs: full
            if cached and self._cache_ok is None:
                self._cache_ok = self._check_cache(
                    [units[j] for j in cached[:PROBE_SITES]], ids, start, cached
                )
            if cached and self._cache_ok:
                work = [split_shared(ids[j], start[j]) for j in cached]
                scores[cached] = prefix_scores(self.loaded, work, batch_size, autocast=self.autocast)
            else:
                cached = []
        full = sorted(set(range(len(units))) - set(cached))
        if full:
            got, _, full_approx = self._full.score_units([units[j] for j in full], batch_size)
            scores[full] = got.reshape(-1, 4)
            for j, a in zip(full, full_approx, strict=True):
                approx[j] = a
        probs = normalise_log_scores(scores)
        nan = np.full(1, np.nan)
        out = collect(requests, units, list(probs[:, None, :]), [nan] * len(units), "", approx)
        for q, r in zip(requests, out, strict=True):
            r.path = self.path(q.protocol)
        return with_frames(out, units)

    def _check_cache(
        self, probe: list[Unit], ids: list[list[np.ndarray]], start: list[int], cached: list[int]
    ) -> bool:
        """Run the first sites both ways once; a model without a cache, or whose cache does not
        reproduce the full windows (then with a warning), is scored on full windows from then on."""
        full, _, _ = self._full.score_units(probe, 64)
        work = [split_shared(ids[j], start[j]) for j in cached[: len(probe)]]
        exact = self.autocast is None and next(self.loaded.model.parameters()).dtype == torch.float32
        ok = cache_agrees(self.loaded, work, full.reshape(-1, 4), self.autocast, 1e-3 if exact else 0.5)
        if ok is False:
            warnings.warn(
                f"{self.name}: its KV cache does not reproduce full-window scores (it ignores position ids "
                "or the attention mask over the cache?); scoring the 4 full windows per site",
                stacklevel=3,
            )
        return bool(ok)

    def _left_view(self, request: ScoreRequest, n_prefix: int) -> tuple[str, np.ndarray]:
        """The nucleotides fed (everything before the last site) and, per site, the position whose logits
        predict it: the one BEFORE the site (reading at the site itself would be the off-by-one leak)."""
        sites = np.asarray(request.sites, dtype=np.int64)
        return request.window[: int(sites.max())], sites + n_prefix - 1

    def _left(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        """All sites of a request from one pass over the window up to (excluding) its last site."""
        if not requests:
            return []
        n_pre = len(self._prefix)
        inputs, reads = [], []
        for q in requests:
            seq, read = self._left_view(q, n_pre)
            ids = np.concatenate([self._prefix, self.aligner.align(seq, special=False).input_ids])
            self.loaded.check_length(max(len(ids), 1), len(seq))
            inputs.append(ids if len(ids) else np.array([self.loaded.tokenizer.pad_token_id or 0]))
            reads.append(read)
        out = [
            SiteScores(np.full((len(q.sites), 4), 0.25), np.full(len(q.sites), np.nan), "causal.left")
            for q in requests
        ]
        safe = [np.clip(r, 0, None) for r in reads]
        acgt_ids = self._acgt.numpy()
        targets = [np.broadcast_to(acgt_ids, (len(r), 4)) for r in safe]
        for idx, logps in self.loaded.iter_log_probs(
            inputs, safe, batch_size, autocast=self.autocast, targets=targets
        ):
            for j, lp in zip(idx, logps, strict=True):
                acgt = lp.numpy()
                ok = reads[j] >= 0  # a site with nothing before it (no BOS) stays uniform
                out[j].probs[ok] = combine(acgt[ok], np.ones(int(ok.sum())))
                out[j].mass_outside[ok] = 1.0 - np.exp(acgt[ok]).sum(axis=1)
        return out
