"""Known-truth checks of the probe controls and intervals (issue: probes whose controls hold up).

Two test doubles whose hidden state is known by construction, on real annotated genomes of the embedded
corpus (phages and viruses: enough genomes for three test genomes and a cluster interval):

* ``onehot``: the state IS the one-hot window of +-FLANK nt, so the probe on it must equal the one-hot
  control: their paired difference is 0 and its interval contains 0.
* ``cheat``: the state is the true coding label and nothing else (no sequence), so the probe is perfect
  while the Hewitt & Liang control task (random label per input type) is at chance for every seed:
  selectivity ~ 1 - chance.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from test_ablation import HandBuiltLM
from torch import nn
from transformers import PretrainedConfig
from transformers.modeling_outputs import MaskedLMOutput

from genobench_hf.data.rows import contig_rows, load_genome
from genobench_hf.data.taxonomy import embedded_corpus_dir, load_corpus
from genobench_hf.metrics.paired import paired_difference, ratio_interval
from genobench_hf.probes import row_labels
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.tasks.base import TaskConfig
from genobench_hf.tasks.probes import CodingProbe
from genobench_hf.testing import char_tokenizer
from genobench_hf.testing_context import MemoryContext

FLANK = 2
VIRUSES = ("Escherichia_phage_T4", "Monkeypox_virus_clade_IIb", "Human_herpesvirus_3_VZV_Dumas",
           "Escherichia_phage_VT2-Sakai", "SARS-CoV-2_Wuhan-Hu-1", "Marburg_virus_Musoke")  # fmt: skip


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    """First 40 kb of six annotated viral genomes; two play the LM train split, four are held out."""
    entries = {e.genome_id: e for e in load_corpus(embedded_corpus_dir()) if e.genome_id in VIRUSES}
    out = []
    for i, name in enumerate(VIRUSES):
        row = next(iter(contig_rows(load_genome(entries[name]), chunk_size=40_000)))
        out.append(row | {"split": "train" if i < 2 else "test"})
    return out


class StateConfig(PretrainedConfig):
    model_type = "genobench_state_test"

    def __init__(self, vocab_size: int = 12, width: int = 4, **kw: Any) -> None:
        super().__init__(**kw)
        self.vocab_size, self.width = vocab_size, width


class _State(nn.Module):
    """The layer whose output the probes read: a function of the input ids chosen by the test."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fn(ids)


class StateLM(HandBuiltLM):
    """Masked LM double: ids -> [_State] -> zero head (uniform logits); the state is what is probed."""

    config_class = StateConfig
    fn: Any = None

    def __init__(self, config: StateConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, 4)  # read by layer discovery; not used by the state
        self.blocks = nn.ModuleList([_State(type(self).fn)])
        self.lm_head = nn.Linear(config.width, config.vocab_size)
        with torch.no_grad():
            self.lm_head.weight.zero_()
            self.lm_head.bias.zero_()

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None, **_: Any) -> MaskedLMOutput:
        self.embed(input_ids)
        return MaskedLMOutput(logits=self.lm_head(self.blocks[0](input_ids)))


def _base_onehot(ids: torch.Tensor, tok: Any) -> torch.Tensor:
    out = torch.zeros(*ids.shape, 4)
    for b, base in enumerate("ACGT"):
        out[..., b] = (ids == tok.convert_tokens_to_ids(base)).float()
    return out


def onehot_model(tok: Any) -> Any:
    """State at a nucleotide = one-hot of the +-FLANK nt around it, in the control's [offset][base] order."""

    def fn(ids: torch.Tensor) -> torch.Tensor:
        x = _base_onehot(ids, tok)
        parts = [torch.roll(x, -d, dims=1) for d in range(-FLANK, FLANK + 1)]
        return torch.cat(parts, dim=-1)

    cls = type("OneHotLM", (StateLM,), {"fn": staticmethod(fn)})
    return cls(StateConfig(vocab_size=len(tok), width=4 * (2 * FLANK + 1)))


def cheat_model(tok: Any, rows: list[dict[str, Any]]) -> Any:
    """State = the true coding label of each nucleotide (found by locating the input in the rows)."""
    labels = [(r["sequence"], (row_labels(r).frame > 0).astype(np.float32)) for r in rows]
    chars = np.full(len(tok), "#")
    for base in "ACGTN":
        chars[tok.convert_tokens_to_ids(base)] = base

    def fn(ids: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*ids.shape, 2)
        for b, row in enumerate(ids.numpy()):
            text = "".join(chars[row])
            body = text.strip("#")
            first = text.index(body[0])
            for seq, lab in labels:
                at = seq.find(body)
                if at >= 0:
                    out[b, first : first + len(body), 0] = torch.from_numpy(lab[at : at + len(body)])
                    break
        out[..., 1] = 1.0 - out[..., 0]
        return out

    cls = type("CheatLM", (StateLM,), {"fn": staticmethod(fn)})
    return cls(StateConfig(vocab_size=len(tok), width=2))


