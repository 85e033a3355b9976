"""End to end through ``genobench evaluate``: results schema, determinism, resume, processes, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.cli import main
from genobench_hf.results import REQUIRED_KEYS, SCHEMA_VERSION

SITE_TASKS = "imputation,next_nucleotide,imputation_dense"


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from transformers import BertConfig, BertModel

    from genobench_hf import testing as T

    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, tok, build in (
        ("mlm", T.char_tokenizer(), T.tiny_masked_lm),
        ("clm", T.char_tokenizer(causal=True), T.tiny_causal_lm),
    ):
        model = build(tok, seed=0)
        model.save_pretrained(root / name)
        tok.save_pretrained(root / name)
        out[name] = root / name
    tok = T.char_tokenizer()
    headless = BertModel(BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1,
                                    num_attention_heads=2, intermediate_size=32))  # fmt: skip
    headless.save_pretrained(root / "headless")
    tok.save_pretrained(root / "headless")
    out["headless"] = root / "headless"
    return out


def _evaluate(data: Path, model: Path | str, out: Path, *extra: str) -> dict:
    argv = ["evaluate", "--model", str(model), "--data-dir", str(data), "--output", str(out), "--quiet"]
    argv += ["--n-bootstrap", "50", *extra]
    assert main(argv) == 0
    return json.loads(out.read_text())


@pytest.mark.slow  # 35-45 s in the full suite on 2 busy cores
def test_evaluate_writes_versioned_results(built_corpus, tiny_models, tmp_path: Path) -> None:
    data, _ = built_corpus
    doc = _evaluate(
        data, tiny_models["mlm"], tmp_path / "r.json",
        "--tasks", SITE_TASKS, "--datasets", "VIR,PRO_reads", "--limit", "24", "--baseline", "markov:3",
    )  # fmt: skip
    assert doc["schema_version"] == SCHEMA_VERSION and set(REQUIRED_KEYS) <= set(doc)
    assert doc["config"]["world_size"] == 1 and doc["config"]["model_kind"] == "masked"
    assert doc["config"]["tokenizer_kind"] == "char" and doc["config"]["dataset_fingerprints"]["VIR"]
    protocol = doc["config"]["protocol"]  # what decides the numbers, as results are compared on it
    assert protocol["n_sites"] == 24 and protocol["window"] == 256 and protocol["frame_rule"]
    assert protocol["dataset_fingerprints"] == doc["config"]["dataset_fingerprints"]
    for task in SITE_TASKS.split(","):
        for dataset in ("VIR", "PRO_reads"):
            m = doc["results"][task][dataset]
            assert m["n_scored"] >= 20, (task, dataset)
            assert 0.0 <= m["accuracy"] <= 1.0 and m["bits_per_nt"] > 0
            assert m["baselines"]["markov"]["model"] == "markov:3"
            assert m["baselines"]["chance"]["bits_per_nt"] == 2.0
    assert doc["results"]["imputation"]["VIR"]["scoring_path"] == ["masked.char"]
    assert doc["timing"]["sites_scored"] > 0 and doc["timing"]["nucleotides_per_second"] > 0
    assert doc["environment"]["packages"]["torch"]
    assert doc["summaries"]["imputation"]["datasets"] == ["PRO_reads", "VIR"]


@pytest.mark.slow  # 35-45 s in the full suite on 2 busy cores
def test_same_numbers_for_any_batch_size_and_seed_changes_sites(
    built_corpus, tiny_models, tmp_path: Path
) -> None:
    data, _ = built_corpus
    common = (
        "--tasks",
        "imputation,imputation_dense",
        "--datasets",
        "VIR",
        "--limit",
        "40",
        "--baseline",
        "none",
    )
    a = _evaluate(data, tiny_models["mlm"], tmp_path / "a.json", *common, "--batch-size", "1", "--no-resume")
    b = _evaluate(data, tiny_models["mlm"], tmp_path / "b.json", *common, "--batch-size", "8", "--no-resume")
    for task in ("imputation", "imputation_dense"):
        assert abs(a["results"][task]["VIR"]["bits_per_nt"] - b["results"][task]["VIR"]["bits_per_nt"]) < 1e-6
        for genome, cell in a["results"][task]["VIR"]["per_genome"].items():
            assert cell["bits_per_nt"] == pytest.approx(
                b["results"][task]["VIR"]["per_genome"][genome]["bits_per_nt"], abs=1e-6
            )
    c = _evaluate(data, tiny_models["mlm"], tmp_path / "c.json", *common, "--seed", "1", "--no-resume")
    assert (
        c["results"]["imputation"]["VIR"]["bits_per_nt"] != a["results"]["imputation"]["VIR"]["bits_per_nt"]
    )


@pytest.mark.slow  # 35-45 s in the full suite on 2 busy cores
def test_interrupted_run_resumes_from_cache(built_corpus, tiny_models, tmp_path: Path, monkeypatch) -> None:
    from genobench_hf.scoring.causal import CausalLMScorer

    data, _ = built_corpus
    args = ("--tasks", "next_nucleotide", "--datasets", "VIR", "--limit", "200", "--baseline", "none")
    clean = _evaluate(data, tiny_models["clm"], tmp_path / "clean.json", *args, "--no-resume")
    real = CausalLMScorer.score
    calls = {"n": 0}

    def dying(self, requests, batch_size):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the third chunk
        return real(self, requests, batch_size)

    monkeypatch.setattr(CausalLMScorer, "score", dying)
    out = tmp_path / "resumed.json"
    assert main(["evaluate", "--model", str(tiny_models["clm"]), "--data-dir", str(data), "--output", str(out),
                 "--quiet", "--n-bootstrap", "50", *args]) == 130  # fmt: skip
    assert not out.exists()  # nothing half-written
    monkeypatch.setattr(CausalLMScorer, "score", real)
    resumed = _evaluate(data, tiny_models["clm"], out, *args)
    assert resumed["timing"]["cached_chunks"] == 2 and resumed["timing"]["computed_chunks"] >= 1
    got, want = resumed["results"]["next_nucleotide"]["VIR"], clean["results"]["next_nucleotide"]["VIR"]
    assert abs(got["bits_per_nt"] - want["bits_per_nt"]) < 1e-6 and got["n_scored"] == want["n_scored"]


def test_model_retrained_in_place_is_rescored(built_corpus, tmp_path: Path, monkeypatch) -> None:
    """New weights in the same folder (same config, same file size, mtime restored as ``cp -p`` leaves it)
    must be scored afresh with resume on, never served from the old model's cache."""
    from genobench_hf import testing as T

    monkeypatch.setenv("GENOBENCH_CACHE", str(tmp_path / "user-cache"))
    data, _ = built_corpus
    tok, folder = T.char_tokenizer(), tmp_path / "model"
    T.tiny_masked_lm(tok, seed=0).save_pretrained(folder)
    tok.save_pretrained(folder)
    args = ("--tasks", "imputation", "--datasets", "VIR", "--limit", "30", "--baseline", "none")
    old = _evaluate(data, folder, tmp_path / "r.json", *args)
    weights = folder / "model.safetensors"
    before = weights.stat()
    T.tiny_masked_lm(tok, seed=1).save_pretrained(folder)  # "retrained" into the same folder
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert weights.stat().st_size == before.st_size and weights.stat().st_mtime_ns == before.st_mtime_ns
    new = _evaluate(data, folder, tmp_path / "r.json", *args)
    fresh = _evaluate(data, folder, tmp_path / "fresh.json", *args, "--no-resume")
    bits = {name: d["results"]["imputation"]["VIR"]["bits_per_nt"] for name, d in
            (("old", old), ("new", new), ("fresh", fresh))}  # fmt: skip
    assert bits["new"] == pytest.approx(bits["fresh"], abs=1e-9) and abs(bits["new"] - bits["old"]) > 1e-3
    assert new["timing"]["cached_chunks"] == 0
    ident_old, ident_new = old["config"]["model_identity"], new["config"]["model_identity"]
    assert ident_old["kind"] == "content" and ident_old["sha256"] != ident_new["sha256"]
    assert ident_old["files"]["config.json"] == ident_new["files"]["config.json"]
    again = _evaluate(data, folder, tmp_path / "r.json", *args)  # unchanged now: the cache serves it
    assert again["timing"]["computed_chunks"] == 0 and again["config"]["model_identity"] == ident_new


