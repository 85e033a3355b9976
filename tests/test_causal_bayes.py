"""Causal two-sided Bayes: exact against an independent brute force, the KV-cached prefix path against
the 4 full windows, its self-check, and the device-side gathering / autocast choice of the forward."""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import numpy as np
import pytest
import torch
from tokenizers import processors

import genobench_hf.models as M
from genobench_hf import testing as T
from genobench_hf.errors import ConfigError
from genobench_hf.scoring.base import BASES, ScoreRequest
from genobench_hf.scoring.candidate import CandidateScorer
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.forward import autocast_dtype, choose_half_dtype, select_log_probs
from genobench_hf.scoring.loading import LoadedModel, load_model, wrap_model

TOKENIZERS = {"char": T.char_tokenizer, "nt6": T.kmer_tokenizer, "bpe": T.bpe_tokenizer}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models run faster on one thread


@cache
def tokenizer(name: str, bos: bool = True) -> Any:
    tok = TOKENIZERS[name](causal=True)
    if not bos:  # a causal tokenizer with no BOS and no template: nothing precedes the first token
        tok._tokenizer.post_processor = processors.TemplateProcessing(single="$A", special_tokens=[])
        tok.bos_token = None
    return tok


@cache
def tiny(name: str, arch: str = "gpt2", bos: bool = True) -> LoadedModel:
    tok = tokenizer(name, bos)
    return wrap_model(T.tiny_causal_lm(tok, arch=arch), tok)


def reqs(protocol: str, n: int = 10, seed: int = 0, window: int = 48) -> list[ScoreRequest]:
    return T.sample_requests(T.real_dna(200_000, 1_000_000), protocol, n, window=window, seed=seed)


def brute_force(
    loaded: LoadedModel, q: ScoreRequest, right_context: int | None = None, trim: int = 0
) -> np.ndarray:
    """p(b | rest) by the definition: the full log-likelihood of each candidate window, one at a time,
    tokenised by the tokenizer itself (its own BOS), every token after the first input id summed.
    ``trim``: nt cut from the window start, as the fixed-frame rule does to draw the site's offset."""
    q = ScoreRequest(q.window[trim:], tuple(s - trim for s in q.sites), q.protocol, q.targets)
    (i,) = q.sites
    end = i + 1 if q.protocol == "next_nucleotide" else len(q.window)
    if right_context is not None and q.protocol == "imputation":
        end = min(end, i + 1 + right_context)
    logl = []
    for b in BASES:
        text = q.window[:i] + b + q.window[i + 1 : end]
        ids = torch.tensor(loaded.tokenizer(text)["input_ids"])
        with torch.no_grad():
            logits = loaded.model(input_ids=ids[None]).logits[0].double()
        logp = torch.log_softmax(logits, -1)
        logl.append(float(sum(logp[t - 1, ids[t]] for t in range(1, len(ids)))))
    e = np.exp(np.array(logl) - max(logl))
    return e / e.sum()


def probs(sc: Any, requests: list[ScoreRequest], batch_size: int = 8) -> np.ndarray:
    return np.concatenate([s.probs for s in sc.score(requests, batch_size)])


CASES = [(n, a, p) for n in TOKENIZERS for a in ("gpt2", "llama") for p in ("imputation", "next_nucleotide")]


def trims(loaded: LoadedModel, requests: list[ScoreRequest]) -> list[int]:
    """The window-start trim the frame rule chose per request (fixed-frame k-mers; 0 for the others),
    read back from the recorded offset of the site in its token (no N in these windows)."""
    stride = loaded.tokenizer_kind.stride
    scores = CandidateScorer(loaded).score(requests, 8)
    return [
        0 if s.frame is None else int((q.sites[0] - s.frame[0, 0]) % stride)
        for q, s in zip(requests, scores, strict=True)
    ]


@pytest.mark.parametrize(("name", "arch", "protocol"), CASES)
def test_scores_equal_brute_force_exact_bayes(name: str, arch: str, protocol: str) -> None:
    loaded = tiny(name, arch)
    r = reqs(protocol, 8, seed=3)
    ref = np.stack([brute_force(loaded, q, trim=t) for q, t in zip(r, trims(loaded, r), strict=True)])
    assert np.abs(ref - 0.25).max() > 0.05  # an informative model: a wrong rule would show
    for sc in (CausalLMScorer(loaded), CausalLMScorer(loaded, prefix_cache=False), CandidateScorer(loaded)):
        assert np.abs(probs(sc, r) - ref).max() < 1e-5
    got = CausalLMScorer(loaded).score(r[:1], 1)[0]
    assert not got.approximate
    side = "left" if protocol == "next_nucleotide" else "bayes"
    kind = {"char": "", "nt6": ".kmer", "bpe": ".bpe"}[name]
    assert got.path == f"causal.{side}{kind}"


