"""Ablation hooks and the neuron_importance task on models whose truth is known by construction.

:class:`NeighbourLM` (also used by test_probes.py) is a masked LM over a char tokenizer whose LM head
reads only channels 0..7 of its last layer (one-hot of the previous and of the next base); every other
channel is unused, so ablating it must change nothing, bit for bit, and ablating every channel of the
head input must give exactly chance (all logits 0). Its optional ``oracle`` writes a per-nucleotide label
into channel ``ORACLE`` from the test's own annotation (found by matching the input text): a test double
only, the real pipeline never gives a model its labels.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput

from genobench_hf.ablation import ablate, channel_means, group_effects, n_channels, single_effects
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.representations import capture, module_layers
from genobench_hf.scoring.base import ScoreRequest
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer
from genobench_hf.tasks.base import TaskConfig
from genobench_hf.tasks.neuron_importance import NeuronImportance, measure_fn
from genobench_hf.testing import char_tokenizer, real_dna, sample_requests
from genobench_hf.testing_context import MemoryContext

HIDDEN, ORACLE, STRENGTH = 16, 8, 1.0


class NeighbourConfig(PretrainedConfig):
    model_type = "genobench_neighbour_test"

    def __init__(self, vocab_size: int = 12, nucleotide_ids: list[int] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.vocab_size, self.nucleotide_ids = vocab_size, nucleotide_ids or [7, 8, 9, 10]


class _Shift(nn.Module):
    """Channels 0..3 <- base one-hot of the previous token, 4..7 <- of the next; others pass through."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[:, :, 0:8] = 0
        out[:, 1:, 0:4] = x[:, :-1, 0:4]
        out[:, :-1, 4:8] = x[:, 1:, 0:4]
        return out


