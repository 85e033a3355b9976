"""Causal-LM scorer: left-only next-nucleotide scores and exact two-sided imputation by Bayes.

``next_nucleotide`` (char tokenizers): one forward over ``window[:last site]`` (after BOS if the
tokenizer has one); the score of site s is read from the logits at the position BEFORE s, restricted to
A, C, G, T and renormalised. Every site of a window comes from the same pass.

``imputation``: p(b | x_{-i}) ∝ p(window with b at i), computed over the 4 candidate windows (right
context optionally cut to ``right_context`` nt). For char tokenizers only the tokens from the site on are
summed (the earlier ones are the same in all four and cancel); other tokenizers (k-mer, BPE) go through
the generic candidate scorer with the tokenizer's canonical segmentation, summing every token.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from genobench_hf.alignment import NUCLEOTIDES, Aligner, TokenizerKind
from genobench_hf.errors import ModelError
from genobench_hf.scoring.base import Protocol_, ScoreRequest, SiteScores
from genobench_hf.scoring.candidate import CandidateScorer, check_protocols, combine
from genobench_hf.scoring.loading import LoadedModel, LoadedModelScorer

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
        autocast: bool | None = None,
    ) -> None:
        super().__init__(loaded, tokenizer_kind=tokenizer_kind, autocast=autocast)
        if right_context is not None and right_context < 0:
            raise ModelError(f"right_context must be >= 0, got {right_context}")
        self.char = self.tokenizer_kind.kind == "char"
        self._bayes = CandidateScorer(
            loaded,
            tokenizer_kind=self.tokenizer_kind,
            right_context=right_context,
            autocast=autocast,
            from_site=self.char,
            path="causal.bayes" if self.char else None,
        )
        if self.char:
            self.aligner = Aligner(loaded.tokenizer, self.tokenizer_kind)
            self._acgt = torch.from_numpy(self.aligner.align(NUCLEOTIDES, special=False).input_ids)
            self._prefix = np.array(loaded.causal_prefix(), dtype=np.int64)

    def skip_reason(self, protocol: Protocol_) -> str | None:
        return CAUSAL_DENSE_SKIP if protocol == "imputation_dense" else None

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        check_protocols(self, requests)
        if not self.char:
            return self._bayes.score(requests, batch_size)
        left = [j for j, q in enumerate(requests) if q.protocol == "next_nucleotide"]
        both = [j for j, q in enumerate(requests) if q.protocol != "next_nucleotide"]
        out: list[SiteScores | None] = [None] * len(requests)
        for idx, res in (
            (left, self._left([requests[j] for j in left], batch_size)),
            (both, self._bayes.score([requests[j] for j in both], batch_size) if both else []),
        ):
            for j, r in zip(idx, res, strict=True):
                out[j] = r
        return out  # type: ignore[return-value]

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
        for idx, logps in self.loaded.iter_log_probs(inputs, safe, batch_size, autocast=self.autocast):
            for j, lp in zip(idx, logps, strict=True):
                acgt = lp[:, self._acgt].numpy()
                ok = reads[j] >= 0  # a site with nothing before it (no BOS) stays uniform
                out[j].probs[ok] = combine(acgt[ok], np.ones(int(ok.sum())))
                out[j].mass_outside[ok] = 1.0 - np.exp(acgt[ok]).sum(axis=1)
        return out