def test_right_context_matches_brute_force() -> None:
    loaded = tiny("bpe", "llama")
    r = reqs("imputation", 6, seed=4)
    ref = np.stack([brute_force(loaded, q, right_context=7) for q in r])
    assert np.abs(probs(CausalLMScorer(loaded, right_context=7), r) - ref).max() < 1e-5


def test_uniform_token_model_on_bpe_is_not_uniform_over_bases_but_exact() -> None:
    """A model uniform over TOKENS prefers candidates with fewer tokens; the former sum of
    log(p*|V|) scored it 0.25 everywhere, which is not the model's p(b | x_{-i})."""
    tok = tokenizer("bpe")
    loaded = wrap_model(T.UniformCausalLM.for_tokenizer(tok), tok, model_kind="causal")
    r = reqs("imputation", 30, seed=5)
    ref = np.stack([brute_force(loaded, q) for q in r])
    got = probs(CausalLMScorer(loaded), r)
    assert np.abs(got - ref).max() < 1e-9 and np.abs(got - 0.25).max() > 0.1


def test_without_bos_a_site_in_the_first_token_is_labelled_approximate() -> None:
    loaded = tiny("nt6", bos=False)
    assert loaded.causal_prefix() == []
    w = T.real_dna(40, 1_000_123)
    inner = ScoreRequest(w, (20,), "imputation")
    first = ScoreRequest(w, (2,), "imputation")
    sc = CausalLMScorer(loaded)
    a, b = sc.score([inner, first], 4)
    assert not a.approximate and b.approximate
    # away from the first token the model's conditional on it is exact: brute force agrees
    assert np.abs(a.probs[0] - brute_force(loaded, inner, trim=trims(loaded, [inner])[0])).max() < 1e-5


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("name", ["char", "bpe"])
def test_prefix_cache_equals_full_windows(name: str, arch: str) -> None:
    """Stated tolerance: 1e-5 on probabilities in fp32 (float reordering between cached and full
    attention); in float64 the two agree to 1e-10, so the difference is rounding, not the method."""
    loaded = tiny(name, arch)
    r = [q for w in (33, 48, 97) for q in reqs("imputation", 6, seed=6, window=w)]  # ragged prefixes
    fast, full = CausalLMScorer(loaded), CausalLMScorer(loaded, prefix_cache=False)
    assert np.abs(probs(fast, r, 8) - probs(full, r, 8)).max() < 1e-5
    assert fast._cache_ok and full._cache_ok is False
    assert np.abs(probs(fast, r, 1) - probs(fast, r, 8)).max() < 1e-6  # batch-size invariant
    wide = wrap_model(T.tiny_causal_lm(loaded.tokenizer, arch=arch).double(), loaded.tokenizer)
    exact = CausalLMScorer(wide), CausalLMScorer(wide, prefix_cache=False)
    assert np.abs(probs(exact[0], r) - probs(exact[1], r)).max() < 1e-10


def _genobench(arch: str) -> LoadedModel:
    """genobench's own causal arch, untrained but with a sharpened head (peaked, informative scores)."""
    torch.manual_seed(0)
    model = M.build_model(arch).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(30.0)
    return wrap_model(model, M.dna_char_tokenizer(causal=True))


