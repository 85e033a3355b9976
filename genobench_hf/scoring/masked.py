"""Masked-LM scorer: one forward per window for single-nucleotide and fixed-frame k-mer tokenizers.

Fixed-frame tokenizers (char = k-mers with k = 1; Nucleotide Transformer's non-overlapping 6-mers with a
single-nucleotide fallback; DNABERT-1's overlapping k-mers; any stride) cut a window at the same places
whatever ACGT base sits at a hidden site, so the window is segmented with its hidden sites set to a fixed
base (:func:`~genobench_hf.alignment.check_fixed_frame` asserts this per tokenizer), EVERY token covering
a hidden site is masked, and each masked token's distribution over the FULL vocabulary is marginalised
over the k-mers consistent with the known nucleotides at its other offsets (hidden sites and N are free).
Covering tokens are combined by the normalised geometric mean of ARCHITECTURE.md, which equals the
candidate scorer's rule when one site is hidden. Each unit is first re-cut by the frame rule
(:mod:`~genobench_hf.scoring.frames`): a drawn frame offset per site, and *free* positions (no data; their
tokens masked and marginalised like a hidden site's) where the frame needs them. BPE models go to the
candidate scorer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from genobench_hf.alignment import (
    NUCLEOTIDES,
    Aligner,
    Alignment,
    TokenizerKind,
    base_codes,
    check_fixed_frame,
    covering_pairs,
    kmer_strings,
)
from genobench_hf.errors import ModelError
from genobench_hf.scoring.base import Protocol_, ScoreRequest, SiteScores
from genobench_hf.scoring.candidate import (
    LOG_FLOOR,
    CandidateScorer,
    Unit,
    check_protocols,
    collect,
    combine,
    expand_units,
)
from genobench_hf.scoring.frames import FramedUnit, frame_units, with_frames
from genobench_hf.scoring.loading import LoadedModel, LoadedModelScorer

_CHUNK = 1 << 22  # (pair, k-mer, base) cells marginalised at once: bounds memory
BPE_DENSE_SKIP = (
    "imputation_dense is defined for masked LMs with single-nucleotide or fixed-frame k-mer tokens; "
    "BPE segmentation depends on the hidden bases"
)


@dataclass
class _Plan:
    """What one unit feeds the model and how to read the answer back."""

    ids: np.ndarray  # input ids with the covering tokens masked
    read: np.ndarray  # masked token positions (rows of the returned log-probs)
    site: np.ndarray  # per (site, covering token) pair: index of the hidden site
    row: np.ndarray  # per pair: row in ``read``
    start: np.ndarray  # per pair: first nucleotide of the token
    width: np.ndarray  # per pair: nucleotides in the token
    offset: np.ndarray  # per pair: offset of the site inside the token
    allowed: np.ndarray  # (len(seq), 4) bool: bases a position may hold (one-hot if known, all if free)
    n_sites: int
    sites_per_unit: list[int] = field(default_factory=list)


class MaskedLMScorer(LoadedModelScorer):
    """Scores masked LMs on ``imputation``, ``imputation_dense`` and ``next_nucleotide``."""

    model_kind = "masked"

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        tokenizer_kind: TokenizerKind | None = None,
        autocast: bool | None = None,
    ) -> None:
        super().__init__(loaded, tokenizer_kind=tokenizer_kind, autocast=autocast)
        self.path = f"masked.{self.tokenizer_kind.kind}"
        self._candidate: CandidateScorer | None = None
        if not self.tokenizer_kind.fixed_frame:
            self._candidate = CandidateScorer(loaded, tokenizer_kind=self.tokenizer_kind, autocast=autocast)
            return
        self.aligner = Aligner(loaded.tokenizer, self.tokenizer_kind)
        check_fixed_frame(self.aligner)
        self._tables: dict[int, torch.Tensor] = {}

    def skip_reason(self, protocol: Protocol_) -> str | None:
        return BPE_DENSE_SKIP if self._candidate is not None and protocol == "imputation_dense" else None

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        if self._candidate is not None:
            check_protocols(self, requests)
            return self._candidate.score(requests, batch_size)
        check_protocols(self, requests)
        units = self._units(requests)
        plans = [self._plan(u) for u in units]
        probs: list[np.ndarray] = [np.empty(0)] * len(units)
        mass: list[np.ndarray] = [np.empty(0)] * len(units)
        inputs, reads = [p.ids for p in plans], [p.read for p in plans]
        for idx, logps in self.loaded.iter_log_probs(inputs, reads, batch_size, autocast=self.autocast):
            batch = [plans[j] for j in idx]
            for j, p, m in zip(idx, *self._reduce(_merge(batch), torch.cat(logps)), strict=True):
                probs[j], mass[j] = p, m
        return with_frames(collect(requests, units, probs, mass, self.path), units)

    # -- hooks kept separate so that the leak tests can break them on purpose
    def _units(self, requests: Sequence[ScoreRequest]) -> list[Unit]:
        return frame_units(expand_units(requests), requests, self.aligner, pads=True)  # type: ignore[return-value]

    def _tokens_to_mask(self, alignment: Alignment, site: np.ndarray, token: np.ndarray) -> np.ndarray:
        """Every token that covers a hidden site (masking fewer leaks through overlapping k-mers)."""
        return np.unique(token)

    def _plan(self, unit: Unit) -> _Plan:
        a = self.aligner.align(unit.seq)
        self.loaded.check_length(len(a), len(unit.seq))
        hidden = np.asarray(unit.hidden, dtype=np.int64)
        free = np.asarray(unit.free if isinstance(unit, FramedUnit) else (), dtype=np.int64)
        site, token = covering_pairs(a, hidden)
        read = np.unique(token)  # every covering token is read ...
        ids = a.input_ids.copy()
        ids[self._tokens_to_mask(a, site, token)] = self.loaded.tokenizer.mask_token_id  # ... and masked
        ids[covering_pairs(a, free)[1]] = self.loaded.tokenizer.mask_token_id  # free positions hold no data
        start = a.spans[token, 0]
        codes = base_codes(unit.seq)
        codes[hidden] = -1
        codes[free] = -1
        allowed = np.ones((len(unit.seq), 4), dtype=bool)
        known = np.flatnonzero(codes >= 0)
        allowed[known] = np.eye(4, dtype=bool)[codes[known]]
        return _Plan(
            ids=ids, read=read, site=site, row=np.searchsorted(read, token), start=start,
            width=a.spans[token, 1] - start, offset=hidden[site] - start, allowed=allowed,
            n_sites=len(hidden), sites_per_unit=[len(hidden)],
        )  # fmt: skip

    def _table(self, width: int, vocab_size: int) -> torch.Tensor:
        """Vocabulary ids of all ACGT ``width``-mers (index order of :func:`kmer_strings`); a k-mer absent
        from the vocabulary points at an extra column of -inf."""
        if width not in self._tables:
            if width > 8:
                raise ModelError(f"tokens of {width} nt are too long for the fixed-frame path")
            if self.tokenizer_kind.kind == "char":
                ids = [self.aligner.align(b, special=False).input_ids[0] for b in NUCLEOTIDES]
            else:
                vocab = self.loaded.tokenizer.get_vocab()
                ids = [vocab.get(s, vocab_size) for s in kmer_strings(width)]
            self._tables[width] = torch.tensor(ids, dtype=torch.int64)
        return self._tables[width]

    def _marginals(
        self,
        padded: torch.Tensor,
        row: np.ndarray,
        fixed: np.ndarray,
        free: np.ndarray,
        offset: np.ndarray,
        w: int,
        vocab_size: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """For tokens of width ``w`` with the same number f of free offsets: log of the mass on the
        consistent k-mers with base b at the site (n, 4), and on all consistent k-mers (n,).

        Only the 4**f consistent k-mers are gathered (4 for a lone hidden site), never all 4**w.
        """
        free_at = np.nonzero(free)[1].reshape(len(row), -1)  # (n, f) free offsets, ascending
        combos = _combos(free_at.shape[1])  # (4**f, f) every assignment of bases to the free offsets
        powers = 4 ** (w - 1 - free_at)
        index = fixed[:, None] + np.einsum("cj,nj->nc", combos, powers)  # (n, 4**f) k-mer indices
        ids = self._table(w, vocab_size)[torch.from_numpy(index)]
        x = padded[torch.from_numpy(row)[:, None], ids]  # (n, 4**f) log p of each consistent k-mer
        site_digit = combos[:, (free_at == offset[:, None]).argmax(axis=1)].T  # (n, 4**f): base at the site
        is_b = torch.from_numpy(site_digit[:, :, None] == np.arange(4))
        marg = torch.logsumexp(torch.where(is_b, x[:, :, None], -torch.inf), dim=1)
        return marg, torch.logsumexp(x, dim=1)

    def _reduce(self, plan: _Plan, logp: torch.Tensor) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-site probabilities and mass outside the consistent k-mers, from the masked tokens' log-probs
        (``plan`` may be several units merged by :func:`_merge`; results come back split per unit)."""
        n_pairs, vocab_size = len(plan.site), logp.shape[1]
        padded = torch.cat([logp, torch.full((len(logp), 1), -torch.inf, dtype=logp.dtype)], dim=1)
        marg = torch.zeros(n_pairs, 4, dtype=torch.float64)
        total = torch.zeros(n_pairs, dtype=torch.float64)
        for w in np.unique(plan.width):
            group = np.flatnonzero(plan.width == w)
            ind = plan.allowed[plan.start[group, None] + np.arange(w)]  # (n, w, 4)
            ind[np.arange(len(group)), plan.offset[group]] = True  # the site's own offset stays free
            free = ind.all(axis=2)  # the site, other hidden sites and N: every base allowed
            powers = 4 ** np.arange(w - 1, -1, -1, dtype=np.int64)
            fixed = (ind.argmax(axis=2) * powers * ~free).sum(axis=1)  # k-mer index of the known bases
            n_free = free.sum(axis=1)
            for f in np.unique(n_free):
                sub = np.flatnonzero(n_free == f)
                for part in np.array_split(sub, -(-len(sub) * 4 ** (f + 1) // _CHUNK)):
                    j = group[part]
                    marg[j], total[j] = self._marginals(
                        padded, plan.row[j], fixed[part], free[part], plan.offset[j], int(w), vocab_size
                    )
        m = np.bincount(plan.site, minlength=plan.n_sites).astype(np.float64)
        score_sum = np.zeros((plan.n_sites, 4))
        np.add.at(score_sum, plan.site, marg.clamp(min=LOG_FLOOR).numpy())
        inside = np.zeros(plan.n_sites)
        np.add.at(inside, plan.site, torch.exp(total).numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            mass = np.where(m > 0, 1.0 - inside / m, np.nan)
        cuts = np.cumsum(plan.sites_per_unit)[:-1]
        return np.split(combine(score_sum, m), cuts), np.split(mass, cuts)


@lru_cache(maxsize=16)
def _combos(f: int) -> np.ndarray:
    return np.array(list(itertools.product(range(4), repeat=f)), dtype=np.int64).reshape(4**f, f)


def _merge(plans: Sequence[_Plan]) -> _Plan:
    """Concatenate units' plans (indices shifted) so a whole batch is reduced with a few tensor ops."""

    def shifted(field: str, sizes: list[int]) -> np.ndarray:
        offsets = np.cumsum([0, *sizes[:-1]])
        return np.concatenate([getattr(p, field) + o for p, o in zip(plans, offsets, strict=True)])

    reads, lengths, sites = (
        [len(p.read) for p in plans],
        [len(p.allowed) for p in plans],
        [p.n_sites for p in plans],
    )
    return _Plan(
        ids=np.zeros(0, np.int64), read=np.zeros(0, np.int64), site=shifted("site", sites),
        row=shifted("row", reads), start=shifted("start", lengths),
        width=np.concatenate([p.width for p in plans]), offset=np.concatenate([p.offset for p in plans]),
        allowed=np.concatenate([p.allowed for p in plans]), n_sites=sum(sites), sites_per_unit=sites,
    )  # fmt: skip
