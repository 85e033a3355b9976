"""``genobench run`` end to end on a small configuration: datasets -> Markov -> train -> tasks -> report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genobench_hf.cli import main
from genobench_hf.training.recipe import OTHER_STEPS, PRO_STEPS


@pytest.mark.slow
def test_run_writes_results_and_report(built_corpus, tmp_path: Path) -> None:
    data, _ = built_corpus
    out = tmp_path / "out"
    shutil.copytree(data, out / "datasets")  # the datasets step is tested in test_build.py
    argv = ["run", "--out", str(out), "--archs", "cnn", "--kingdoms", "PRO,VIR", "--retrain", "--train-steps", "3",
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
    # the merged file's per-site record references point at the records written beside results/parts/
    assert (out / "results" / doc["site_records"]["file"]).exists()
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
    argv = [
        "run",
        "--out",
        str(out),
        "--archs",
        "cnn",
        "--kingdoms",
        "VIR,PRO",
        "--device",
        "cpu",
        "--retrain",
    ]
    assert main(argv) == 0
    # the recipe's configuration (steps, seed, selection), PRO first: its model runs every task
    assert [(c.dataset, c.resume, c.device, c.steps, c.select) for c in trained] == [
        ("PRO", True, "cpu", PRO_STEPS, "best"), ("VIR", False, "cpu", OTHER_STEPS, "best")
    ]  # fmt: skip
    lines = [line.split(": done")[0] for line in capsys.readouterr().err.splitlines() if ": done" in line]
    assert lines == [
        "genobench: [1/7] datasets", "genobench: [2/7] score markov:auto",
        "genobench: [3/7] train cnn-PRO", f"genobench: [4/7] score {out / 'models' / 'cnn-PRO'}",
        "genobench: [5/7] train cnn-VIR", f"genobench: [6/7] score {out / 'models' / 'cnn-VIR'}",
        "genobench: [7/7] report",
    ]  # fmt: skip


def _stub_run(monkeypatch: pytest.MonkeyPatch, scored: list[str]) -> None:
    from types import SimpleNamespace

    import genobench_hf.commands.run as run_cmd

    doc = {"results": {}, "summaries": {}, "config": {"model": "m", "tasks": []}, "timing": {}}
    monkeypatch.setattr(run_cmd, "_evaluate", lambda a, model, *r, **k: scored.append(model) or dict(doc))
    monkeypatch.setattr("genobench_hf.training.train", lambda c: pytest.fail(f"trained {c.out}"))
    monkeypatch.setattr("genobench_hf.summary_table.print_summary", lambda d: None)
    monkeypatch.setattr("genobench_hf.results.write_results", lambda d, p: p)
    monkeypatch.setattr(
        "genobench_hf.tasks.transfer.merge_transfer_rows", lambda r: {"results": {}, "summary": {}}
    )
    monkeypatch.setattr("genobench_hf.report.build_report", lambda *a, **k: SimpleNamespace(html="r.html"))


def _ship(root: Path, name: str, digest: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "training_metrics.json").write_text(json.dumps({"train_sequences_sha256": digest}))
    return folder


def test_run_scores_the_shipped_checkpoints_checked_against_the_train_split(
    built_corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """By default nothing is trained: the shipped folder of each recipe entry is scored, after its recorded
    train-split digest is found equal to this run's; a checkpoint trained on another split is refused."""
    from genobench_hf.store import DatasetStore
    from genobench_hf.training import recipe
    from genobench_hf.training.data import sequences_digest

    data, _ = built_corpus
    out = tmp_path / "out"
    shutil.copytree(data, out / "datasets")
    store = DatasetStore(out / "datasets")
    digests = {k: sequences_digest([r["sequence"] for r in store.rows(k, "train")]) for k in ("PRO", "VIR")}
    shipped = tmp_path / "baselines"
    monkeypatch.setattr(recipe, "BASELINES_DIR", shipped)
    pro, vir = _ship(shipped, "cnn-PRO", digests["PRO"]), _ship(shipped, "cnn-VIR", digests["VIR"])
    scored: list[str] = []
    _stub_run(monkeypatch, scored)
    argv = ["run", "--out", str(out), "--archs", "cnn", "--kingdoms", "PRO,VIR", "--quiet"]
    assert main(argv) == 0
    assert str(pro) in scored and str(vir) in scored and not (out / "models").exists()
    (vir / "training_metrics.json").write_text(json.dumps({"train_sequences_sha256": digests["PRO"]}))
    capsys.readouterr()
    for extra, message in (
        ([], "shipped checkpoint cnn-VIR was trained on another VIR train split"),
        (["--source", str(tmp_path)], "trained on the embedded corpus, not on --source; pass --retrain"),
        (["--train-steps", "5"], "--train-steps needs --retrain"),
        (["--archs", "gru"], "unknown baseline gru"),
    ):
        assert main([*argv, *extra]) == 2
        assert message in capsys.readouterr().err
