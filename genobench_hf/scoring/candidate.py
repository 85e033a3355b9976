"""The generic candidate scorer, right for every model kind, and the pieces every scorer shares.

For a hidden site i and each base b the scorer builds the candidate sequence (x_{-i} with b at i) and
scores it with the model's own tokens; the four scores are normalised. Nothing it does reads the true
base: :func:`expand_units` overwrites every hidden site with a fixed base before any scorer sees the
sequence, so leak-freedom holds by construction.

Masked LMs: the masked span is fixed from x_{-i} alone (the union over the 4 candidates of the spans of
the tokens covering i; for disjoint tokenizations it grows until no candidate's token straddles its edges);
candidate b's tokens inside the span are all masked at once and

    score(b) = (1/m) * sum_t log(p_t(token_t^b) * |V|),   m = number of b's tokens covering i,

(ARCHITECTURE.md "Combination rule"). Causal LMs: score(b) = sum_t log(p(token_t | earlier) * |V|) over
the candidate's tokens (canonical segmentation), i.e. log p(candidate) relative to a uniform model of the
same token count. A uniform model therefore scores exactly 0 for every candidate, on every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from genobench_hf.alignment import Aligner, Alignment, TokenizerKind, covering
from genobench_hf.errors import ConfigError
from genobench_hf.scoring.base import BASES, Protocol_, ScoreRequest, SiteScores, normalise_log_scores
from genobench_hf.scoring.frames import frame_units, with_frames
from genobench_hf.scoring.loading import LoadedModel, resolve_autocast

HIDDEN_FILL = "A"  # what every hidden site holds once a request has been expanded into units
LOG_FLOOR = -1e4  # log-probability floor per token (k-mers absent from the vocabulary, underflow)
DENSE_SKIP = (
    "imputation_dense needs a masked LM with single-nucleotide or fixed-frame k-mer tokens: the "
    "candidate scorer hides one site at a time"
)


@dataclass(frozen=True)
class Unit:
    """One model-sized piece of work: a sequence whose ``hidden`` sites are already overwritten."""

    request: int
    seq: str
    hidden: tuple[int, ...]
    rows: tuple[int, ...]  # index in the request's ``sites`` of each hidden site


def hide(seq: str, hidden: Sequence[int]) -> str:
    """``seq`` with every hidden position set to :data:`HIDDEN_FILL` (the true base never travels on)."""
    chars = bytearray(seq, "ascii")
    for h in hidden:
        chars[h] = ord(HIDDEN_FILL)
    return chars.decode("ascii")


def expand_units(requests: Sequence[ScoreRequest], *, right_context: int | None = None) -> list[Unit]:
    """Split requests into units by protocol: ``imputation`` one unit per site (the whole window, right
    side cut to ``right_context`` nt if given); ``next_nucleotide`` one unit per site with the window cut
    right after the site; ``imputation_dense`` one unit hiding every site."""
    units = []
    for r, req in enumerate(requests):
        if req.protocol == "imputation_dense":
            units.append(Unit(r, hide(req.window, req.sites), tuple(req.sites), tuple(range(len(req.sites)))))
            continue
        for row, s in enumerate(req.sites):
            end = s + 1 if req.protocol == "next_nucleotide" else len(req.window)
            if right_context is not None and req.protocol == "imputation":
                end = min(end, s + 1 + right_context)
            units.append(Unit(r, hide(req.window[:end], [s]), (s,), (row,)))
    return units


def collect(
    requests: Sequence[ScoreRequest],
    units: Sequence[Unit],
    probs: Sequence[np.ndarray],
    mass: Sequence[np.ndarray],
    path: str,
    approximate: bool = False,
) -> list[SiteScores]:
    """Reassemble per-unit results into one :class:`SiteScores` per request."""
    out = [
        SiteScores(np.zeros((len(q.sites), 4)), np.full(len(q.sites), np.nan), path, approximate)
        for q in requests
    ]
    for u, p, m in zip(units, probs, mass, strict=True):
        out[u.request].probs[list(u.rows)] = p
        out[u.request].mass_outside[list(u.rows)] = m
    return out


@lru_cache(maxsize=16)
def log_uniform(vocab_size: int) -> float:
    """log(1/|V|) computed exactly as a model with all-equal logits gets it (so it cancels to 0)."""
    return float(torch.log_softmax(torch.zeros(vocab_size, dtype=torch.float64), dim=-1)[0])


def combine(score_sum: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The combination rule's last step: divide the summed per-token log scores by m, softmax over b."""
    return normalise_log_scores(np.asarray(score_sum, np.float64) / np.maximum(m, 1)[:, None])


def check_protocols(scorer: object, requests: Sequence[ScoreRequest]) -> None:
    """Refuse requests whose protocol the scorer skips (never score a different quantity)."""
    for q in requests:
        reason = scorer.skip_reason(q.protocol)  # type: ignore[attr-defined]
        if reason is not None:
            raise ConfigError(f"{scorer.name} cannot score {q.protocol}: {reason}")  # type: ignore[attr-defined]


@dataclass
class _Item:
    """One candidate's model input: ids, where to read, which token to read there."""

    ids: np.ndarray
    read: np.ndarray
    target: np.ndarray


