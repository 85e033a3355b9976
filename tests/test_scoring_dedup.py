"""Masked BPE candidate scoring runs each distinct masked input once, with identical numbers; the
vectorised per-candidate reduction equals a plain per-token sum."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch

from genobench_hf import testing as T
from genobench_hf.scoring.candidate import LOG_FLOOR, CandidateScorer, reduce_scores
from genobench_hf.scoring.loading import LoadedModel, wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models run faster on one thread


@cache
def bpe_masked() -> LoadedModel:
    tok = T.bpe_tokenizer()
    return wrap_model(T.tiny_masked_lm(tok), tok)


def test_distinct_masked_inputs_run_once_with_identical_numbers() -> None:
    r = T.sample_requests(T.real_dna(200_000, 1_500_000), "imputation", 40, window=64, seed=9)
    now, former = CandidateScorer(bpe_masked()), CandidateScorer(bpe_masked(), dedup=False)
    for batch_size in (1, 8):
        a, b = now.score(r, batch_size), former.score(r, batch_size)
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x.probs, y.probs) and x.approximate and y.approximate
    assert former.forwards == 2 * 4 * len(r)  # two passes, 4 inputs per site
    assert now.forwards * 2 <= former.forwards  # at least 2x fewer forwards (goal of issue 17)
    # the masked scorer's BPE path is this scorer
    got = MaskedLMScorer(bpe_masked()).score(r, 8)
    assert all(np.array_equal(x.probs, y.probs) for x, y in zip(got, a, strict=True))


def test_vectorised_reduction_equals_a_plain_sum() -> None:
    g = torch.Generator().manual_seed(1)
    values = [torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(0, 2, dtype=torch.float64)]
    values.append(torch.tensor([-3e4, -1.0, -2.0], dtype=torch.float64))  # one below the floor
    owner = [np.array([4, 0, 2]), np.array([1, 3]), np.array([5])]
    got = reduce_scores(values, owner, 6, shift=0.5)
    want = np.zeros(6)
    for v, o in zip(values, owner, strict=True):
        v2 = v if v.ndim == 2 else v[:, None]
        for c, item in enumerate(o):
            want[item] = sum(max(float(x), LOG_FLOOR) - 0.5 for x in v2[:, c])
    assert np.abs(got - want).max() < 1e-9
    assert got[1] == 0.0 and got[3] == 0.0  # no tokens: 0
