"""Known-truth checks of neuron_importance's controls: a random-subset curve, a ranking judged on held-out
sites, split-half reliability and a noise null for Gini and the half-effect count.

``WideLM``: 64 channels, of which the LM head reads only 0..3: an oracle's one-hot of the true base at
each position (a test double that finds its input in the test's own DNA; the pipeline never gives a model
its labels); the other 60 carry fixed random values. So ablating a few random channels costs ~nothing, the
top 4 cost everything, effects of unused channels are exactly 0 and the used ones reproduce across halves.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from test_ablation import HandBuiltLM
from torch import nn
from transformers import PretrainedConfig
from transformers.modeling_outputs import MaskedLMOutput

from genobench_hf.metrics.probes import importance_null, split_half_reliability
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer
from genobench_hf.tasks.base import TaskConfig
from genobench_hf.tasks.neuron_importance import NeuronImportance
from genobench_hf.testing import char_tokenizer, real_dna
from genobench_hf.testing_context import MemoryContext

WIDTH, STRENGTH = 64, 2.0
DNA = real_dna(14_000, offset=300_000)


class WideConfig(PretrainedConfig):
    model_type = "genobench_wide_test"

    def __init__(self, vocab_size: int = 12, nucleotide_ids: list[int] | None = None, mask_id: int = 4,
                 **kw: Any) -> None:  # fmt: skip
        super().__init__(**kw)
        self.vocab_size, self.nucleotide_ids = vocab_size, nucleotide_ids or [7, 8, 9, 10]
        self.mask_id = mask_id


class _Oracle(nn.Module):
    """Channels 0..3 <- one-hot of the true base (masked positions included), found in ``dna``."""

    def __init__(self, dna: str, chars: np.ndarray) -> None:
        super().__init__()
        self.dna, self.chars = dna, chars

    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[..., :4] = 0  # only the oracle writes here (so the layer differs from the embedding)
        for b, row in enumerate(ids.numpy()):
            text = "".join(self.chars[row])
            body = text.strip("#")
            if not body:
                continue
            first = text.index(body[0])
            hit = re.search(body.replace("?", "."), self.dna)
            if hit:
                truth = self.dna[hit.start() : hit.start() + len(body)]
                for j, base in enumerate(truth):
                    out[b, first + j, "ACGT".index(base)] = 1.0
        return out


class WideLM(HandBuiltLM):
    config_class = WideConfig

    def __init__(self, config: WideConfig) -> None:
        super().__init__(config)
        gen = torch.Generator().manual_seed(1)
        self.embed = nn.Embedding(config.vocab_size, WIDTH)
        chars = np.full(config.vocab_size, "#")
        chars[config.nucleotide_ids] = list("ACGT")
        chars[config.mask_id] = "?"
        self.blocks = nn.ModuleList([_Oracle(DNA, chars)])
        self.lm_head = nn.Linear(WIDTH, config.vocab_size)
        with torch.no_grad():
            self.embed.weight.copy_(torch.randn(config.vocab_size, WIDTH, generator=gen))
            self.embed.weight[:, :8] = 0
            self.lm_head.weight.zero_()
            self.lm_head.bias.zero_()
            for b, tid in enumerate(config.nucleotide_ids):
                self.embed.weight[tid, b] = 1.0
                self.lm_head.weight[tid, b] = STRENGTH

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None, **_: Any) -> MaskedLMOutput:
        return MaskedLMOutput(logits=self.lm_head(self.blocks[0](self.embed(input_ids), input_ids)))


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    tok = char_tokenizer()
    ids = [tok.convert_tokens_to_ids(b) for b in "ACGT"]
    loaded = wrap_model(
        WideLM(WideConfig(len(tok), ids)).eval(), tok, model_kind="masked", tokenizer_kind="char"
    )
    rows = [{"genome_id": f"g{i}", "sequence": real_dna(6000, offset=300_000 + 7000 * i)} for i in range(2)]
    extra = {
        "importance_sites": 60,
        "importance_layer": "blocks.0",
        "importance_fractions": (0.0, 1 / 64, 2 / 64, 4 / 64, 1.0),
    }
    config = SimpleNamespace(task=TaskConfig(window=64, extra=extra), batch_size=32, show_progress=False)
    context = MemoryContext(lambda dataset, split: rows, config, encoder=loaded)
    return NeuronImportance().run(MaskedLMScorer(loaded), "PRO", context)


def test_random_subset_curve_sits_near_zero_while_the_ranking_bites(result: dict[str, Any]) -> None:
    rand = {round(r["fraction"] * 64): r for r in result["random_curve"]}
    top = {
        r["n_ablated"]: r["bits_per_nt"] - result["baseline_held_out"]["bits_per_nt"] for r in result["curve"]
    }
    assert rand[1]["draws"] >= 5 and rand[4]["draws"] >= 5
    assert rand[1]["delta_bits_mean"] < top[1] and rand[2]["delta_bits_mean"] < top[2]
    assert abs(rand[4]["delta_bits_mean"]) < 0.1 * top[4] and top[4] > 0.5  # 4 random of 64: ~nothing
    assert rand[0]["delta_bits_mean"] == 0.0
    assert rand[64]["delta_bits_mean"] == pytest.approx(top[64])  # everything ablated either way


def test_ranking_is_scored_on_held_out_sites(result: dict[str, Any]) -> None:
    assert result["n_sites_held_out"] == result["n_sites"] == 60 and "held-out" in result["curve_sites"]
    assert result["curve"][0]["bits_per_nt"] == result["baseline_held_out"]["bits_per_nt"]


def test_split_half_reliability_and_noise_null(result: dict[str, Any]) -> None:
    assert result["split_half"]["r"] > 0.8  # used channels matter on both halves, unused are exactly 0
    null = result["null"]
    assert (
        result["gini"] > null["gini"]["p95"]
        and result["half_effect_neurons"] <= null["half_effect_neurons"]["p05"]
    )


def test_noise_alone_gives_a_high_gini() -> None:
    """Why a null is needed: clipped symmetric noise has a Gini near 0.7 though no neuron matters."""
    null = importance_null(0.01, 128, draws=300, seed=0)
    assert 0.6 < null["gini"]["mean"] < 0.8
    assert null["half_effect_neurons"]["mean"] > 10
    rng = np.random.default_rng(0)
    noisy = split_half_reliability(rng.normal(size=100), rng.normal(size=100))
    assert abs(noisy["r"]) < 0.3
    x = rng.normal(size=100)
    assert split_half_reliability(x, x + rng.normal(scale=0.1, size=100))["spearman_brown"] > 0.95
