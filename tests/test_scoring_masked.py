"""Model loading and the masked-LM scorer (char and fixed-frame k-mer fast paths, BPE delegation)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from genobench_hf import testing as T
from genobench_hf.alignment import kmer_strings
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.scoring.base import BASES, ScoreRequest
from genobench_hf.scoring.candidate import expand_units
from genobench_hf.scoring.loading import LoadedModel, load_model, wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models run faster on one thread


@cache
def tok(name: str) -> Any:
    return {
        "char": T.char_tokenizer,
        "nt6": lambda: T.kmer_tokenizer(6),
        "dnabert6": lambda: T.kmer_tokenizer(6, overlapping=True),
        "bpe": T.bpe_tokenizer,
    }[name]()


@cache
def tiny(name: str) -> LoadedModel:
    return wrap_model(T.tiny_masked_lm(tok(name)), tok(name))


def reqs(protocol: str, n: int = 16, seed: int = 0, window: int = 64) -> list[ScoreRequest]:
    return T.sample_requests(T.real_dna(100_000, 500_000), protocol, n, window=window, seed=seed)


def probs_of(sc: Any, requests: list[ScoreRequest], batch_size: int = 8) -> np.ndarray:
    return np.concatenate([s.probs for s in sc.score(requests, batch_size)])


# --------------------------------------------------------------------------- loading
def test_save_and_load_round_trip_detects_kinds(tmp_path: Path) -> None:
    model = T.tiny_masked_lm(tok("nt6"), arch="esm")
    model.save_pretrained(tmp_path)
    tok("nt6").save_pretrained(tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.model_kind == "masked" and str(loaded.tokenizer_kind) == "kmer:6"
    assert loaded.max_length == 1026 - tok("nt6").pad_token_id - 1  # ESM counts from padding_idx + 1
    r = reqs("imputation", 4)
    ref = probs_of(MaskedLMScorer(wrap_model(model, tok("nt6"))), r)
    assert np.allclose(probs_of(MaskedLMScorer(loaded), r), ref, atol=1e-6)


def test_load_causal_auto_detected(tmp_path: Path) -> None:
    t = T.char_tokenizer(causal=True)
    T.tiny_causal_lm(t, arch="llama").save_pretrained(tmp_path)
    t.save_pretrained(tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.model_kind == "causal" and loaded.max_length == 1024
    with pytest.raises(ModelError, match="causal LM"):
        MaskedLMScorer(loaded)


def test_load_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no config\.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(BertConfig(vocab_size=12).to_dict()))
    with pytest.raises(ModelError, match="no weights"):
        load_model(tmp_path)
    with pytest.raises(ConfigError):
        load_model(tmp_path, dtype="int8")  # type: ignore[arg-type]


def test_bare_encoder_without_lm_head_is_refused(tmp_path: Path) -> None:
    cfg = BertConfig(vocab_size=len(tok("char")), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64)  # fmt: skip
    bare = BertModel(cfg)
    bare.save_pretrained(tmp_path)
    tok("char").save_pretrained(tmp_path)
    with pytest.raises(ModelError, match="no masked-LM or causal-LM head"):
        load_model(tmp_path)
    with pytest.raises(ModelError, match="lacks the masked-LM head"):
        load_model(tmp_path, model_kind="masked")
    with pytest.raises(ModelError, match="no masked-LM or causal-LM head"):
        wrap_model(bare, tok("char"))


def test_remote_code_needs_consent(tmp_path: Path) -> None:
    model = T.tiny_masked_lm(tok("char"))
    model.save_pretrained(tmp_path)
    tok("char").save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForMaskedLM": "modeling_x.XForMaskedLM"}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="trust-remote-code"):
        load_model(tmp_path)


def test_tokenizer_without_mask_token_is_refused_in_masked_mode() -> None:
    t = tok("char")
    no_mask = PreTrainedTokenizerFast(
        tokenizer_object=t.backend_tokenizer, unk_token="[UNK]", pad_token="[PAD]"
    )
    with pytest.raises(ModelError, match="no mask token"):
        wrap_model(T.tiny_masked_lm(t), no_mask)


def test_tokenizer_larger_than_model_vocabulary_is_refused() -> None:
    model = T.tiny_masked_lm(tok("char"))
    with pytest.raises(ModelError, match="do not belong together"):
        wrap_model(model, tok("nt6"))


def test_window_longer_than_max_length_is_a_clear_error() -> None:
    loaded = wrap_model(T.tiny_masked_lm(tok("char"), max_position_embeddings=64), tok("char"))
    sc = MaskedLMScorer(loaded)
    sc.score(reqs("imputation", 2, window=62), 2)  # 62 nt + [CLS] + [SEP] = 64 tokens fits
    with pytest.raises(ModelError, match=r"at most 64 tokens \(about 62 nt"):
        sc.score(reqs("imputation", 2, window=63), 2)


# --------------------------------------------------------------------------- the scorer
@pytest.mark.parametrize("name", ["char", "nt6", "dnabert6", "bpe"])
def test_probabilities_are_normalised_and_paths_named(name: str) -> None:
    sc = MaskedLMScorer(tiny(name))
    scores = sc.score(reqs("imputation"), 8)
    probs = np.concatenate([s.probs for s in scores])
    assert np.allclose(probs.sum(axis=1), 1.0) and (probs > 0).all()
    assert scores[0].path == (
        "candidate.bpe" if name == "bpe" else f"masked.{'kmer' if name != 'char' else 'char'}"
    )
    assert scores[0].approximate == (name == "bpe")


class Unframed(MaskedLMScorer):
    """The fast path on the plain units (no frame rule), so sparse and dense units are the same cut."""

    def _units(self, requests: Any) -> Any:
        return expand_units(requests)


@pytest.mark.parametrize("name", ["char", "nt6", "dnabert6"])
def test_dense_with_one_site_is_the_sparse_quantity(name: str) -> None:
    sc = Unframed(tiny(name))  # the frame rule cuts dense windows differently: tests/test_frames.py
    sparse = reqs("imputation")
    dense = [ScoreRequest(q.window, q.sites, "imputation_dense") for q in sparse]
    assert np.allclose(probs_of(sc, sparse), probs_of(sc, dense), atol=1e-12)


@pytest.mark.parametrize("name", ["char", "nt6", "dnabert6", "bpe"])
def test_next_nucleotide_ignores_the_right_context(name: str) -> None:
    sc = MaskedLMScorer(tiny(name))
    base = reqs("next_nucleotide")
    other = T.real_dna(64, 900_000)
    longer = [ScoreRequest(q.window + other[:20], q.sites, "next_nucleotide") for q in base]
    assert np.array_equal(probs_of(sc, base), probs_of(sc, longer))


def ragged(requests: list[ScoreRequest]) -> list[ScoreRequest]:
    """Cut windows to different lengths so that batches need padding (the attention mask matters)."""
    out = []
    for j, q in enumerate(requests):
        end = 40 + (7 * j) % 25
        sites = tuple(s for s in q.sites if s < end)
        if sites:
            out.append(ScoreRequest(q.window[:end], sites, q.protocol))
    return out


@pytest.mark.parametrize("name", ["char", "nt6", "dnabert6", "bpe"])
def test_batch_size_does_not_change_probabilities(name: str) -> None:
    sc = MaskedLMScorer(tiny(name))
    for protocol in ("imputation", "imputation_dense"):
        if sc.skip_reason(protocol) is None:
            r = ragged(reqs(protocol, 12, seed=3))
            assert np.abs(probs_of(sc, r, 1) - probs_of(sc, r, 8)).max() < 1e-6


def test_mass_outside_acgt_for_a_uniform_model() -> None:
    for name, inside in (("char", 4), ("nt6", 4)):
        sc = MaskedLMScorer(wrap_model(T.UniformMaskedLM.for_tokenizer(tok(name)), tok(name)))
        mass = np.concatenate([s.mass_outside for s in sc.score(reqs("imputation", 4), 4)])
        assert np.allclose(mass, 1 - inside / len(tok(name)))


def test_bpe_dense_is_skipped_with_a_reason() -> None:
    sc = MaskedLMScorer(tiny("bpe"))
    assert "BPE" in (sc.skip_reason("imputation_dense") or "")
    assert sc.skip_reason("imputation") is None
    with pytest.raises(ConfigError):
        sc.score(reqs("imputation_dense", 1), 1)


def test_kmer_marginal_over_a_second_hidden_site_in_the_same_token() -> None:
    """Hand check of the marginalisation: two hidden sites in one 6-mer, the other one summed out."""
    loaded = tiny("nt6")
    window = T.real_dna(30, 700_000).replace("N", "A")
    sites = (13, 15)  # both in the 6-mer [12, 18)
    got = Unframed(loaded).score([ScoreRequest(window, sites, "imputation_dense")], 1)[0].probs  # frame at 0
    ids = np.array(tok("nt6")(window)["input_ids"])
    ids[3] = tok("nt6").mask_token_id  # [CLS] [0,6) [6,12) [12,18)
    logp = loaded.log_probs_at([ids], [np.array([3])])[0][0].exp().numpy()
    vocab = tok("nt6").get_vocab()
    for j, site in enumerate(sites):
        want = np.zeros(4)
        for kmer in kmer_strings(6):
            known = all(kmer[o] == window[12 + o] for o in range(6) if 12 + o not in sites)
            if known:
                want[BASES.index(kmer[site - 12])] += logp[vocab[kmer]]
        assert np.allclose(got[j], want / want.sum(), atol=1e-12)
