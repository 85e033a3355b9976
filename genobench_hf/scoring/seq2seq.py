"""Seq2seq (T5-style) scorer: span-corruption scoring through the candidate path.

T5 models were pre-trained to fill spans replaced by sentinels, so a hidden site is asked for in that
form. For site i the span ``[lo, hi)`` is fixed from x_{-i} alone (char: ``[i, i+1)``; other tokenizers:
the union over the 4 candidates of the tokens covering i, as in :mod:`~genobench_hf.scoring.candidate`):

    encoder input  = tokens(x[:lo]) <extra_id_0> tokens(x[hi:]) </s>      (never holds x_i)
    target_b       = <extra_id_0> tokens(x[lo:hi] with b at i) <extra_id_1> </s>
    score(b)       = sum_t log(p(target_b[t] | encoder, target_b[:t]) * |V|)   p(b) = softmax_b score(b)

``next_nucleotide`` drops the right side (encoder input = left context + sentinel). With a char tokenizer
p(b) is the model's exact probability that the span is the single base b; with k-mer or BPE tokens the
span holds known neighbours too and token counts differ, so it is labelled approximate. A uniform model
scores exactly 0 for every candidate (2.000 bits). ``imputation_dense`` is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from genobench_hf.alignment import Aligner, TokenizerKind, covering
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.scoring.base import BASES, Protocol_, ScoreRequest, SiteScores
from genobench_hf.scoring.candidate import (
    LOG_FLOOR,
    Unit,
    _close_span,
    check_protocols,
    collect,
    combine,
    expand_units,
    log_uniform,
)
from genobench_hf.scoring.forward import autocast_context
from genobench_hf.scoring.loading import PAD_MULTIPLE, LoadedModel, LoadedModelScorer, non_finite_message

SENTINELS = ("<extra_id_0>", "<extra_id_1>")
DECODER_PAD_MULTIPLE = 8
SEQ2SEQ_DENSE_SKIP = (
    "imputation_dense is defined for masked LMs with single-nucleotide or fixed-frame k-mer tokens; the "
    "seq2seq scorer hides one span at a time"
)


@dataclass
class _Item:
    """One candidate: encoder ids, decoder input ids, and the target ids they are scored on."""

    enc: np.ndarray
    dec: np.ndarray
    target: np.ndarray


def decoder_start_id(model: Any) -> int:
    """The id a decoder starts from (config, then generation config, then pad as T5 does)."""
    cfg = model.config
    start = getattr(cfg, "decoder_start_token_id", None)
    if start is None:
        start = getattr(getattr(model, "generation_config", None), "decoder_start_token_id", None)
    if start is None:
        start = getattr(cfg, "pad_token_id", None)
    if start is None:
        raise ModelError("the seq2seq model has no decoder_start_token_id (nor pad_token_id)")
    return int(start)


class Seq2SeqScorer(LoadedModelScorer):
    """Scores encoder-decoder (T5-style) LMs on ``imputation`` and ``next_nucleotide``."""

    model_kind = "seq2seq"

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        tokenizer_kind: TokenizerKind | None = None,
        autocast: bool | None = None,
    ) -> None:
        super().__init__(loaded, tokenizer_kind=tokenizer_kind, autocast=autocast)
        self.aligner = Aligner(loaded.tokenizer, self.tokenizer_kind)
        self.char = self.tokenizer_kind.kind == "char"
        self.path = "seq2seq.candidate"
        self.approximate = not self.char
        tok = loaded.tokenizer
        vocab = tok.get_vocab()
        missing = [s for s in SENTINELS if s not in vocab]
        if missing:
            raise ModelError(
                f"{loaded.name}: the tokenizer has no sentinel tokens {missing}; span-corruption scoring "
                "needs T5-style <extra_id_N> sentinels"
            )
        self.sentinels = tuple(int(vocab[s]) for s in SENTINELS)
        self.eos = [] if tok.eos_token_id is None else [int(tok.eos_token_id)]
        self.start = decoder_start_id(loaded.model)
        self._acgt = self.aligner.align(BASES, special=False).input_ids if self.char else None

    def skip_reason(self, protocol: Protocol_) -> str | None:
        return SEQ2SEQ_DENSE_SKIP if protocol == "imputation_dense" else None

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        check_protocols(self, requests)
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        units = expand_units(requests)
        items = [it for u in units for it in self._items(u)]
        scores, mass = self._run(items, batch_size)
        probs = combine(scores.reshape(-1, 4), np.ones(len(units)))
        return collect(
            requests, units, list(probs[:, None, :]), list(mass[::4, None]), self.path, self.approximate
        )

    # -- building the inputs (the only place that sees the window; the hidden site is already "A")
    def _ids(self, seq: str) -> np.ndarray:
        return self.aligner.align(seq, special=False).input_ids

    def _span(self, seq: str, i: int) -> tuple[int, int]:
        """The hidden span around site i, from x_{-i} only (identical for the 4 candidates)."""
        if self.char:
            return i, i + 1
        aligns = self.aligner.align_batch([seq[:i] + b + seq[i + 1 :] for b in BASES], special=False)
        covers = [covering(a, i) for a in aligns]
        if not all(covers):
            return i, i + 1
        lo = min(int(a.spans[c, 0].min()) for a, c in zip(aligns, covers, strict=True))
        hi = max(int(a.spans[c, 1].max()) for a, c in zip(aligns, covers, strict=True))
        return (lo, hi) if self.tokenizer_kind.overlapping else _close_span(aligns, lo, hi)

    def encoder_ids(self, unit: Unit, span: tuple[int, int] | None = None) -> np.ndarray:
        """Left context, sentinel, right context (empty for next_nucleotide), EOS: never the true base."""
        lo, hi = span or self._span(unit.seq, unit.hidden[0])
        s0 = np.array([self.sentinels[0]], np.int64)
        ids = np.concatenate([self._ids(unit.seq[:lo]), s0, self._ids(unit.seq[hi:]), self.eos]).astype(
            np.int64
        )
        self.loaded.check_length(len(ids), len(unit.seq))
        return ids

    def _items(self, unit: Unit) -> list[_Item]:
        i = unit.hidden[0]
        lo, hi = self._span(unit.seq, i)
        enc = self.encoder_ids(unit, (lo, hi))
        out = []
        for b in BASES:
            span = unit.seq[lo:i] + b + unit.seq[i + 1 : hi]
            target = np.concatenate(
                [[self.sentinels[0]], self._ids(span), [self.sentinels[1]], self.eos]
            ).astype(np.int64)
            out.append(_Item(enc, np.concatenate([[self.start], target[:-1]]).astype(np.int64), target))
        return out

    # -- running the model
    def _run(self, items: list[_Item], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Relative log-probability of each item's target; mass outside ACGT at the first span token."""
        scores = np.zeros(len(items))
        mass = np.full(len(items), np.nan)
        enc_w = np.array([-(-len(it.enc) // PAD_MULTIPLE) * PAD_MULTIPLE for it in items])
        dec_w = np.array([-(-len(it.dec) // DECODER_PAD_MULTIPLE) * DECODER_PAD_MULTIPLE for it in items])
        buckets: dict[tuple[int, int], list[int]] = {}
        for j in range(len(items)):
            buckets.setdefault((int(enc_w[j]), int(dec_w[j])), []).append(j)
        for (we, wd), group in sorted(buckets.items()):
            for start in range(0, len(group), batch_size):
                idx = group[start : start + batch_size]
                logp = self._forward([items[j] for j in idx], we, wd)
                for row, j in enumerate(idx):
                    it = items[j]
                    pos = torch.arange(len(it.target))
                    lp = logp[row, pos, torch.from_numpy(it.target)].clamp(min=LOG_FLOOR)
                    scores[j] = float((lp - log_uniform(logp.shape[-1])).sum())
                    if self._acgt is not None:  # position 1 follows <start> <extra_id_0>: same for all b
                        mass[j] = 1.0 - float(logp[row, 1, torch.from_numpy(self._acgt)].exp().sum())
        return scores, mass

    def _forward(self, batch: list[_Item], enc_width: int, dec_width: int) -> torch.Tensor:
        pad = self.loaded.tokenizer.pad_token_id or 0
        n = len(batch)
        enc = np.full((n, enc_width), pad, np.int64)
        enc_mask = np.zeros((n, enc_width), np.int64)
        dec = np.full((n, dec_width), pad, np.int64)
        dec_mask = np.zeros((n, dec_width), np.int64)
        for r, it in enumerate(batch):
            enc[r, : len(it.enc)], enc_mask[r, : len(it.enc)] = it.enc, 1
            dec[r, : len(it.dec)], dec_mask[r, : len(it.dec)] = it.dec, 1
        device = self.loaded.device
        ctx = autocast_context(device, self.autocast)
        t = {k: torch.from_numpy(v).to(device) for k, v in
             {"input_ids": enc, "attention_mask": enc_mask, "decoder_input_ids": dec,
              "decoder_attention_mask": dec_mask}.items()}  # fmt: skip
        with torch.inference_mode(), ctx:
            out = self.loaded.model(**t)
        logp = torch.log_softmax(out.logits.to(torch.float64), dim=-1).cpu()
        if torch.isnan(logp).any():
            raise ModelError(non_finite_message(self.name, self.loaded.model, self.autocast))
        return logp
