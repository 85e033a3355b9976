"""One set of task defaults, and results of other protocols flagged wherever they are put together."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genobench_hf.cli import build_parser
from genobench_hf.commands import evaluate as evaluate_cmd
from genobench_hf.commands import run as run_cmd
from genobench_hf.content import model_identity
from genobench_hf.protocol import FRAME_RULE, default_protocol, describe, differences
from genobench_hf.report import build_report
from genobench_hf.report.collect import load_runs, protocol_notes
from genobench_hf.report.model_index import plan_export
from genobench_hf.results import new_results, write_results
from genobench_hf.tasks.base import TaskConfig

FIXTURES = Path(__file__).parent / "fixtures" / "results"
SCORED = ("imputation", "next_nucleotide", "imputation_dense", "span_imputation", "transfer", "rare_species")


def test_run_and_evaluate_score_under_one_set_of_defaults() -> None:
    ev = build_parser("evaluate").parse_args(["evaluate", "--model", "m"])
    rn = build_parser("run").parse_args(["run"])
    assert ev.n_sites == rn.n_sites == TaskConfig().n_sites and ev.seed == rn.seed == TaskConfig().seed
    held = {task: ["PRO", "VIR_reads"] for task in SCORED}
    p_eval = describe(evaluate_cmd.task_config(ev), {"PRO": "a", "VIR_reads": "b"})
    p_run = describe(run_cmd.task_config(rn), {"PRO": "a", "VIR_reads": "b"})
    assert differences([("evaluate", p_eval, held), ("run", p_run, held)]) == []
    assert p_eval["frame_rule"] == FRAME_RULE and p_eval["n_sites"] == TaskConfig().n_sites
    # run's bounded probe sample is an option of the probe task only: flagged there, nowhere else
    probes = {"aa_probe": ["PRO"], "imputation": ["PRO"]}
    assert differences([("evaluate", p_eval, probes), ("run", p_run, probes)]) == [
        "aa_probe: options.probe_nucleotides differs (default in evaluate; 6000 in run)"
    ]


def _fixture_copy(tmp_path: Path, name: str, **config: object) -> Path:
    doc = json.loads((FIXTURES / name).read_text())
    for key, value in config.items():
        if key == "fingerprint":
            doc["config"]["dataset_fingerprints"]["PRO"] = value
        else:
            doc["config"][key] = value
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_report_flags_results_of_another_protocol(tmp_path: Path) -> None:
    same = [shutil.copy(FIXTURES / n, tmp_path / n) for n in ("char-mlm-50M.json", "kmer6-mlm-100M.json")]
    assert protocol_notes(load_runs(same)) == []  # one protocol: nothing to flag
    other = _fixture_copy(tmp_path / "other", "kmer6-mlm-100M.json", n_sites=500, fingerprint="sha256:else")
    with pytest.warns(UserWarning, match="n_sites differs"):
        files = build_report([same[0], other], tmp_path / "mixed")
    html, md = files.html.read_text(), files.markdown.read_text()
    for text in (html, md):
        assert "imputation, imputation_dense, next_nucleotide" in text
        assert "n_sites differs (900 in char-mlm-50M.json; 500 in kmer6-mlm-100M.json)" in text
        assert "data PRO differs (sha256:fixture-pro in char-mlm-50M.json; sha256:else in kmer6" in text
    assert 'id="protocol-banner"' in html and "scored under different protocols" in md


def _results(path: Path, task: TaskConfig, fingerprints: dict[str, str]) -> Path:
    doc = new_results({"model": "m", "protocol": describe(task, fingerprints)}, {})
    doc["results"] = {"imputation": {"PRO": {"bits_per_nt": 1.9, "accuracy": 0.3}}, "transfer": {"PRO": {}}}
    return write_results(doc, path)


def test_run_rescores_results_of_another_protocol(tmp_path: Path, capsys) -> None:
    prints = {"PRO": "abc"}
    path = _results(tmp_path / "m.json", TaskConfig(n_sites=500), prints)
    assert run_cmd.reusable(path, describe(TaskConfig(n_sites=500), prints), "markov:auto") is not None
    assert run_cmd.reusable(path, describe(TaskConfig(), prints), "markov:auto") is None
    assert "n_sites differs (500 in m.json; 2000 in this run)" in capsys.readouterr().out
    assert (
        run_cmd.reusable(path, describe(TaskConfig(n_sites=500), {"PRO": "new data"}), "markov:auto") is None
    )
    assert "data PRO differs" in capsys.readouterr().out


def test_run_rescores_a_model_folder_that_changed(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GENOBENCH_CACHE", str(tmp_path / "user-cache"))
    folder = tmp_path / "cnn-PRO"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"first")
    expected = describe(TaskConfig(), {"PRO": "abc"})
    path = _results(tmp_path / "m.json", TaskConfig(), {"PRO": "abc"})
    doc = json.loads(path.read_text())
    doc["config"]["model_identity"] = model_identity(folder)
    path.write_text(json.dumps(doc))
    assert run_cmd.reusable(path, expected, str(folder)) is not None
    (folder / "model.safetensors").write_bytes(b"second")  # retrained in place
    assert run_cmd.reusable(path, expected, str(folder)) is None
    assert "model folder" in capsys.readouterr().out


def test_run_flags_transfer_rows_of_different_protocols() -> None:
    def doc(seed: int) -> dict:
        d = new_results({"protocol": describe(TaskConfig(seed=seed), {"VIR": "f"})}, {})
        d["results"] = {"transfer": {"VIR": {"by_train": {}}}}
        return d

    assert run_cmd.transfer_protocol_notes("cnn", {"PRO": doc(0), "VIR": doc(0)}) == []
    with pytest.warns(UserWarning, match="transfer rows of genobench-cnn"):
        notes = run_cmd.transfer_protocol_notes("cnn", {"PRO": doc(0), "VIR": doc(1)})
    assert notes == ["transfer: seed differs (0 in cnn-PRO; 1 in cnn-VIR)"]


def test_model_index_export_records_and_flags_the_protocol(tmp_path: Path) -> None:
    card = tmp_path / "README.md"
    plan = plan_export(FIXTURES / "bpe-causal-7M.json", card)
    row = next(r for r in plan.rows if r.task_name == "imputation")
    assert row.dataset_args["n_sites"] == 900 and row.dataset_args["window"] == 256
    assert any(
        "n_sites differs (900 in bpe-causal-7M.json; 2000 in the defaults)" in n for n in plan.protocol_notes
    )
    default = _results(tmp_path / "default.json", TaskConfig(), {"PRO": "abc"})
    clean = plan_export(default, card)
    assert clean.protocol_notes == [] and clean.rows[0].dataset_args == {
        k: v for k, v in default_protocol().items() if k in clean.rows[0].dataset_args
    }