class CandidateScorer:
    """Scores the 4 candidate sequences of every site with the model's own segmentation.

    ``from_site`` (causal, fixed-frame only): sum only the tokens from the site on; the earlier ones are
    identical in the 4 candidates and cancel. ``right_context`` (causal imputation): keep that many nt
    after the site.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        tokenizer_kind: TokenizerKind | None = None,
        right_context: int | None = None,
        autocast: bool | None = None,
        from_site: bool = False,
        path: str | None = None,
    ) -> None:
        self.loaded = loaded
        self.tokenizer_kind = tokenizer_kind or loaded.tokenizer_kind
        self.name = loaded.name
        self.right_context = right_context
        self.autocast = resolve_autocast(loaded, autocast)
        self.from_site = from_site and self.tokenizer_kind.fixed_frame
        self.aligner = Aligner(loaded.tokenizer, self.tokenizer_kind)
        self.causal = loaded.model_kind == "causal"
        self.path = path or f"candidate.{self.tokenizer_kind.kind}"
        self.approximate = self.tokenizer_kind.kind == "bpe"
        self._prefix = np.array(loaded.causal_prefix() if self.causal else [], dtype=np.int64)

    def skip_reason(self, protocol: Protocol_) -> str | None:
        return DENSE_SKIP if protocol == "imputation_dense" else None

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        check_protocols(self, requests)
        units = self._units(requests)
        items: list[_Item] = []
        m = np.ones(len(units) * 4)
        for j, u in enumerate(units):
            cands = [u.seq[: u.hidden[0]] + b + u.seq[u.hidden[0] + 1 :] for b in BASES]
            built = self._causal_items(cands, u.hidden[0]) if self.causal else self._masked_items(cands, u)
            items += built[0]
            m[4 * j : 4 * j + 4] = built[1]
        scores = np.zeros(len(items))
        inputs, reads = [it.ids for it in items], [it.read for it in items]
        for idx, logps in self.loaded.iter_log_probs(inputs, reads, batch_size, autocast=self.autocast):
            for j, lp in zip(idx, logps, strict=True):
                tgt = torch.from_numpy(items[j].target)
                rel = lp.gather(1, tgt[:, None])[:, 0].clamp(min=LOG_FLOOR) - log_uniform(lp.shape[1])
                scores[j] = float(rel.sum())
        probs = combine(scores.reshape(-1, 4), m.reshape(-1, 4)[:, 0])
        nan = np.full(1, np.nan)
        out = collect(
            requests, units, list(probs[:, None, :]), [nan] * len(units), self.path, self.approximate
        )
        return with_frames(out, units)

    def _units(self, requests: Sequence[ScoreRequest]) -> list[Unit]:
        units = expand_units(requests, right_context=self.right_context if self.causal else None)
        return frame_units(units, requests, self.aligner, pads=False)  # type: ignore[return-value]

    def _masked_items(self, cands: list[str], unit: Unit) -> tuple[list[_Item], float]:
        i = unit.hidden[0]
        aligns = self.aligner.align_batch(cands)
        covers = [covering(a, i) for a in aligns]
        for a in aligns:
            self.loaded.check_length(len(a), len(unit.seq))
        if not all(covers):  # nothing covers the site (e.g. shorter than k): no information
            return [_Item(a.input_ids, np.zeros(0, np.int64), np.zeros(0, np.int64)) for a in aligns], 1.0
        lo = min(int(a.spans[c, 0].min()) for a, c in zip(aligns, covers, strict=True))
        hi = max(int(a.spans[c, 1].max()) for a, c in zip(aligns, covers, strict=True))
        if not self.tokenizer_kind.overlapping:
            lo, hi = _close_span(aligns, lo, hi)
        items = []
        for a in aligns:
            inside = np.flatnonzero((a.spans[:, 0] >= lo) & (a.spans[:, 1] <= hi))
            ids = a.input_ids.copy()
            ids[inside] = self.loaded.tokenizer.mask_token_id
            items.append(_Item(ids, inside, a.input_ids[inside]))
        return items, float(len(covers[0]))

    def _causal_items(self, cands: list[str], i: int) -> tuple[list[_Item], float]:
        items = []
        for a in self.aligner.align_batch(cands, special=False):
            ids = np.concatenate([self._prefix, a.input_ids])
            self.loaded.check_length(len(ids), len(cands[0]))
            scored = np.arange(1, len(ids))
            if self.from_site:
                scored = scored[a.spans[scored - len(self._prefix), 1] > i]
            items.append(_Item(ids, scored - 1, ids[scored]))
        return items, 1.0


def _close_span(aligns: Sequence[Alignment], lo: int, hi: int) -> tuple[int, int]:
    """Grow ``[lo, hi)`` until no candidate has a token straddling an edge (disjoint tokenizations)."""
    while True:
        new_lo, new_hi = lo, hi
        for a in aligns:
            s = a.spans
            hit = (s[:, 0] >= 0) & (s[:, 0] < hi) & (s[:, 1] > lo)
            new_lo, new_hi = min(new_lo, int(s[hit, 0].min())), max(new_hi, int(s[hit, 1].max()))
        if (new_lo, new_hi) == (lo, hi):
            return lo, hi
        lo, hi = new_lo, new_hi