class _Noise(nn.Module):
    """Mixes the unused channels (ORACLE + 1 ...) among themselves; channels 0..ORACLE pass through."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(HIDDEN - ORACLE - 1, HIDDEN - ORACLE - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[..., : ORACLE + 1], torch.tanh(self.mix(x[..., ORACLE + 1 :]))], dim=-1)


class HandBuiltLM(PreTrainedModel):
    """Base of the test doubles whose weights are set by hand: an ``embed`` input embedding and an
    ``lm_head``, no initialisation by transformers (tests/test_probe_controls.py and
    tests/test_importance_controls.py subclass it too)."""

    def _init_weights(self, module: nn.Module) -> None:
        pass

    def get_input_embeddings(self) -> nn.Module:
        return self.embed

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head


class NeighbourLM(HandBuiltLM):
    config_class = NeighbourConfig
    model_kind = "masked"
    oracle: list[tuple[str, np.ndarray]] | None = None

    def __init__(self, config: NeighbourConfig) -> None:
        super().__init__(config)
        gen = torch.Generator().manual_seed(0)
        self.embed = nn.Embedding(config.vocab_size, HIDDEN)
        self.blocks = nn.ModuleList([_Shift(), _Noise()])
        self.lm_head = nn.Linear(HIDDEN, config.vocab_size)
        with torch.no_grad():
            self.embed.weight.zero_()
            self.embed.weight[:, ORACLE + 1 :] = torch.randn(
                config.vocab_size, HIDDEN - ORACLE - 1, generator=gen
            )
            self.lm_head.weight.zero_()
            self.lm_head.bias.zero_()
            for b, tid in enumerate(config.nucleotide_ids):
                self.embed.weight[tid, b] = 1.0
                self.lm_head.weight[tid, b] = self.lm_head.weight[tid, 4 + b] = STRENGTH
            self.blocks[1].mix.weight.copy_(torch.randn(self.blocks[1].mix.weight.shape, generator=gen))

    def _write_oracle(self, ids: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        chars = np.full(self.config.vocab_size, "#")
        chars[self.config.nucleotide_ids] = list("ACGT")
        h = h.clone()
        for b, row in enumerate(ids.cpu().numpy()):
            text = "".join(chars[row])
            body = text.strip("#")
            first = text.index(body[0]) if body else 0
            for seq, labels in self.oracle or []:
                at = seq.find(body) if body else -1
                if at >= 0:
                    h[b, first : first + len(body), ORACLE] = torch.from_numpy(
                        labels[at : at + len(body)]
                    ).to(h.dtype)
                    break
        return h

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None, **_: Any) -> MaskedLMOutput:
        h = self.embed(input_ids)
        if self.oracle:
            h = self._write_oracle(input_ids, h)
        for block in self.blocks:
            h = block(h)
        return MaskedLMOutput(logits=self.lm_head(h))


def neighbour_model(oracle: list[tuple[str, np.ndarray]] | None = None) -> Any:
    tok = char_tokenizer()
    ids = [tok.convert_tokens_to_ids(b) for b in "ACGT"]
    model = NeighbourLM(NeighbourConfig(vocab_size=len(tok), nucleotide_ids=ids)).eval()
    model.oracle = oracle
    return wrap_model(model, tok, model_kind="masked", tokenizer_kind="char")


@pytest.fixture(scope="module")
def neighbour() -> Any:
    return neighbour_model()


@pytest.fixture(scope="module")
def requests() -> list[ScoreRequest]:
    return sample_requests(real_dna(20_000, offset=50_000), "imputation", 48, window=64, seed=3)


def _probs(scorer: MaskedLMScorer, reqs: list[ScoreRequest]) -> np.ndarray:
    return np.concatenate([s.probs for s in scorer.score(reqs, 16)])


def test_layers_of_the_double_and_unused_channels_change_nothing(neighbour: Any, requests: list) -> None:
    layers = module_layers(neighbour)
    assert [layer.name for layer in layers] == ["embed", "blocks.0", "blocks.1"]  # head input == blocks.1
    scorer = MaskedLMScorer(neighbour)
    base = _probs(scorer, requests)
    assert np.abs(base - 0.25).max() > 0.1  # the neighbour rule is far from uniform
    last = layers[-1]
    for channel in (ORACLE, ORACLE + 1, HIDDEN - 1):
        for mode in ("zero", "mean"):
            means = channel_means(neighbour, last, [r.window for r in requests]) if mode == "mean" else None
            with ablate(neighbour.model, last, [channel], mode=mode, means=means):
                assert np.array_equal(_probs(scorer, requests), base)
    with ablate(neighbour.model, last, [0]):
        assert not np.array_equal(_probs(scorer, requests), base)
    assert np.array_equal(_probs(scorer, requests), base)  # hooks are gone after the block


def test_ablating_every_channel_gives_exactly_chance(neighbour: Any, requests: list) -> None:
    scorer = MaskedLMScorer(neighbour)
    layer = module_layers(neighbour)[-1]
    with ablate(neighbour.model, layer, range(n_channels(neighbour, layer))):
        assert np.array_equal(_probs(scorer, requests), np.full((len(requests), 4), 0.25))
    measure = measure_fn(scorer, requests, 16)
    curve = group_effects(neighbour.model, layer, list(range(HIDDEN)), [0.0, 0.5, 1.0], measure)
    assert [c["n_ablated"] for c in curve] == [0, 8, 16]
    assert curve[0] == {"fraction": 0.0, "n_ablated": 0, **measure()}
    assert curve[1]["bits_per_nt"] == curve[2]["bits_per_nt"] == 2.0  # channels 0..7 carry everything
    single = single_effects(neighbour.model, layer, [0, ORACLE], measure)
    assert single[1] == measure() and single[0] != measure()


def _ctx(rows: list[dict], loaded: Any, **extra: Any) -> Any:
    config = SimpleNamespace(task=TaskConfig(window=64, extra=extra), batch_size=32, show_progress=False)
    return MemoryContext(lambda dataset, split: rows, config, encoder=loaded)


def test_neuron_importance_task_finds_the_used_channels(neighbour: Any) -> None:
    rows = [{"genome_id": f"g{i}", "sequence": real_dna(4000, offset=200_000 + 5000 * i)} for i in range(2)]
    ctx = _ctx(rows, neighbour, importance_sites=40, importance_layer="blocks.1")
    out = NeuronImportance().run(MaskedLMScorer(neighbour), "PRO", ctx)
    assert out["layer"] == "blocks.1" and out["n_neurons"] == HIDDEN and out["ablation"] == "zero"
    deltas = {p["index"]: p for p in out["per_neuron"]}
    assert all(
        deltas[c]["delta_bits"] == 0.0 and deltas[c]["delta_accuracy"] == 0.0 for c in range(8, HIDDEN)
    )
    assert all(deltas[c]["delta_bits"] != 0.0 for c in range(8))
    helpful = {c for c, p in deltas.items() if p["delta_bits"] > 0}
    assert helpful and helpful <= set(range(8)) and set(out["ranking"][: len(helpful)]) == helpful
    assert 1 <= out["half_effect_neurons"] <= 8 and out["gini"] >= 0.5
    assert out["curve"][-1]["fraction"] == 1.0 and out["curve"][-1]["bits_per_nt"] == 2.0
    assert out["curve"][0]["bits_per_nt"] == out["baseline_held_out"]["bits_per_nt"]  # curve: held-out sites
    assert out["curve_ranking_sites"][0]["bits_per_nt"] == out["baseline"]["bits_per_nt"]
    assert out["n_sites"] == out["n_sites_held_out"] == 40
    again = NeuronImportance().run(MaskedLMScorer(neighbour), "PRO", ctx)
    assert again == out  # deterministic for a seed
    mean = NeuronImportance().run(MaskedLMScorer(neighbour), "PRO", _ctx(rows, neighbour, importance_sites=40,
                                  importance_mode="mean", importance_max_neurons=4))  # fmt: skip
    assert mean["ablation"] == "mean" and mean["n_evaluated"] == 4 and len(mean["per_neuron"]) == 4


def test_neuron_importance_skips_and_rejects_bad_options(neighbour: Any) -> None:
    rows = [{"genome_id": "g", "sequence": real_dna(2000)}]
    markov = SimpleNamespace(name="markov:3", skip_reason=lambda p: None)
    assert "skipped" in NeuronImportance().run(markov, "PRO", _ctx(rows, None))
    with pytest.raises(ConfigError, match="importance_mode"):
        NeuronImportance().run(
            MaskedLMScorer(neighbour), "PRO", _ctx(rows, neighbour, importance_mode="half")
        )
    with pytest.raises(ConfigError, match="unknown neuron importance option"):
        NeuronImportance().run(MaskedLMScorer(neighbour), "PRO", _ctx(rows, neighbour, importance_foo=1))
    with (
        pytest.raises(ConfigError, match="mean ablation needs"),
        ablate(neighbour.model, module_layers(neighbour)[0], [0], mode="mean"),
    ):
        pass
    with (
        pytest.raises(ModelError, match="channels"),
        ablate(neighbour.model, module_layers(neighbour)[0], [99]),
    ):
        neighbour.model(input_ids=torch.tensor([[7, 8]]))


@pytest.mark.parametrize("arch", ["lstm", "cnn", "cnn_lstm", "transformer"])
def test_ablation_on_our_architectures(arch: str) -> None:
    """LSTM (tuple outputs), CNN ((batch, channels, tokens) outputs) and transformer module trees."""
    from genobench_hf.models import build_model, dna_char_tokenizer

    sizes = {"lstm": {"hidden_size": 12, "num_layers": 1}, "cnn": {"channels": 12, "num_layers": 2},
             "cnn_lstm": {"channels": 12, "hidden_size": 12},
             "transformer": {"hidden_size": 16, "num_layers": 2, "num_heads": 2, "intermediate_size": 32}}  # fmt: skip
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model(arch, embedding_dim=8, dropout=0.0, **sizes[arch]).eval()
    loaded = wrap_model(model, dna_char_tokenizer(causal=True))
    layers = module_layers(loaded)
    ids = torch.tensor(
        [loaded.causal_prefix() + [loaded.tokenizer.convert_tokens_to_ids(c) for c in real_dna(40)]]
    )
    with torch.inference_mode():
        base = model(input_ids=ids).logits
    for layer in layers[1:]:
        width = n_channels(loaded, layer)
        with ablate(model, layer, [1, 3]), capture(model, [layer]) as seen, torch.inference_mode():
            logits = model(input_ids=ids).logits
        assert torch.all(seen[layer.name][..., [1, 3]] == 0) and seen[layer.name].shape[-1] == width
        assert not torch.equal(logits, base), layer.name
    head_in = layers[-1]
    with ablate(model, head_in, range(n_channels(loaded, head_in))), torch.inference_mode():
        logits = model(input_ids=ids).logits
    assert torch.allclose(logits, logits[:, :1].expand_as(logits))  # no input reaches the head any more
