"""``genobench run`` end to end on a small configuration: datasets -> Markov -> train -> tasks -> report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genobench_hf.cli import main


@pytest.mark.slow
def test_run_writes_results_and_report(built_corpus, tmp_path: Path) -> None:
    data, _ = built_corpus
    out = tmp_path / "out"
    shutil.copytree(data, out / "datasets")  # the datasets step is tested in test_build.py
    argv = ["run", "--out", str(out), "--archs", "cnn", "--kingdoms", "PRO,VIR", "--train-minutes", "0.1",
            "--n-sites", "20", "--datasets", "VIR,PRO_reads", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads((out / "results" / "genobench-cnn.json").read_text())
    matrix = doc["results"]["transfer"]
    assert set(matrix["VIR"]["by_train"]) == {"PRO", "VIR"}  # rows of both trained models merged
    assert doc["summaries"]["transfer"]["n_train"] == 2
    assert {"imputation", "span_imputation", "efficiency", "cds_probe", "neuron_importance"} <= set(
        doc["results"]
    )
    assert (out / "models" / "cnn-VIR" / "training_metrics.json").exists()
    markov = json.loads((out / "results" / "markov-auto.json").read_text())
    assert set(markov["results"]["transfer"]["VIR"]["by_train"]) == {"PRO", "EUK", "VIR"}
    html = (out / "report" / "report.html").read_text()
    assert "genobench-cnn" in html and "markov:auto" in html
    # a second run resumes: every step is found done, nothing is retrained
    mtime = (out / "models" / "cnn-PRO" / "training_metrics.json").stat().st_mtime
    assert main(argv) == 0
    assert (out / "models" / "cnn-PRO" / "training_metrics.json").stat().st_mtime == mtime
