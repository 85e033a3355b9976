"""The evaluate modules in metrics/ load offline and return exactly the library's numbers.

``import evaluate`` costs seconds, so it happens inside a module-scoped fixture, never at collection.
conftest.py sets HF_EVALUATE_OFFLINE=1 (evaluate ignores HF_HUB_OFFLINE) and a private HF_HOME.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from genobench_hf.errors import ConfigError
from genobench_hf.metrics import nucleotide_metrics, span_metrics, transfer_summary

NAMES = ("nucleotide_imputation", "span_imputation", "transferability", "efficiency", "gene_completion")


@pytest.fixture(scope="module")
def modules(repo_root: Path) -> dict[str, Any]:
    assert os.environ.get("HF_EVALUATE_OFFLINE") == "1"
    import evaluate

    return {name: evaluate.load(str(repo_root / "metrics" / name)) for name in NAMES}


def test_nucleotide_module_matches_library_exactly(modules: dict[str, Any]) -> None:
    rng = np.random.default_rng(11)
    n = 300
    probs = rng.dirichlet(np.ones(4), size=n)
    targets = rng.integers(0, 4, size=n)
    genomes = [f"g{i % 5}" for i in range(n)]
    gc = rng.random(n)
    gc[0] = np.nan
    mass = rng.random(n) * 0.01
    kwargs = {
        "genome_ids": genomes,
        "gc": gc.tolist(),
        "mass_outside": mass.tolist(),
        "n_bootstrap": 200,
        "seed": 3,
    }
    got = modules["nucleotide_imputation"].compute(
        predictions=probs.tolist(), references=targets.tolist(), **kwargs
    )
    assert got == nucleotide_metrics(probs, targets, **kwargs)
    assert got["n_scored"] == n and got["macro"]["n_genomes"] == 5


def test_nucleotide_module_batches_and_errors(modules: dict[str, Any]) -> None:
    metric = modules["nucleotide_imputation"]
    probs = [[0.5, 0.25, 0.125, 0.125], [0.125, 0.5, 0.25, 0.125]]
    for row, target in zip(probs, [0, 2], strict=True):
        metric.add_batch(predictions=[row], references=[target])
    got = metric.compute(n_bootstrap=0)
    assert got["accuracy"] == 0.5 and got["bits_per_nt"] == 1.5
    with pytest.raises(ConfigError, match="sum to 1"):
        metric.compute(predictions=[[0.5, 0.5, 0.5, 0.5]], references=[0], n_bootstrap=0)


def test_span_module_matches_library_exactly(modules: dict[str, Any]) -> None:
    predicted, truth = ["TCGAAC", "ggagc", "ACGTAA"], ["ACGTAC", "GGNGG", "ACGTAC"]
    pairs = [("MKV*", "MKL*"), ("MA", "MAST")]
    got = modules["span_imputation"].compute(
        predictions=predicted, references=truth, amino_acids=pairs, max_distance=1
    )
    assert got == span_metrics(predicted, truth, amino_acids=pairs, max_distance=1)
    assert got["identity"] == pytest.approx(12 / 16)


def test_transferability_module_matches_library_exactly(modules: dict[str, Any]) -> None:
    rows = [
        ("PRO", "PRO", 1.6),
        ("PRO", "PRO_reads", 1.8),
        ("PRO", "VIR", 1.9),
        ("VIR", "VIR", 1.7),
        ("VIR", "PRO", 1.95),
        ("VIR", "PRO_reads", 1.97),
    ]
    train, test, bits = (list(col) for col in zip(*rows, strict=True))
    got = modules["transferability"].compute(train_name=train, test_name=test, bits=bits)
    matrix: dict[str, dict[str, float]] = {}
    for tr, te, b in rows:
        matrix.setdefault(tr, {})[te] = b
    assert got == transfer_summary(matrix)
    # PRO: in (0.4 + 0.2) / 2 = 0.3, off 0.1; VIR: in 0.3, off (0.05 + 0.03) / 2 = 0.04
    assert got["in_domain_gain"] == pytest.approx(0.3)
    assert got["off_diagonal_gain"] == pytest.approx(0.07)
    external = modules["transferability"].compute(
        train_name=["ext", "ext"], test_name=["PRO", "VIR"], bits=[1.8, 1.9], in_domain={"ext": None}
    )
    assert external["in_domain_gain"] is None and external["mean_gain"] == pytest.approx(0.15)


@pytest.mark.parametrize("name", NAMES)
def test_module_files_follow_evaluate_rules(repo_root: Path, name: str) -> None:
    folder = repo_root / "metrics" / name
    script = (folder / f"{name}.py").read_text(encoding="utf-8")
    # evaluate's import scanner reads one import per line
    assert not re.search(r"^import\s+\w+\s*,", script, flags=re.MULTILINE)
    card = (folder / "README.md").read_text(encoding="utf-8")
    front = card.split("---")[1]
    assert re.search(r"^tags:\s*\n- evaluate\n- metric", front, flags=re.MULTILINE)
    assert re.search(r"^title:", front, flags=re.MULTILINE) and "description:" in front
    for section in (
        "## Metric Description",
        "## How to Use",
        "### Inputs",
        "### Output Values",
        "### Examples",
        "## Limitations and Bias",
        "## Citation",
    ):
        assert section in card, section


def test_efficiency_module_equals_library(modules) -> None:
    from genobench_hf.metrics import efficiency_summary

    got = modules["efficiency"].compute(
        nucleotides=[1000, 1000], seconds=[0.5, 0.5], price_per_device_hour=3.6
    )
    assert got == efficiency_summary([1000, 1000], [0.5, 0.5], price_per_device_hour=3.6)
    assert got["nucleotides_per_second"] == 2000.0 and got["ms_per_kb"] == 500.0
    assert got["cost_per_million_nt"] == pytest.approx(0.5)
