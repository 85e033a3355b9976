"""The generic candidate scorer and the shared pieces (units, span closure, combination rule)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch

from genobench_hf import testing as T
from genobench_hf.alignment import Alignment, covering
from genobench_hf.scoring.base import BASES, ScoreRequest
from genobench_hf.scoring.candidate import (
    HIDDEN_FILL,
    CandidateScorer,
    _close_span,
    combine,
    expand_units,
    log_uniform,
)
from genobench_hf.scoring.loading import LoadedModel, wrap_model

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models run faster on one thread


@cache
def bpe_masked() -> LoadedModel:
    tok = T.bpe_tokenizer()
    return wrap_model(T.tiny_masked_lm(tok), tok)


def reqs(protocol: str, n: int = 12, seed: int = 0) -> list[ScoreRequest]:
    return T.sample_requests(T.real_dna(100_000, 3_000_000), protocol, n, window=64, seed=seed)


def test_units_hide_every_site_and_cut_by_protocol() -> None:
    window = "ACGTACGTCC"
    u = expand_units([ScoreRequest(window, (2, 8), "imputation")])
    assert [(x.seq, x.hidden, x.rows) for x in u] == [
        ("ACATACGTCC", (2,), (0,)),
        ("ACGTACGTAC", (8,), (1,)),
    ]
    u = expand_units([ScoreRequest(window, (3,), "next_nucleotide")])
    assert [x.seq for x in u] == ["ACG" + HIDDEN_FILL]
    u = expand_units([ScoreRequest(window, (3,), "imputation")], right_context=2)
    assert [x.seq for x in u] == ["ACGAAC"]
    u = expand_units([ScoreRequest(window, (1, 3, 9), "imputation_dense")])
    assert len(u) == 1 and u[0].seq == "AAGAACGTCA" and u[0].hidden == (1, 3, 9)


def _al(spans: list[tuple[int, int]]) -> Alignment:
    return Alignment(np.arange(len(spans)), np.array(spans, dtype=np.int64).reshape(-1, 2))


def test_span_closure_grows_until_no_token_straddles() -> None:
    a = _al([(-1, -1), (0, 3), (3, 5), (5, 9), (9, 12), (-1, -1)])
    b = _al([(-1, -1), (0, 4), (4, 6), (6, 12), (-1, -1)])
    assert _close_span([a, b], 4, 5) == (0, 12)  # [3,5)+[4,6) -> [3,6) -> [0,9) -> [0,12)
    assert _close_span([a, _al([(0, 3), (3, 9), (9, 12)])], 5, 7) == (3, 9)
    assert _close_span([a], 3, 5) == (3, 5)


def test_combination_rule_and_uniform_reference() -> None:
    assert log_uniform(4101) == float(torch.log_softmax(torch.zeros(4101, dtype=torch.float64), 0)[0])
    probs = combine(np.array([[0.0, 0.0, 0.0, 0.0], [6 * np.log(2), 0, 0, 0]]), np.array([1.0, 6.0]))
    assert np.allclose(probs[0], 0.25) and np.allclose(probs[1], np.array([2, 1, 1, 1]) / 5)


def test_bpe_masked_span_is_fixed_from_the_other_nucleotides() -> None:
    sc = CandidateScorer(bpe_masked())
    q = reqs("imputation", 1, seed=4)[0]
    (unit,) = expand_units([q])
    i = unit.hidden[0]
    cands = [unit.seq[:i] + b + unit.seq[i + 1 :] for b in BASES]
    items, m = sc._masked_items(cands, unit)
    assert m == 1.0
    aligns = sc.aligner.align_batch(cands)
    mask = sc.loaded.tokenizer.mask_token_id
    spans = [a.spans[it.read] for a, it in zip(aligns, items, strict=True)]
    lo, hi = min(int(s[:, 0].min()) for s in spans), max(int(s[:, 1].max()) for s in spans)
    for a, it, s in zip(aligns, items, spans, strict=True):
        assert (it.ids[it.read] == mask).all() and (it.ids != mask).sum() == len(it.ids) - len(it.read)
        assert s[0, 0] == lo and s[-1, 1] == hi  # every candidate's masked tokens tile the same span
        assert all(t in it.read for t in covering(a, i))


def test_bpe_candidate_scores_are_approximate_and_batch_invariant() -> None:
    sc = CandidateScorer(bpe_masked())
    r = reqs("imputation", 10, seed=6)
    one, eight = sc.score(r, 1), sc.score(r, 8)
    assert one[0].approximate and one[0].path == "candidate.bpe" and np.isnan(one[0].mass_outside).all()
    assert max(np.abs(a.probs - b.probs).max() for a, b in zip(one, eight, strict=True)) < 1e-6
    assert sc.skip_reason("imputation_dense") is not None


def test_candidate_scorer_on_a_causal_bpe_model_uses_the_whole_sequence() -> None:
    tok = T.bpe_tokenizer(causal=True)
    loaded = wrap_model(T.tiny_causal_lm(tok), tok)
    r = reqs("imputation", 4, seed=7)
    full = np.concatenate([s.probs for s in CandidateScorer(loaded).score(r, 8)])
    short = np.concatenate([s.probs for s in CandidateScorer(loaded, right_context=3).score(r, 8)])
    assert np.allclose(full.sum(1), 1) and np.abs(full - short).max() > 1e-4