def test_hub_model_at_a_new_commit_is_rescored(built_corpus, tmp_path: Path) -> None:
    """A Hub id is tied to the commit it resolves to: when main moves on, nothing cached is reused."""
    from test_content import fake_hub_snapshot

    data, _ = built_corpus
    repo, first, second = "genobench-test/moving-main", "a" * 40, "b" * 40
    fake_hub_snapshot(repo, first, seed=0)
    args = ("--tasks", "imputation", "--datasets", "VIR", "--limit", "30", "--baseline", "none")
    old = _evaluate(data, repo, tmp_path / "r.json", *args)
    assert old["config"]["model_identity"] == {"kind": "hub_commit", "commit": first}
    assert old["config"]["revision"] == first
    fake_hub_snapshot(repo, second, seed=1)
    new = _evaluate(data, repo, tmp_path / "r.json", *args)
    fresh = _evaluate(data, repo, tmp_path / "fresh.json", *args, "--no-resume")
    assert new["config"]["model_identity"]["commit"] == second and new["timing"]["cached_chunks"] == 0
    got, want = new["results"]["imputation"]["VIR"], fresh["results"]["imputation"]["VIR"]
    assert got["bits_per_nt"] == pytest.approx(want["bits_per_nt"], abs=1e-9)
    assert abs(got["bits_per_nt"] - old["results"]["imputation"]["VIR"]["bits_per_nt"]) > 1e-3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tasks", "imputaton"], "unknown task 'imputaton'"),
        (["--datasets", "PRO,BAC"], "unknown dataset 'BAC'"),
        (["--window", "4"], "--window must be at least 8"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
    ],
)
def test_bad_flags_give_clear_errors(
    built_corpus, tmp_path: Path, capsys, argv: list[str], message: str
) -> None:
    data, _ = built_corpus
    code = main(
        [
            "evaluate",
            "--model",
            "markov:2",
            "--data-dir",
            str(data),
            "--output",
            str(tmp_path / "x.json"),
            *argv,
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_model_without_lm_head_is_refused(built_corpus, tiny_models, tmp_path: Path, capsys) -> None:
    data, _ = built_corpus
    code = main(["evaluate", "--model", str(tiny_models["headless"]), "--data-dir", str(data),
                 "--output", str(tmp_path / "x.json"), "--datasets", "VIR", "--limit", "5"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "head" in err.lower() and "Traceback" not in err


def test_window_longer_than_model_is_a_clear_error(built_corpus, tiny_models, tmp_path: Path, capsys) -> None:
    data, _ = built_corpus
    code = main(["evaluate", "--model", str(tiny_models["mlm"]), "--data-dir", str(data), "--output",
                 str(tmp_path / "x.json"), "--datasets", "VIR", "--tasks", "imputation", "--window", "5000",
                 "--limit", "3", "--baseline", "none"])  # fmt: skip
    assert code == 2
    assert "accepts at most" in capsys.readouterr().err


@pytest.mark.slow
def test_two_processes_give_the_same_numbers(built_corpus, tiny_models, tmp_path: Path) -> None:
    """Two real CPU processes (gloo) via torchrun; the results record world_size 2."""
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun not on PATH")
    data, _ = built_corpus
    args = ["--model", str(tiny_models["mlm"]), "--data-dir", str(data), "--tasks", "imputation,imputation_dense",
            "--datasets", "VIR", "--limit", "150", "--baseline", "markov:2", "--n-bootstrap", "50", "--quiet",
            "--no-resume"]  # fmt: skip
    one = _evaluate(data, tiny_models["mlm"], tmp_path / "one.json", *args[4:])
    env = dict(os.environ, ACCELERATE_USE_CPU="1", OMP_NUM_THREADS="1")
    cmd = ["torchrun", "--nproc_per_node", "2", "-m", "genobench_hf.cli", "evaluate", *args,
           "--output", str(tmp_path / "two.json")]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["config"]["world_size"] == 2 and one["config"]["world_size"] == 1
    for key in ("sites_scored", "nucleotides_scored", "computed_chunks"):  # both processes counted
        assert two["timing"][key] == one["timing"][key], key
    assert len(two["timing"]["by_rank"]) == 2 and all(r["sites"] > 0 for r in two["timing"]["by_rank"])
    assert two["config"]["launcher_warning"] is None
    for task in ("imputation", "imputation_dense"):
        a, b = one["results"][task]["VIR"], two["results"][task]["VIR"]
        assert a["n_scored"] == b["n_scored"]
        np.testing.assert_allclose(a["bits_per_nt"], b["bits_per_nt"], atol=1e-6)
        np.testing.assert_allclose(
            a["baselines"]["markov"]["bits_per_nt"], b["baselines"]["markov"]["bits_per_nt"], atol=1e-9
        )


@pytest.mark.slow
def test_killed_process_resumes_to_the_same_numbers(built_corpus, tiny_models, tmp_path: Path) -> None:
    """SIGKILL mid-run (no cleanup code runs): finished chunks survive, the rerun reuses them."""
    import signal
    import time

    data, _ = built_corpus
    args = ["--tasks", "imputation", "--datasets", "VIR,PRO_reads", "--limit", "300", "--baseline", "none",
            "--batch-size", "2", "--n-bootstrap", "50", "--quiet"]  # fmt: skip
    out, cache = tmp_path / "killed.json", tmp_path / "cache"
    cmd = [sys.executable, "-m", "genobench_hf.cli", "evaluate", "--model", str(tiny_models["clm"]),
           "--data-dir", str(data), "--output", str(out), "--cache-dir", str(cache), *args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(cache.rglob("chunk-*.npz"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed; raise --limit"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # no half-written results file
    for chunk in cache.rglob("chunk-*.npz"):  # every published chunk is whole (temp files are renamed in)
        with np.load(chunk) as saved:
            assert saved["probs"].shape[1] == 4
    resumed = _evaluate(data, tiny_models["clm"], out, *args, "--cache-dir", str(cache))
    clean = _evaluate(data, tiny_models["clm"], tmp_path / "clean.json", *args, "--no-resume")
    assert resumed["timing"]["cached_chunks"] >= 2
    for dataset in ("VIR", "PRO_reads"):
        got, want = resumed["results"]["imputation"][dataset], clean["results"]["imputation"][dataset]
        assert abs(got["bits_per_nt"] - want["bits_per_nt"]) < 1e-6


@pytest.mark.slow
def test_accelerate_launch_that_runs_one_process_warns(built_corpus, tmp_path: Path) -> None:
    """`accelerate launch --cpu --num_processes 2` starts one process (accelerate's simple launcher);
    the run says so instead of silently scoring unsharded."""
    if shutil.which("accelerate") is None:
        pytest.skip("accelerate's launcher not on PATH")
    data, _ = built_corpus
    out = tmp_path / "one.json"
    cmd = ["accelerate", "launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "genobench_hf.cli", "evaluate",
           "--model", "markov:2", "--data-dir", str(data), "--tasks", "imputation", "--datasets", "VIR",
           "--limit", "10", "--baseline", "none", "--n-bootstrap", "10", "--quiet", "--output", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "accelerate launch --cpu` starts a single process" in proc.stderr
    doc = json.loads(out.read_text())
    assert doc["config"]["world_size"] == 1 and "single process" in doc["config"]["launcher_warning"]
