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


def test_run_stages_and_resumed_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The orchestration alone (scoring, training and the report stubbed): one line per stage of
    N = datasets + markov + 2 x archs x kingdoms + report, and a training killed after a checkpoint
    continues from it (`resume=True`) instead of failing on "already holds checkpoints"."""
    from types import SimpleNamespace

    import genobench_hf.commands.run as run_cmd

    out = tmp_path / "out"
    (out / "datasets" / "PRO").mkdir(parents=True)
    (out / "datasets" / "PRO" / "README.md").write_text("built")
    ckpt = out / "models" / "cnn-PRO" / "checkpoints" / "step-00000100"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text("{}")
    (ckpt.parent / "latest").write_text(ckpt.name)
    doc = {"results": {}, "summaries": {}, "config": {"model": "m", "tasks": []}, "timing": {}}
    trained = []
    monkeypatch.setattr(run_cmd, "_evaluate", lambda *a, **k: dict(doc))
    monkeypatch.setattr("genobench_hf.training.train", trained.append)
    monkeypatch.setattr("genobench_hf.summary_table.print_summary", lambda d: None)
    monkeypatch.setattr("genobench_hf.results.write_results", lambda d, p: p)
    monkeypatch.setattr(
        "genobench_hf.tasks.transfer.merge_transfer_rows", lambda r: {"results": {}, "summary": {}}
    )
    monkeypatch.setattr("genobench_hf.report.build_report", lambda *a, **k: SimpleNamespace(html="r.html"))
    assert main(["run", "--out", str(out), "--archs", "cnn", "--kingdoms", "PRO,VIR", "--device", "cpu"]) == 0
    assert [(c.dataset, c.resume, c.device) for c in trained] == [("PRO", True, "cpu"), ("VIR", False, "cpu")]
    lines = [line.split(": done")[0] for line in capsys.readouterr().err.splitlines() if ": done" in line]
    assert lines == [
        "genobench: [1/7] datasets", "genobench: [2/7] score markov:auto",
        "genobench: [3/7] train cnn on PRO", f"genobench: [4/7] score {out / 'models' / 'cnn-PRO'}",
        "genobench: [5/7] train cnn on VIR", f"genobench: [6/7] score {out / 'models' / 'cnn-VIR'}",
        "genobench: [7/7] report",
    ]  # fmt: skip
