"""The generic candidate scorer, right for every model kind, and the pieces every scorer shares.

For a hidden site i and each base b the scorer builds the candidate sequence (x_{-i} with b at i) and
scores it with the model's own tokens; the four scores are normalised. Nothing it does reads the true
base: :func:`expand_units` overwrites every hidden site with a fixed base before any scorer sees the
sequence, so leak-freedom holds by construction.

Masked LMs: the masked span is fixed from x_{-i} alone (the union over the 4 candidates of the spans of
the tokens covering i; for disjoint tokenizations it grows until no candidate's token straddles its edges);
candidate b's tokens inside the span are all masked at once and

    score(b) = (1/m) * sum_t log(p_t(token_t^b) * |V|),   m = number of b's tokens covering i,

(ARCHITECTURE.md "Combination rule"); this is approximate for BPE. Causal LMs: exact Bayes,
p(b | x_{-i}) ∝ p(candidate window b) = the product of p(token_t | earlier tokens) over ALL tokens of b's
canonical segmentation, the first one given the model's BOS/prefix, with no per-token |V| correction
(candidates with different token counts are compared by their full probabilities). The tokens every
candidate shares at the start are identical and cancel, so only the tokens from the first one that
differs are summed. A model without a BOS gives no probability to the first token: where the
candidates differ already in it, that token is left out (a uniform prior on it) and the site is
labelled approximate.
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
from genobench_hf.scoring.forward import autocast_dtype
from genobench_hf.scoring.frames import frame_units, with_frames
from genobench_hf.scoring.loading import LoadedModel

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
    approximate: bool | Sequence[bool] = False,
) -> list[SiteScores]:
    """Reassemble per-unit results into one :class:`SiteScores` per request (``approximate``: for all,
    or per unit; a request is approximate if any of its units is)."""
    per_unit = [approximate] * len(units) if isinstance(approximate, bool) else list(approximate)
    out = [SiteScores(np.zeros((len(q.sites), 4)), np.full(len(q.sites), np.nan), path) for q in requests]
    for u, p, m, a in zip(units, probs, mass, per_unit, strict=True):
        out[u.request].probs[list(u.rows)] = p
        out[u.request].mass_outside[list(u.rows)] = m
        out[u.request].approximate |= bool(a)
    return out


@lru_cache(maxsize=16)
def log_uniform(vocab_size: int) -> float:
    """log(1/|V|) computed exactly as a model with all-equal logits gets it (so it cancels to 0)."""
    return float(torch.log_softmax(torch.zeros(vocab_size, dtype=torch.float64), dim=-1)[0])


def logit_width(loaded: LoadedModel) -> int:
    """|V| as the model's logits have it (the output embedding's rows; padded vocabularies included)."""
    emb = loaded.model.get_output_embeddings() if hasattr(loaded.model, "get_output_embeddings") else None
    weight = getattr(emb, "weight", None)
    return int(weight.shape[0]) if weight is not None else int(loaded.model.config.vocab_size)


def combine(score_sum: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The combination rule's last step: divide the summed per-token log scores by m, softmax over b."""
    return normalise_log_scores(np.asarray(score_sum, np.float64) / np.maximum(m, 1)[:, None])


def check_protocols(scorer: object, requests: Sequence[ScoreRequest]) -> None:
    """Refuse requests whose protocol the scorer skips (never score a different quantity)."""
    for q in requests:
        reason = scorer.skip_reason(q.protocol)  # type: ignore[attr-defined]
        if reason is not None:
            raise ConfigError(f"{scorer.name} cannot score {q.protocol}: {reason}")  # type: ignore[attr-defined]


def candidates(unit: Unit) -> list[str]:
    """The 4 candidate sequences of a one-site unit: its sequence with A, C, G, T at the site."""
    i = unit.hidden[0]
    return [unit.seq[:i] + b + unit.seq[i + 1 :] for b in BASES]


def causal_ids(
    loaded: LoadedModel, aligner: Aligner, prefix: np.ndarray, cands: list[str]
) -> list[np.ndarray]:
    """Each candidate's causal input: the model's BOS/prefix, then its canonical segmentation (no
    suffix: a window is a piece of a genome, not a finished document, so no EOS is scored)."""
    out = []
    for a in aligner.align_batch(cands, special=False):
        ids = np.concatenate([prefix, a.input_ids])
        loaded.check_length(len(ids), len(cands[0]))
        out.append(ids)
    return out


def shared_start(ids: Sequence[np.ndarray]) -> int:
    """How many leading ids all candidates share (their log-probs are identical and cancel)."""
    n = min(len(x) for x in ids)
    same = np.logical_and.reduce([x[:n] == ids[0][:n] for x in ids[1:]]) if len(ids) > 1 else np.ones(n, bool)
    return int(n if same.all() else np.argmin(same))


