"""The causal-LM scorer: left-only pass, exact two-sided Bayes, right-context truncation."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from genobench_hf import testing as T
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.scoring.base import ScoreRequest
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import LoadedModel, wrap_model

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models run faster on one thread


@cache
def tiny(name: str, arch: str = "gpt2") -> LoadedModel:
    tok = {"char": T.char_tokenizer, "nt6": T.kmer_tokenizer, "bpe": T.bpe_tokenizer}[name](causal=True)
    return wrap_model(T.tiny_causal_lm(tok, arch=arch), tok)


def reqs(protocol: str, n: int = 12, seed: int = 0, window: int = 48) -> list[ScoreRequest]:
    return T.sample_requests(T.real_dna(100_000, 1_500_000), protocol, n, window=window, seed=seed)


def probs_of(sc: Any, requests: list[ScoreRequest], batch_size: int = 8) -> np.ndarray:
    return np.concatenate([s.probs for s in sc.score(requests, batch_size)])


def test_paths_and_normalisation() -> None:
    sc = CausalLMScorer(tiny("char"))
    left, both = sc.score(reqs("next_nucleotide", 1), 1)[0], sc.score(reqs("imputation", 1), 1)[0]
    assert (left.path, both.path) == ("causal.left", "causal.bayes")
    assert np.isfinite(left.mass_outside).all() and 0 < left.mass_outside[0] < 1
    assert np.allclose(left.probs.sum(1), 1) and np.allclose(both.probs.sum(1), 1)
    bpe = CausalLMScorer(tiny("bpe")).score(reqs("imputation", 1), 1)[0]
    assert bpe.path == "causal.bayes.bpe" and not bpe.approximate  # exact Bayes (tests/test_causal_bayes.py)


def test_one_pass_for_many_sites_equals_one_site_at_a_time() -> None:
    sc = CausalLMScorer(tiny("char", "llama"))
    window = T.real_dna(48, 1_234_567)
    sites = tuple(i for i in (5, 17, 30, 47) if window[i] in "ACGT")
    together = sc.score([ScoreRequest(window, sites, "next_nucleotide")], 1)[0].probs
    alone = np.concatenate(
        [sc.score([ScoreRequest(window, (s,), "next_nucleotide")], 1)[0].probs for s in sites]
    )
    assert np.abs(together - alone).max() < 1e-6


@pytest.mark.parametrize("name", ["char", "bpe"])
def test_right_context_zero_is_left_only(name: str) -> None:
    """p(b | x_<i) from Bayes over 4 candidates with no right context is the next-nucleotide quantity."""
    r = reqs("next_nucleotide")
    as_imputation = [ScoreRequest(q.window, q.sites, "imputation") for q in r]
    left = probs_of(CausalLMScorer(tiny(name)), r)
    bayes = probs_of(CausalLMScorer(tiny(name), right_context=0), as_imputation)
    assert np.abs(left - bayes).max() < 1e-5


@pytest.mark.parametrize("name", ["char", "nt6", "bpe"])
def test_right_context_truncates_the_window(name: str) -> None:
    r = reqs("imputation")
    cut = [ScoreRequest(q.window[: q.sites[0] + 1 + 5], q.sites, "imputation") for q in r]
    got = probs_of(CausalLMScorer(tiny(name), right_context=5), r)
    assert np.abs(got - probs_of(CausalLMScorer(tiny(name)), cut)).max() < 1e-9
    assert np.abs(got - probs_of(CausalLMScorer(tiny(name)), r)).max() > 1e-4  # the right side matters


@pytest.mark.parametrize("name", ["char", "bpe"])
@pytest.mark.parametrize("protocol", ["imputation", "next_nucleotide"])
def test_batch_size_does_not_change_probabilities(name: str, protocol: str) -> None:
    sc = CausalLMScorer(tiny(name))
    r = [q for w in (30, 41, 48, 66) for q in reqs(protocol, 3, seed=5, window=w)]  # ragged: padding
    assert np.abs(probs_of(sc, r, 1) - probs_of(sc, r, 8)).max() < 1e-6


def test_dense_is_skipped_with_a_reason() -> None:
    sc = CausalLMScorer(tiny("char"))
    assert "masked LMs only" in (sc.skip_reason("imputation_dense") or "")
    with pytest.raises(ConfigError):
        sc.score(reqs("imputation_dense", 1), 1)


def test_bad_input() -> None:
    with pytest.raises(ModelError, match="masked LM"):
        CausalLMScorer(wrap_model(T.UniformMaskedLM.for_tokenizer(T.char_tokenizer()), T.char_tokenizer()))
    with pytest.raises(ModelError, match="right_context"):
        CausalLMScorer(tiny("char"), right_context=-1)
    with pytest.raises(ModelError, match="at most 1024 tokens"):
        CausalLMScorer(tiny("char")).score(reqs("next_nucleotide", 1, window=1100), 1)
