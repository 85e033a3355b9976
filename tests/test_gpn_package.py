"""GPN through its own package (``genobench[gpn]``): a tiny model built from gpn's own config classes,
saved, and scored through ``genobench evaluate`` on every protocol a masked char model supports, with the
leak-free checks (hidden-base invariance, a uniform head gives exactly 2 bits)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genobench_hf import testing as T
from genobench_hf.cli import main
from genobench_hf.registry import get_model, prepare_architecture
from genobench_hf.registry.tokenizers import gpn_tokenizer
from genobench_hf.scoring.base import BASES, ScoreRequest
from genobench_hf.scoring.loading import load_model
from genobench_hf.scoring.masked import MaskedLMScorer

gpn = pytest.importorskip("gpn", reason="the gpn package is part of the test extra: pip install -e '.[test]'")
PROTOCOLS = ("imputation", "next_nucleotide", "imputation_dense")


def tiny_gpn(folder: Path, *, uniform: bool = False) -> Path:
    """A ConvNetForMaskedLM from gpn's ConvNetConfig (random weights), saved with GPN's tokenizer."""
    from transformers import AutoConfig, AutoModelForMaskedLM

    gpn.register_auto_classes("gpn")
    tok = gpn_tokenizer()
    config = AutoConfig.for_model("ConvNet", vocab_size=len(tok), hidden_size=32, n_layers=2, kernel_size=5)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = AutoModelForMaskedLM.from_config(config)
    assert type(model).__module__.startswith("gpn."), type(model)
    if uniform:
        with torch.no_grad():
            for p in model.cls.parameters():
                p.zero_()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_registry_entry_points_at_the_package() -> None:
    entry = get_model("gpn-brassicales")
    assert entry.offline_test == "package" and "ConvNet" in entry.model_types
    assert prepare_architecture("ConvNet") is entry


def test_gpn_through_genobench_evaluate(tmp_path: Path, built_corpus: tuple[Path, object]) -> None:
    folder = tiny_gpn(tmp_path / "gpn-tiny")
    out = tmp_path / "res.json"
    rc = main([
        "evaluate", "--model", str(folder), "--data-dir", str(built_corpus[0]), "--datasets", "VIR",
        "--tasks", ",".join(PROTOCOLS), "--limit", "4", "--n-sites", "8", "--window", "64",
        "--baseline", "none", "--n-bootstrap", "10", "--output", str(out), "--quiet",
    ])  # fmt: skip
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["tokenizer_kind"] == "char" and doc["config"]["model_kind"] == "masked"
    for task in PROTOCOLS:
        res = doc["results"][task]["VIR"]
        assert "skipped" not in res, (task, res)
        assert res["scoring_path"] == ["masked.char"]
        assert 1.0 < res["bits_per_nt"] < 3.5


def _swapped(req: ScoreRequest, base: str) -> ScoreRequest:
    w = list(req.window)
    for s in req.sites:
        w[s] = base
    return ScoreRequest("".join(w), req.sites, req.protocol, tuple(BASES.index(base) for _ in req.sites))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_gpn_scores_do_not_depend_on_the_hidden_base(tmp_path: Path, protocol: str) -> None:
    loaded = load_model(tiny_gpn(tmp_path / "m"), tokenizer_kind="char")
    sc = MaskedLMScorer(loaded)
    reqs = T.sample_requests(T.real_dna(50_000, offset=300_000), protocol, 12, window=64, seed=7)
    ref = np.concatenate([s.probs for s in sc.score(reqs, 4)])
    assert not np.allclose(ref, 0.25)  # a random model is not uniform: the check can see a difference
    for b in BASES:
        got = np.concatenate([s.probs for s in sc.score([_swapped(r, b) for r in reqs], 4)])
        assert np.abs(got - ref).max() == 0.0


def test_gpn_uniform_head_scores_exactly_two_bits(tmp_path: Path) -> None:
    loaded = load_model(tiny_gpn(tmp_path / "u", uniform=True))
    sc = MaskedLMScorer(loaded)
    for protocol in PROTOCOLS:
        reqs = T.sample_requests(T.real_dna(50_000, offset=300_000), protocol, 8, window=64, seed=1)
        bits, _ = T.bits_and_accuracy(reqs, sc.score(reqs, 4))
        assert bits == 2.0, protocol