def reduce_scores(
    values: Sequence[torch.Tensor], owner: Sequence[np.ndarray], n_out: int, shift: float = 0.0
) -> np.ndarray:
    """Sum per-token log-probs (floored at :data:`LOG_FLOOR`, minus ``shift``) into per-candidate
    scores in one vectorised step: ``values[j]`` holds ``(n_tokens, K)`` log-probs, column c belonging
    to candidate ``owner[j][c]``."""
    if not values:
        return np.zeros(n_out)
    cols = [(v if v.ndim == 2 else v[:, None]).clamp(min=LOG_FLOOR).sub(shift).T.reshape(-1) for v in values]
    flat = torch.cat(cols).numpy()
    who = np.concatenate([np.repeat(o, len(v)) for v, o in zip(values, owner, strict=True)])
    return np.bincount(who, weights=flat, minlength=n_out)


@dataclass
class _Item:
    """One candidate's model input: ids, where to read, which token to read there."""

    ids: np.ndarray
    read: np.ndarray
    target: np.ndarray


class CandidateScorer:
    """Scores the 4 candidate sequences of every site with the model's own segmentation.

    ``right_context`` (causal imputation): keep that many nt after the site. ``dedup`` (masked): the 4
    masked inputs of a site are often the same (the span is masked whatever the candidate, and the
    candidates differ only there when their token counts agree), so each distinct input is run once and
    all its candidates are read from that one forward; ``dedup=False`` runs all four (the former path,
    kept for the benchmark).
    """

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        tokenizer_kind: TokenizerKind | None = None,
        right_context: int | None = None,
        autocast: bool | str | None = None,
        path: str | None = None,
        dedup: bool = True,
    ) -> None:
        self.loaded = loaded
        self.tokenizer_kind = tokenizer_kind or loaded.tokenizer_kind
        self.name = loaded.name
        self.right_context = right_context
        self.autocast = autocast_dtype(loaded, autocast)
        self.aligner = Aligner(loaded.tokenizer, self.tokenizer_kind)
        self.causal = loaded.model_kind == "causal"
        self.path = path or f"candidate.{self.tokenizer_kind.kind}"
        self.approximate = self.tokenizer_kind.kind == "bpe" and not self.causal
        self.dedup = dedup
        self._prefix = np.array(loaded.causal_prefix() if self.causal else [], dtype=np.int64)
        self.forwards = 0  # model inputs run so far (the benchmark's count)

    def skip_reason(self, protocol: Protocol_) -> str | None:
        return DENSE_SKIP if protocol == "imputation_dense" else None

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        check_protocols(self, requests)
        units = self._units(requests)
        scores, m, approx = self.score_units(units, batch_size)
        probs = combine(scores.reshape(-1, 4), m)
        nan = np.full(1, np.nan)
        out = collect(requests, units, list(probs[:, None, :]), [nan] * len(units), self.path, approx)
        return with_frames(out, units)

    def score_units(
        self, units: Sequence[Unit], batch_size: int
    ) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        """Per unit the 4 summed candidate scores (flat, 4 per unit), the token count m they are divided
        by, and whether the unit is approximate."""
        items: list[_Item] = []
        m = np.ones(len(units))
        approx = [self.approximate] * len(units)
        for j, u in enumerate(units):
            if self.causal:
                its, approx[j] = self._causal_items(candidates(u))
            else:
                its, m[j] = self._masked_items(candidates(u), u)
            items += its
        inputs, owner = self._distinct(items)
        self.forwards += len(inputs)
        shift = 0.0 if self.causal else log_uniform(logit_width(self.loaded))
        scores = np.zeros(len(items))
        ids, reads, tgts = ([x[k] for x in inputs] for k in range(3))
        for idx, logps in self.loaded.iter_log_probs(
            ids, reads, batch_size, autocast=self.autocast, targets=tgts
        ):
            scores += reduce_scores(logps, [owner[j] for j in idx], len(items), shift)
        return scores, m, approx

    def _distinct(
        self, items: Sequence[_Item]
    ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[np.ndarray]]:
        """One model input per distinct (ids, read positions), its targets stacked as columns; ``owner``
        maps each column back to its item."""
        keys: dict[tuple[bytes, bytes], int] = {}
        groups: list[list[int]] = []
        for j, it in enumerate(items):
            key = (it.ids.tobytes(), it.read.tobytes()) if self.dedup else (b"", j.to_bytes(8, "little"))
            if key not in keys:
                keys[key] = len(groups)
                groups.append([])
            groups[keys[key]].append(j)
        inputs = [
            (items[g[0]].ids, items[g[0]].read, np.stack([items[j].target for j in g], axis=1))
            for g in groups
        ]
        return inputs, [np.array(g, dtype=np.int64) for g in groups]

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

    def _causal_items(self, cands: list[str]) -> tuple[list[_Item], bool]:
        """Each candidate's tokens from the first one that not all candidates share (given everything
        before it); approximate only where no BOS precedes a first token that differs."""
        ids = causal_ids(self.loaded, self.aligner, self._prefix, cands)
        start = shared_start(ids)
        first = max(start, 1)
        return [_Item(x, np.arange(first - 1, len(x) - 1), x[first:]) for x in ids], start == 0


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
