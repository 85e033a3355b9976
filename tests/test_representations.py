"""Per-nucleotide hidden states: layer discovery, the alignment mapping, batching, both access paths."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.representations import (
    find_layers,
    module_layers,
    nucleotide_states,
    replace_first_tensor,
    select_layers,
)
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.testing import (
    bpe_tokenizer,
    char_tokenizer,
    kmer_tokenizer,
    real_dna,
    tiny_causal_lm,
    tiny_masked_lm,
)

DNA = real_dna(300, offset=10_000)


def _hidden(loaded: Any, ids: list[int]) -> tuple[torch.Tensor, ...]:
    with torch.inference_mode():
        return loaded.model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states


def test_hidden_states_layers_and_char_mapping() -> None:
    tok = char_tokenizer()
    loaded = wrap_model(tiny_masked_lm(tok), tok)
    layers = find_layers(loaded)
    assert [(la.name, la.index, la.source) for la in layers] == [
        ("embeddings", 0, "hidden_states"), ("layer_1", 1, "hidden_states"), ("layer_2", 2, "hidden_states"),
    ]  # fmt: skip
    seq, pos = DNA[:64], [0, 7, 63]
    states = nucleotide_states(loaded, [seq], [pos])
    hs = _hidden(loaded, tok(seq)["input_ids"])  # [CLS] + one token per nucleotide + [SEP]
    for i, name in enumerate(["embeddings", "layer_1", "layer_2"]):
        np.testing.assert_allclose(states[name], hs[i][0, [p + 1 for p in pos]].numpy(), rtol=1e-5, atol=1e-6)


def test_hooks_agree_with_hidden_states() -> None:
    tok = char_tokenizer()
    loaded = wrap_model(tiny_masked_lm(tok), tok)
    hooked = module_layers(loaded)
    assert [la.name for la in hooked] == [
        "bert.embeddings.word_embeddings", "bert.encoder.layer.0", "bert.encoder.layer.1",
        "cls.predictions.decoder:input",
    ]  # fmt: skip
    seqs, pos = [DNA[:50], DNA[60:90]], [[3, 40], [0, 29]]
    via_hidden = nucleotide_states(loaded, seqs, pos, layers=select_layers(find_layers(loaded), ["layer_2"]))
    via_hooks = nucleotide_states(loaded, seqs, pos, layers=select_layers(hooked, ["bert.encoder.layer.1"]))
    np.testing.assert_allclose(via_hidden["layer_2"], via_hooks["bert.encoder.layer.1"], rtol=1e-5, atol=1e-6)


def test_causal_prefix_and_batching_are_invisible() -> None:
    tok = char_tokenizer(causal=True)
    loaded = wrap_model(tiny_causal_lm(tok), tok)
    seqs = [DNA[:40], DNA[100:170], DNA[200:233]]
    pos = [[0, 39], [5, 69], [32]]
    one = nucleotide_states(loaded, seqs, pos, batch_size=1)
    many = nucleotide_states(loaded, seqs, pos, batch_size=3)  # right padding, attention mask
    for name in one:
        np.testing.assert_allclose(one[name], many[name], rtol=1e-4, atol=1e-5)
    hs = _hidden(loaded, loaded.causal_prefix() + tok(seqs[1], add_special_tokens=False)["input_ids"])
    np.testing.assert_allclose(one["layer_2"][2:4], hs[2][0, [6, 70]].numpy(), rtol=1e-5, atol=1e-6)


def test_overlapping_kmers_average_their_covering_tokens() -> None:
    k = 3
    tok = kmer_tokenizer(k, overlapping=True)
    loaded = wrap_model(tiny_masked_lm(tok), tok)
    seq, pos = DNA[:30], [0, 1, 15, 29]
    states = nucleotide_states(loaded, [seq], [pos])
    text = " ".join(seq[t : t + k] for t in range(len(seq) - k + 1))
    hs = _hidden(loaded, tok(text)["input_ids"])[2][0].numpy()  # [CLS] then token t covers t..t+k-1
    for row, p in enumerate(pos):
        tokens = [t + 1 for t in range(max(0, p - k + 1), min(p, len(seq) - k) + 1)]
        np.testing.assert_allclose(states["layer_2"][row], hs[tokens].mean(axis=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: kmer_tokenizer(6), lambda: bpe_tokenizer()])
def test_nucleotides_of_one_token_share_its_state(make: Any) -> None:
    tok = make()
    loaded = wrap_model(tiny_masked_lm(tok), tok)
    seq = DNA[:96]
    states = nucleotide_states(loaded, [seq], [list(range(len(seq)))])["layer_1"]
    spans = np.array(tok(seq, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"])
    for start, end in spans:
        assert np.all(states[start:end] == states[start])
    assert len({tuple(states[s]) for s, _ in spans}) > 1


def test_layer_selection_and_errors() -> None:
    tok = char_tokenizer()
    loaded = wrap_model(tiny_masked_lm(tok), tok)
    layers = find_layers(loaded)
    assert [la.name for la in select_layers(layers, [-1, "embeddings"])] == ["embeddings", "layer_2"]
    assert select_layers(layers, None) == layers
    with pytest.raises(ConfigError, match=r"unknown layer 'layer_9'.*embeddings, layer_1, layer_2"):
        select_layers(layers, ["layer_9"])
    with pytest.raises(ConfigError, match="position lists"):
        nucleotide_states(loaded, [DNA[:10]], [])
    with pytest.raises(ModelError, match="holds no tensor"):
        replace_first_tensor(("a", 1), torch.zeros(1))


class _Flat(nn.Module):
    """A model whose modules never output per-token states (it pools at once): nothing to probe."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab, 4)
        self.config = type("C", (), {"model_type": "flat", "vocab_size": vocab, "_name_or_path": "flat"})()

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None, **_: Any) -> Any:
        pooled = self.embed(input_ids)
        return type("O", (), {"logits": pooled[:, None, :].expand(-1, input_ids.shape[1], -1)})()


def test_a_model_without_token_states_is_a_clear_error() -> None:
    tok = char_tokenizer()
    model = _Flat(len(tok))
    model.model_kind = "masked"  # type: ignore[attr-defined]
    loaded = wrap_model(model, tok, model_kind="masked", tokenizer_kind="char")
    with pytest.raises(ModelError, match="no module returns per-token states"):
        find_layers(loaded)
