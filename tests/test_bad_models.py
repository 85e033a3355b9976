"""Broken model folders give a clear ModelError naming the folder, never a library traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genobench_hf import testing as T
from genobench_hf.errors import ModelError
from genobench_hf.scoring.loading import load_model


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    tok = T.char_tokenizer()
    model = T.tiny_masked_lm(tok)
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    return tmp_path / "m"


def test_good_folder_loads(good: Path) -> None:
    assert load_model(good).model_kind == "masked"


def test_corrupted_safetensors(good: Path) -> None:
    weights = next(good.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(ModelError, match=r"cannot load .* \(SafetensorError"):
        load_model(good)


def test_config_vocab_does_not_fit_weights(good: Path) -> None:
    config = json.loads((good / "config.json").read_text())
    config["vocab_size"] = 4
    (good / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="cannot load"):
        load_model(good)


@pytest.mark.parametrize(
    ("remove", "message"), [("config.json", "no config.json"), ("*.safetensors", "no weights")]
)
def test_missing_files(good: Path, remove: str, message: str) -> None:
    for p in good.glob(remove):
        p.unlink()
    with pytest.raises(ModelError, match=message):
        load_model(good)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(str(tmp_path / "nope"))


def test_tokenizer_of_another_kind(good: Path) -> None:
    """A text tokenizer (no A/C/G/T tokens) beside DNA weights is refused."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[MASK]": 2, "hello": 3, "world": 4}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    text = PreTrainedTokenizerFast(
        tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", mask_token="[MASK]"
    )
    for p in list(good.glob("tokenizer*")) + list(good.glob("special_tokens*")):
        p.unlink()
    text.save_pretrained(good)
    with pytest.raises(ModelError, match="no DNA tokens"):
        load_model(good)


def test_folder_without_tokenizer_files_says_so(tmp_path: Path) -> None:
    """Weights but no tokenizer: the message names the missing files, not an empty DNA vocabulary."""
    T.tiny_masked_lm(T.char_tokenizer()).save_pretrained(tmp_path / "m")
    with pytest.raises(ModelError, match=r"no tokenizer files \(looked for tokenizer\.json, ") as info:
        load_model(tmp_path / "m")
    assert str(tmp_path / "m") in str(info.value) and "no DNA tokens" not in str(info.value)


@pytest.mark.parametrize(("kind", "value"), [("masked", float("nan")), ("causal", float("inf"))])
def test_non_finite_weights_are_named(tmp_path: Path, kind: str, value: float) -> None:
    """NaN/inf weights: a ModelError naming the model and the first damaged tensor, before any metric."""
    import torch

    from genobench_hf.scoring.causal import CausalLMScorer
    from genobench_hf.scoring.masked import MaskedLMScorer

    tok = T.char_tokenizer(causal=kind == "causal")
    model = T.tiny_masked_lm(tok) if kind == "masked" else T.tiny_causal_lm(tok)
    name, param = next(iter(model.named_parameters()))
    with torch.no_grad():
        param.view(-1)[:3] = value
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    scorer = (MaskedLMScorer if kind == "masked" else CausalLMScorer)(loaded)
    with pytest.raises(ModelError, match="weights hold NaN or infinite values") as info:
        scorer.score(T.sample_requests(T.real_dna(2000), "imputation", 4), 4)
    message = str(info.value)
    assert str(tmp_path / "m") in message and repr(name) in message and f"3 of {param.numel():,}" in message