@pytest.mark.parametrize("arch", ["transformer", "cnn"])
def test_genobench_models_share_the_prefix(arch: str) -> None:
    """genobench's transformer (its key/value cache), LSTMs (their recurrent state) and CNN (its layers'
    last receptive-field inputs, its ``state``) take the shared
    prefix path, with the full windows' numbers within the stated 1e-5 and batch-size invariant."""
    loaded = _genobench(arch)
    r = [q for w in (33, 48, 97) for q in reqs("imputation", 6, seed=6, window=w)]  # ragged prefixes
    fast, full = CausalLMScorer(loaded), CausalLMScorer(loaded, prefix_cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = probs(fast, r, 8)
    ref = probs(full, r, 8)
    assert np.abs(ref - 0.25).max() > 0.05  # informative: a wrong cache would show
    assert np.abs(got - ref).max() < 1e-5
    assert fast._cache_ok is True
    assert np.abs(probs(fast, r, 1) - got).max() < 1e-5  # CPU conv kernels are chosen per batch shape


@pytest.mark.parametrize("arch", ["cnn_lstm", "cnn_dilated", "lstm"])
def test_archs_without_a_resumable_state_score_full_windows(arch: str) -> None:
    """cnn_lstm's state is its LSTM's only (the convolutions need the left context), cnn_dilated has
    none, the LSTM's state path is switched off (layers.LstmStack.resumable): full windows, no warning."""
    loaded = _genobench(arch)
    assert not loaded.model.resumable_state
    sc = CausalLMScorer(loaded)
    r = reqs("imputation", 4, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = probs(sc, r)
    assert sc._cache_ok is False
    assert np.array_equal(got, probs(CausalLMScorer(loaded, prefix_cache=False), r))


class _IgnoresPositions(torch.nn.Module):
    """A causal LM whose forward drops ``position_ids``: with right-padded prefixes its cached path
    would put the suffixes at the wrong positions."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner, self.config = inner, inner.config

    def forward(self, input_ids: Any, attention_mask: Any = None, position_ids: Any = None, **kw: Any) -> Any:
        return self.inner(input_ids=input_ids, attention_mask=attention_mask, **kw)


def test_a_cache_that_does_not_reproduce_full_windows_falls_back_with_a_warning() -> None:
    base = tiny("char")
    broken = LoadedModel(
        _IgnoresPositions(base.model), base.tokenizer, "causal", base.tokenizer_kind, "broken"
    )
    r = [q for w in (33, 70) for q in reqs("imputation", 4, seed=8, window=w)]
    sc = CausalLMScorer(broken)
    with pytest.warns(UserWarning, match="full windows"):
        got = probs(sc, r)
    assert sc._cache_ok is False
    assert np.array_equal(got, probs(CausalLMScorer(broken, prefix_cache=False), r))
    no_cache = wrap_model(
        T.UniformCausalLM.for_tokenizer(base.tokenizer), base.tokenizer, model_kind="causal"
    )
    sc = CausalLMScorer(no_cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model without a cache is not a problem: no warning
        assert (probs(sc, r) == 0.25).all() and sc._cache_ok is False


# --------------------------------------------------------------------------- the forward's gathering
def test_gathered_log_probs_equal_the_full_log_softmax_bit_for_bit() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, 11, generator=g) * 5
    positions = [np.array([0, 4]), np.array([], dtype=np.int64), np.array([6, 1, 2])]
    targets = [np.array([[1, 2, 3], [0, 10, 4]]), np.zeros((0, 3), np.int64), np.array([5, 5, 9])]
    full = select_log_probs(logits, positions)
    got = select_log_probs(logits, positions, targets)
    assert got[0].shape == (2, 3) and got[1].shape == (0, 3) and got[2].shape == (3,)
    for f, t, x in zip(full, targets, got, strict=True):
        t2 = torch.from_numpy(t if t.ndim == 2 else t[:, None])
        assert torch.equal(x if x.ndim == 2 else x[:, None], f.gather(1, t2)) and x.dtype == torch.float64


def test_log_probs_at_with_targets_matches_without_on_a_real_model() -> None:
    loaded = tiny("bpe")
    ids = [np.array([5, 9, 12, 40, 7]), np.array([5, 30, 31])]
    pos = [np.array([0, 1, 3]), np.array([2])]
    tg = [np.array([9, 12, 7]), np.array([[1, 2, 3, 4]])]
    full = loaded.log_probs_at(ids, pos)
    got = loaded.log_probs_at(ids, pos, targets=tg)
    assert torch.equal(got[0], full[0].gather(1, torch.from_numpy(tg[0])[:, None])[:, 0])
    assert torch.equal(got[1], full[1][:, 1:5])


# --------------------------------------------------------------------------- autocast dtype choice
def test_half_dtype_choice() -> None:
    bf16, fp16, fp32 = torch.bfloat16, torch.float16, torch.float32
    assert choose_half_dtype("cuda", None, fp32, True) is bf16  # device prefers bf16
    assert choose_half_dtype("cuda", "float16", fp16, True) is bf16
    assert choose_half_dtype("cuda", "float16", fp16, False) is fp16  # stored in fp16: safe
    assert choose_half_dtype("cuda", "bfloat16", fp32, False) is None  # fp16 would overflow
    assert choose_half_dtype("cuda", None, fp32, False) is None  # unknown: fp16 is not safe
    assert choose_half_dtype("cuda", "float16", bf16, False) is None  # weights are bf16
    assert choose_half_dtype("cpu", None, fp32, False) is bf16
    assert choose_half_dtype("mps", None, fp32, True) is None


def test_autocast_setting_on_cpu_and_checkpoint_dtype(tmp_path: Any) -> None:
    loaded = tiny("char")
    assert autocast_dtype(loaded, None) is None and autocast_dtype(loaded, "auto") is None  # exact on CPU
    assert autocast_dtype(loaded, True) is torch.bfloat16
    assert autocast_dtype(loaded, "fp16") is torch.float16 and autocast_dtype(loaded, "off") is None
    with pytest.raises(ConfigError, match="autocast must be"):
        autocast_dtype(loaded, "fp8")
    model = T.tiny_causal_lm(loaded.tokenizer).to(torch.bfloat16)
    model.save_pretrained(tmp_path)
    loaded.tokenizer.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = load_model(tmp_path)
    assert back.checkpoint_dtype == "bfloat16" and next(back.model.parameters()).dtype == torch.float32
    assert CausalLMScorer(back, autocast=True).autocast is torch.bfloat16
