"""Trained folders load the way Hub users load custom models: with ``trust_remote_code=True`` in an
interpreter that never imports genobench_hf, and natively (no remote code) once genobench_hf is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genobench_hf.models import ARCHS, build_model, dna_char_tokenizer
from genobench_hf.models.remote_code import write_remote_code
from genobench_hf.scoring.loading import load_model

CLEAN = """
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer
folder, auto = sys.argv[1], sys.argv[2]
cls = AutoModelForMaskedLM if auto == "AutoModelForMaskedLM" else AutoModelForCausalLM
model = cls.from_pretrained(folder, trust_remote_code=True).eval()
tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
ids = tok("ACGTTGCAACGTNACG", return_tensors="pt")["input_ids"]
with torch.no_grad():
    logits = model(input_ids=ids).logits
assert not any(m.startswith("genobench_hf") for m in sys.modules), "genobench_hf was imported"
print(json.dumps({"logits": logits[0].tolist(), "class": type(model).__module__}))
"""


def _folder(tmp_path: Path, arch: str, objective: str = "clm") -> tuple[Path, torch.nn.Module]:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model(arch, objective).eval()
    folder = tmp_path / f"{arch}-{objective}"
    model.save_pretrained(folder)
    dna_char_tokenizer(objective == "clm").save_pretrained(folder)
    write_remote_code(folder, model)
    return folder, model


@pytest.mark.parametrize(("arch", "objective"), [(a, "clm") for a in ARCHS] + [("transformer", "mlm")])
def test_folder_loads_with_trust_remote_code_in_a_clean_interpreter(
    tmp_path: Path, arch: str, objective: str
) -> None:
    folder, model = _folder(tmp_path, arch, objective)
    auto = json.loads((folder / "config.json").read_text())["auto_map"]
    key = "AutoModelForMaskedLM" if objective == "mlm" else "AutoModelForCausalLM"
    assert set(auto) == {"AutoConfig", key}
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    proc = subprocess.run([sys.executable, "-I", "-c", CLEAN, str(folder), key], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, (proc.stdout[:300], proc.stderr[-300:])
    out = json.loads(lines[-1])
    assert "genobench" in out["class"] and "genobench_hf" not in out["class"]  # the folder's own copy
    tok = dna_char_tokenizer(objective == "clm")
    ids = tok("ACGTTGCAACGTNACG", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        want = model(input_ids=ids).logits[0].numpy()
    assert np.allclose(np.array(out["logits"]), want, atol=1e-5)


def test_genobench_loads_its_own_folder_natively_without_the_flag(tmp_path: Path) -> None:
    folder, _ = _folder(tmp_path, "lstm")
    loaded = load_model(folder)  # no --trust-remote-code needed: the classes are genobench's own
    assert type(loaded.model).__module__ == "genobench_hf.models.modeling"
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_type"] = "tinydna"  # a foreign auto_map still needs the flag
    (folder / "config.json").write_text(json.dumps(cfg))
    from genobench_hf.errors import ModelError

    with pytest.raises(ModelError, match="trust-remote-code"):
        load_model(folder)
