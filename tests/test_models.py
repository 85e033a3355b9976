"""Baseline architectures: Auto-class round trips, strict causality, heads, tokenizer, scorer loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

import genobench_hf.models as M
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.models.tokenizer import BOS_ID, encode
from genobench_hf.testing import real_dna

CAUSAL = list(M.ARCHS)


def _ids(n: int, offset: int = 0, batch: int = 2) -> torch.Tensor:
    dna = encode(real_dna(n * batch, offset=offset)).astype(np.int64).reshape(batch, n)
    return torch.cat([torch.full((batch, 1), BOS_ID), torch.from_numpy(dna)], dim=1)


def _build(arch: str, objective: str = "clm") -> torch.nn.Module:
    torch.manual_seed(0)
    return M.build_model(arch, objective).eval()


@pytest.mark.parametrize("arch", CAUSAL)
def test_causal_round_trip_through_auto_classes(arch: str, tmp_path: Path) -> None:
    model = _build(arch)
    n_params = sum(p.numel() for p in model.parameters())
    assert 50_000 <= n_params <= 1_000_000, n_params
    model.save_pretrained(tmp_path)
    M.dna_char_tokenizer(causal=True).save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is type(model.config)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert type(loaded) is type(model)
    x = _ids(40)
    with torch.no_grad():
        a, b = model(x).logits, loaded(x).logits
    assert a.shape == (2, 41, M.make_config(arch).vocab_size)
    assert torch.equal(a, b)
    assert AutoTokenizer.from_pretrained(tmp_path)("ACGT")["input_ids"] == [BOS_ID, 5, 6, 7, 8]


def test_masked_transformer_round_trip_and_wrong_head(tmp_path: Path) -> None:
    model = _build("transformer", "mlm")
    model.save_pretrained(tmp_path)
    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    assert type(loaded).__name__ == "GenobenchTransformerForMaskedLM"
    x = _ids(30)
    with torch.no_grad():
        assert torch.equal(model(x).logits, loaded(x).logits)
    with pytest.raises(ModelError, match="AutoModelForMaskedLM"):
        AutoModelForCausalLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("arch", CAUSAL)
def test_strict_causality(arch: str) -> None:
    """Logits at <= t never depend on tokens > t, and DO depend on token t (catches an off-by-one)."""
    model = _build(arch)
    x = _ids(300, offset=5000, batch=1)
    with torch.no_grad():
        base = model(x).logits
        for t in (0, 1, 7, 150, 299):
            y = x.clone()
            y[0, t + 1 :] = torch.where(y[0, t + 1 :] == 5, 8, 5)  # every later token changed
            out = model(y).logits
            assert torch.equal(out[0, : t + 1], base[0, : t + 1]), f"position <= {t} saw the future"
            z = x.clone()
            z[0, t] = 6 if int(x[0, t]) != 6 else 7
            assert not torch.allclose(model(z).logits[0, t], base[0, t]), (
                f"position {t} ignores its own token"
            )


def test_masked_transformer_is_bidirectional() -> None:
    model = _build("transformer", "mlm")
    x = _ids(50, batch=1)
    y = x.clone()
    y[0, 30] = 6 if int(x[0, 30]) != 6 else 7
    with torch.no_grad():
        assert not torch.allclose(model(x).logits[0, 10], model(y).logits[0, 10])


@pytest.mark.parametrize("arch", ["cnn_dilated", "transformer", "lstm"])
def test_right_padding_and_loss(arch: str) -> None:
    """Right padding leaves real positions unchanged; the loss ignores padding and is the shifted CE."""
    model = _build(arch)
    x = _ids(20, batch=1)
    padded = torch.cat([x, torch.zeros(1, 5, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(1, 21), torch.zeros(1, 5)], dim=1).long()
    with torch.no_grad():
        full = model(x, labels=x)
        pad = model(padded, attention_mask=mask, labels=padded)
    assert torch.allclose(full.logits, pad.logits[:, :21], atol=1e-5)
    assert torch.allclose(full.loss, pad.loss, atol=1e-6)
    ref = torch.nn.functional.cross_entropy(full.logits[0, :-1], x[0, 1:])
    assert torch.allclose(full.loss, ref, atol=1e-6)


@pytest.mark.parametrize("arch", ["lstm_stateful", "cnn_lstm"])
def test_carried_state_equals_one_pass(arch: str) -> None:
    """Truncated BPTT is exact in the forward pass: two halves with the state carried = one pass."""
    model = _build(arch)
    x = _ids(64, batch=2)
    with torch.no_grad():
        whole = model(x).logits
        first = model(x[:, :33])
        second = model(x[:, 33:], state=first.state)
    atol = 1e-5
    assert torch.allclose(whole[:, :33], first.logits, atol=atol)
    if arch == "lstm_stateful":  # a conv front end needs the left context, not only the LSTM state
        assert torch.allclose(whole[:, 33:], second.logits, atol=atol)


def test_tokenizer_variants_and_fast_encoder(tmp_path: Path) -> None:
    seq = real_dna(500, offset=123) + "NRacgtn"
    for causal, prefix, suffix in ((True, ["[BOS]"], []), (False, ["[CLS]"], ["[SEP]"])):
        tok = M.dna_char_tokenizer(causal)
        tok.save_pretrained(tmp_path / str(causal))
        again = AutoTokenizer.from_pretrained(tmp_path / str(causal))
        ids = again(seq)["input_ids"]
        assert again.convert_ids_to_tokens(ids[:1]) == prefix
        assert again.convert_ids_to_tokens(ids[len(ids) - len(suffix) :]) == suffix or not suffix
        body = ids[1 : len(ids) - len(suffix)]
        assert body[:-6] == encode(seq).tolist()[:-6]  # encode maps IUPAC (R) to N; the tokenizer to [UNK]
        assert again.convert_ids_to_tokens(body[-5:]) == list("ACGTN")  # lowercase uppercased
        assert again.mask_token_id == 4 and again.pad_token_id == 0 and len(again) == 10


def test_scorer_loads_trained_folders(tmp_path: Path) -> None:
    """genobench's own loader sees a causal char model and a masked char model."""
    from genobench_hf.scoring.loading import load_model

    for objective, kind in (("clm", "causal"), ("mlm", "masked")):
        folder = tmp_path / objective
        _build("transformer", objective).save_pretrained(folder)
        M.dna_char_tokenizer(objective == "clm").save_pretrained(folder)
        loaded = load_model(folder)
        assert loaded.model_kind == kind
        assert loaded.tokenizer_kind.kind == "char"
        assert loaded.max_length is None
        if kind == "causal":
            assert loaded.causal_prefix() == [BOS_ID]


def test_bad_arch_and_objective() -> None:
    with pytest.raises(ConfigError, match="unknown arch 'gru'"):
        M.build_model("gru")
    with pytest.raises(ConfigError, match="mlm needs a bidirectional arch"):
        M.build_model("cnn", "mlm")
    with pytest.raises(ConfigError, match="bad config field"):
        M.build_model("cnn", nonsense_width=3)
    with pytest.raises(ModelError, match="dilations"):
        M.build_model("cnn_dilated", dilations=[])