def run_probe(rows: list[dict[str, Any]], model: Any, tok: Any, **extra: Any) -> dict[str, Any]:
    loaded = wrap_model(model, tok, model_kind="masked")
    extra = {"probe_nucleotides": 1200, "probe_random_init": False, **extra}
    config = SimpleNamespace(task=TaskConfig(window=64, extra=extra), batch_size=64, show_progress=False)
    context = MemoryContext(
        lambda dataset, split: [r for r in rows if r["split"] == split], config, encoder=loaded
    )
    out = CodingProbe().run(None, "VIR", context)
    assert "skipped" not in out, out
    return out


def test_test_genomes_are_outside_the_lm_train_split(rows: list[dict[str, Any]]) -> None:
    tok = char_tokenizer()
    out = run_probe(rows, onehot_model(tok), tok, probe_onehot_flanks=(FLANK,))
    train_split = {r["genome_id"] for r in rows if r["split"] == "train"}
    assert len(out["genomes"]["test"]) >= 3 and train_split.isdisjoint(out["genomes"]["test"])
    assert set(out["genomes"]["train"]).isdisjoint(out["genomes"]["validation"])


def test_onehot_window_model_equals_the_onehot_control(rows: list[dict[str, Any]]) -> None:
    tok = char_tokenizer()
    out = run_probe(rows, onehot_model(tok), tok, probe_onehot_flanks=(FLANK,))
    assert out["controls"]["onehot"]["flank"] == FLANK
    diff = out["comparisons"]["model_minus_onehot"]
    assert abs(diff["difference"]) < 0.01 and diff["ci"][0] <= 0 <= diff["ci"][1]
    assert not diff["excludes_zero"] and diff["n_groups"] >= 3 and diff["cluster_ci"] is not None
    assert diff["cluster_ci"][0] <= 0 <= diff["cluster_ci"][1]
    assert out["accuracy"] == pytest.approx(out["controls"]["onehot"]["accuracy"], abs=0.01)


def test_cheat_model_selectivity_is_near_one_minus_chance_for_every_seed(rows: list[dict[str, Any]]) -> None:
    tok = char_tokenizer()
    out = run_probe(rows, cheat_model(tok, rows), tok, probe_onehot_flanks=(FLANK,))
    assert out["accuracy"] > 0.99 and out["balanced_accuracy"] > 0.99
    ctrl = out["controls"]["control_task"]
    assert ctrl["seeds"] >= 5
    for acc in ctrl["accuracies"]:  # the label carries nothing about the random per-type labels
        assert acc == pytest.approx(out["chance"], abs=0.1)
    lo, hi = ctrl["selectivity_range"]
    assert lo > 1 - out["chance"] - 0.12 and hi < 1 - out["chance"] + 0.12
    diff = out["comparisons"]["model_minus_onehot"]
    assert diff["excludes_zero"] and diff["difference"] > 0.1  # a perfect state beats one-hot, surely
    aux = out["by_layer"][0]["frame_strand"]
    assert aux["chance_balanced_accuracy"] == pytest.approx(1 / 7) and "balanced_accuracy" in aux


def test_layer_choice_is_made_on_validation_genomes(rows: list[dict[str, Any]]) -> None:
    tok = char_tokenizer()
    out = run_probe(rows, cheat_model(tok, rows), tok, probe_onehot_flanks=(FLANK,))
    best = max(out["by_layer"], key=lambda r: r["validation"]["balanced_accuracy"])
    assert out["best_layer"] == best["layer"] and "validation" in out["layer_selection"]


def test_paired_difference_and_ratio_intervals() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(400)
    a, b = base + 0.05 + rng.normal(0, 0.01, 400), base + rng.normal(0, 0.01, 400)
    d = paired_difference(a, b, groups=np.repeat(list("abcdefgh"), 50), n_bootstrap=500)
    assert d["excludes_zero"] and d["ci"][0] > 0.04 and d["cluster_excludes_zero"]
    unpaired_width = 2 * 1.96 * np.sqrt(a.var() / 400 + b.var() / 400)
    assert d["ci"][1] - d["ci"][0] < unpaired_width / 5  # pairing removes the items' shared difficulty
    same = paired_difference(a, a.copy(), n_bootstrap=100)
    assert same["difference"] == 0 and same["ci"] == [0.0, 0.0] and not same["excludes_zero"]
    r = ratio_interval(np.full(100, 0.5) + rng.normal(0, 0.01, 100), np.full(100, 1.0))
    assert not r["unstable"] and r["ci"][0] < 0.5 < r["ci"][1] and r["undefined_share"] == 0
    shaky = ratio_interval(rng.normal(0.01, 0.05, 100), rng.normal(0.01, 0.05, 100))
    assert shaky["unstable"] and shaky["undefined_share"] > 0.2
