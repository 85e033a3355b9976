"""Cached (linear) generation agrees with recomputing the prefix, sampling is seeded, infill resumes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from genobench_hf import testing as T
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.generation import (
    GenerationRequest,
    Generator,
    Sampling,
    _ScorerStepper,
    causal_generator,
    choose,
    generator_for,
    uniform_generator,
)
from genobench_hf.models import build_model, dna_char_tokenizer
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.markov import MarkovModel, MarkovScorer
from genobench_hf.scoring.masked import MaskedLMScorer
from genobench_hf.tasks.infill import decoder_for, infill, iterative_infill
from genobench_hf.tasks.sampling import Window
from genobench_hf.testing_context import MemoryContext


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _hf(arch: str):
    tok = T.char_tokenizer(causal=True)
    return wrap_model(T.tiny_causal_lm(tok, seed=1, arch=arch), tok)


def _ours(arch: str):
    torch.manual_seed(3)
    return wrap_model(build_model(arch), dna_char_tokenizer(True))


MODELS = {
    "gpt2": (lambda: _hf("gpt2"), "kv"),
    "llama": (lambda: _hf("llama"), "kv"),
    "lstm": (lambda: _ours("lstm"), "state"),
    "lstm_stateful": (lambda: _ours("lstm_stateful"), "state"),
    "transformer": (lambda: _ours("transformer"), "state"),
    "cnn": (lambda: _ours("cnn"), "window"),
    "cnn_dilated": (lambda: _ours("cnn_dilated"), "window"),
    "cnn_lstm": (lambda: _ours("cnn_lstm"), "recompute"),
}


def _requests() -> list[GenerationRequest]:
    reqs = [GenerationRequest(T.real_dna(60, offset=5000 * i), 45, seed=i) for i in range(4)]
    return [*reqs, GenerationRequest(T.real_dna(23, offset=77), 12, seed=99)]


@pytest.mark.parametrize("name", list(MODELS))
def test_cached_generation_equals_recompute(name: str) -> None:
    build, mode = MODELS[name]
    loaded = build()
    fast = causal_generator(loaded)
    assert fast.mode == mode
    slow = causal_generator(loaded, "recompute")
    reqs = _requests()
    for sampling in (Sampling(), Sampling(0.7, 4), Sampling(1.0, 2)):
        assert fast.generate(reqs, sampling, batch_size=3) == slow.generate(reqs, sampling, batch_size=3)


@pytest.mark.parametrize("name", ["gpt2", "lstm"])
def test_greedy_generation_equals_the_scorer_next_nucleotide_path(name: str) -> None:
    """The old infill: next_nucleotide through the scorer over the whole prefix at every position."""
    loaded = MODELS[name][0]()
    old = Generator("old", "recompute", _ScorerStepper(CausalLMScorer(loaded)), same_length=False)
    reqs = _requests()
    out = causal_generator(loaded).generate(reqs, Sampling(), batch_size=4)
    assert out == old.generate(reqs, Sampling(), batch_size=4)
    assert [len(s) for s in out] == [r.n_new for r in reqs]


def test_sampling_is_seeded_and_independent_of_batching() -> None:
    gen = causal_generator(_ours("lstm"))
    reqs = _requests()
    s = Sampling(1.0, 4)
    a = gen.generate(reqs, s, batch_size=1)
    assert a == gen.generate(reqs, s, batch_size=5)
    assert a == gen.generate(list(reversed(reqs)), s, batch_size=2)[::-1]
    other = gen.generate([GenerationRequest(r.prompt, r.n_new, seed=r.seed + 1000) for r in reqs], s)
    assert other != a
    assert gen.generate(reqs, Sampling(0.7, 1)) == gen.generate(reqs, Sampling())  # top-1 = greedy


def test_choose_top_k_and_temperature() -> None:
    logp = np.log(np.array([[0.1, 0.2, 0.3, 0.4]] * 20000))
    u = np.random.default_rng(0).random(20000)
    top2 = choose(logp, Sampling(1.0, 2), u)
    assert set(top2.tolist()) == {2, 3}
    assert abs((top2 == 3).mean() - 0.4 / 0.7) < 0.02
    full = choose(logp, Sampling(1.0, 4), u)
    assert np.allclose(np.bincount(full, minlength=4) / len(u), [0.1, 0.2, 0.3, 0.4], atol=0.015)
    cold = choose(logp, Sampling(0.5, 4), u)  # p^2 renormalised
    assert abs((cold == 3).mean() - 0.16 / 0.30) < 0.02
    with pytest.raises(ConfigError):
        Sampling(1.0, 5)


def test_uniform_generator_is_chance() -> None:
    out = uniform_generator().generate([GenerationRequest("ACGT", 4000, seed=1)], Sampling(1.0, 4))[0]
    counts = np.array([out.count(b) for b in "ACGT"]) / 4000
    assert np.allclose(counts, 0.25, atol=0.03)


def test_markov_generator_matches_its_scorer() -> None:
    chain = MarkovScorer(MarkovModel.fit([T.real_dna(200_000)], 5))
    gen = generator_for(chain)
    assert gen is not None and gen.mode == "markov"
    old = Generator("old", "recompute", _ScorerStepper(chain), same_length=False)
    reqs = [*_requests(), GenerationRequest("AC", 20, seed=5)]  # a prompt shorter than the order
    assert gen.generate(reqs, Sampling()) == old.generate(reqs, Sampling())
    assert gen.generate(reqs, Sampling(1.0, 4)) == old.generate(reqs, Sampling(1.0, 4))


def test_long_prompts_are_refused_and_other_models_recompute() -> None:
    tok = T.char_tokenizer()
    masked = generator_for(MaskedLMScorer(wrap_model(T.tiny_masked_lm(tok), tok)))
    assert masked is not None and masked.mode == "recompute"  # its next_nucleotide, as span infill did
    kmer = T.kmer_tokenizer(3, causal=True)
    assert generator_for(CausalLMScorer(wrap_model(T.tiny_causal_lm(kmer), kmer))).mode == "recompute"  # type: ignore[union-attr]
    tok = T.char_tokenizer(causal=True)
    short = wrap_model(T.tiny_causal_lm(tok, n_positions=64), tok)
    gen = causal_generator(short)
    calls = []
    real = gen.stepper.start
    gen.stepper.start = lambda prompts: calls.append(prompts) or real(prompts)  # type: ignore[method-assign]
    with pytest.raises(ModelError, match="at most 64 tokens"):
        gen.generate([GenerationRequest(T.real_dna(40), 40)], Sampling())
    assert calls == []  # refused before any forward
    assert len(gen.generate([GenerationRequest(T.real_dna(40), 23)], Sampling())[0]) == 23  # 1 + 63 fits


def _context(tmp_path, batch_size: int = 4):  # type: ignore[no-untyped-def]
    return MemoryContext(lambda d, split: [], SimpleNamespace(batch_size=batch_size), cache_dir=tmp_path)


def _windows(n: int = 5, span: int = 30) -> list[Window]:
    out = []
    for i in range(n):
        win = T.real_dna(100 + span + 100, offset=10_000 * i)
        out.append(Window.make("g", 0, 0, win, range(100, 100 + span)))
    return out


def test_span_infill_uses_the_cached_generator_and_resumes(tmp_path, monkeypatch) -> None:
    loaded = _ours("lstm")
    scorer = CausalLMScorer(loaded)
    windows = _windows()
    ctx = _context(tmp_path)
    first = infill(ctx, "span30", "PRO", windows, scorer)
    expected = causal_generator(loaded, "recompute").generate(
        [GenerationRequest(w.window[:100], 30) for w in windows], Sampling()
    )
    assert first == expected
    assert list((tmp_path / "generation").rglob("chunk-*.json"))

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("recomputed a cached chunk")

    monkeypatch.setattr("genobench_hf.tasks.infill.left_to_right_infill", boom)
    assert infill(ctx, "span30", "PRO", windows, scorer) == first  # resumed from the cache
    with pytest.raises(AssertionError, match="recomputed"):  # other windows are not served from the cache
        infill(ctx, "span30", "PRO", _windows(span=31), scorer)


def test_iterative_infill_is_chunk_cached(tmp_path) -> None:
    tok = T.char_tokenizer()
    scorer = MaskedLMScorer(wrap_model(T.tiny_masked_lm(tok), tok))
    ctx = _context(tmp_path)
    out = infill(ctx, "span30", "PRO", _windows(3), scorer)
    assert [len(s) for s in out] == [30, 30, 30] and set("".join(out)) <= set("ACGT")
    assert infill(ctx, "span30", "PRO", _windows(3), scorer) == out
    assert list((tmp_path / "generation").rglob("chunk-*.json"))


def test_span_infill_of_a_scorer_without_dense_scores_decodes_left_to_right(tmp_path) -> None:
    """Masked BPE models (no imputation_dense) were infilled through next_nucleotide; they still are."""
    tok = T.bpe_tokenizer()
    scorer = MaskedLMScorer(wrap_model(T.tiny_masked_lm(tok), tok))
    assert decoder_for(scorer) == "left_to_right"
    windows = _windows(2, span=8)
    out = infill(_context(tmp_path), "span8", "PRO", windows, scorer)
    old = Generator("old", "recompute", _ScorerStepper(scorer), same_length=False)
    assert out == old.generate([GenerationRequest(w.window[:100], 8) for w in windows], Sampling())


def test_iterative_infill_sampling_is_seeded() -> None:
    tok = T.char_tokenizer()
    scorer = MaskedLMScorer(wrap_model(T.tiny_masked_lm(tok), tok))
    windows = _windows(3, span=40)
    hot = Sampling(1.0, 4)
    a = iterative_infill(scorer, windows, 4, sampling=hot, seeds=[1, 2, 3])
    assert a == iterative_infill(scorer, windows, 2, sampling=hot, seeds=[1, 2, 3])
    assert a != iterative_infill(scorer, windows, 4, sampling=hot, seeds=[4, 5, 6])
    assert iterative_infill(scorer, windows, 4) == iterative_infill(
        scorer, windows, 4, sampling=Sampling(0.7, 1)
    )
