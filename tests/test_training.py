"""Training loop: learning on real DNA, exact resume, metrics, model card, CLI, and clear errors.

Runs use a tiny dataset folder (E. coli pieces written as Parquet like `genobench datasets build` does),
tiny model sizes and fp32, so they are fast and deterministic.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

from genobench_hf.errors import ConfigError
from genobench_hf.testing import real_dna
from genobench_hf.training import TrainConfig, check_model_card, train

TINY = {
    "cnn": {"channels": 32, "num_layers": 2, "embedding_dim": 16},
    "lstm_stateful": {"hidden_size": 32, "embedding_dim": 16, "bptt_windows": 3},
    "transformer": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64},
}


def _write_dataset(root: Path, name: str, splits: dict[str, list[str]]) -> None:
    data = root / name / "data"
    data.mkdir(parents=True)
    (root / name / "README.md").write_text("---\nlicense: other\n---\n# test dataset\n")
    for split, seqs in splits.items():
        table = pa.table({"genome_id": [f"g{i}" for i in range(len(seqs))], "sequence": seqs})
        pq.write_table(table, data / f"{split}-00000-of-00001.parquet")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    train_seqs = [real_dna(30_000, offset=200_000), real_dna(20_000, offset=900_000)]
    _write_dataset(root, "TINY", {"train": train_seqs, "validation": [real_dna(8_000, offset=2_000_000)]})
    _write_dataset(
        root, "NOTRAIN", {"validation": [real_dna(5_000)], "test": [real_dna(5_000, offset=9_000)]}
    )
    return root


def _config(data_dir: Path, out: Path, arch: str = "cnn", **kw: object) -> TrainConfig:
    base = dict(
        arch=arch, dataset="TINY", out=out, data_dir=data_dir, steps=30, batch_size=8, seq_len=64, eval_every=10,
        val_windows=16, bf16="off", quiet=True, warmup_steps=5, model_overrides=TINY.get(arch, {}),
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cnn_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return train(_config(data_dir, tmp_path_factory.mktemp("run") / "cnn", price_per_device_hour=2.0))


def test_thirty_steps_lower_the_loss(cnn_run) -> None:
    hist = cnn_run.history
    assert [h["step"] for h in hist] == [0, 10, 20, 30]
    assert hist[-1]["validation_bits_per_nt"] < hist[0]["validation_bits_per_nt"] - 0.2
    assert hist[-1]["train_bits_per_nt"] < hist[1]["train_bits_per_nt"]
    assert hist[-1]["validation_bits_per_nt"] < 2.2


def test_metrics_file_and_model_folder(cnn_run) -> None:
    out = cnn_run.out
    metrics = json.loads((out / "training_metrics.json").read_text())
    for key in (
        "wall_time_s", "nucleotides_per_s", "steps", "tokens_seen", "final_train_bits_per_nt",
        "final_validation_bits_per_nt", "peak_memory_mib", "device_kind", "device_count", "device_hours",
        "estimated_cost_usd", "price_per_device_hour_usd", "parameters",
    ):  # fmt: skip
        assert key in metrics, key
    assert metrics["steps"] == 30 and metrics["tokens_seen"] == 30 * 8 * 64
    assert metrics["device_kind"] == "cpu" and metrics["device_count"] == 1
    assert metrics["price_per_device_hour_usd"] == 2.0 and metrics["price_source"] == "user"
    assert metrics["estimated_cost_usd"] == pytest.approx(metrics["device_hours"] * 2.0, rel=1e-5)
    assert metrics["device_hours"] == pytest.approx(metrics["wall_time_s"] / 3600, rel=1e-5)
    assert metrics["nucleotides_per_s"] > 0 and metrics["peak_memory_mib"] > 0
    model = AutoModelForCausalLM.from_pretrained(out)
    assert sum(p.numel() for p in model.parameters()) == metrics["parameters"]
    assert (out / "tokenizer.json").exists()


@pytest.mark.parametrize(("wall", "n_dev"), [(0.1063, 1), (0.0123, 1), (3.7, 2), (5432.1, 1)])
def test_time_device_hours_and_cost_keep_their_precision(
    data_dir: Path, tmp_path: Path, wall: float, n_dev: int
) -> None:
    """One measured wall time gives all three figures, each to 6 significant digits: rounding to 6 decimal
    places once made a 0.106 s run's device-hours 3e-05 (1.6% off) and its cost disagree with them."""
    from types import SimpleNamespace

    from genobench_hf.training.metrics import build_metrics

    accelerator = SimpleNamespace(device=torch.device("cpu"), num_processes=n_dev)
    m = build_metrics(
        _config(data_dir, tmp_path / "m", price_per_device_hour=2.0), accelerator, wall=wall, steps=30,
        n_params=1, bf16=False, history=[{"validation_bits_per_nt": 2.0}], train_bits=2.0, data_fingerprint="x",
        model_config={},
    )  # fmt: skip
    assert m["wall_time_s"] == pytest.approx(wall, rel=1e-5)
    assert m["device_hours"] == pytest.approx(wall / 3600 * n_dev, rel=1e-5)
    assert m["estimated_cost_usd"] == pytest.approx(wall / 3600 * n_dev * 2.0, rel=1e-5)
    assert m["estimated_cost_usd"] == pytest.approx(m["device_hours"] * 2.0, rel=1e-5)


def test_model_card_reparses_with_model_index(cnn_run) -> None:
    from huggingface_hub import ModelCard

    card = ModelCard.load(cnn_run.out / "README.md")
    assert card.data.library_name == "transformers"
    assert {"genomics", "dna", "genobench"} <= set(card.data.tags)
    assert card.data.datasets == ["TINY"] and card.data.license
    (result,) = card.data.eval_results
    assert result.metric_value == cnn_run.validation_bits_per_nt and result.dataset_split == "validation"
    check_model_card(cnn_run.out / "README.md", cnn_run.validation_bits_per_nt)


@pytest.mark.parametrize("arch", ["cnn", pytest.param("lstm_stateful", marks=pytest.mark.slow)])
def test_resume_equals_uninterrupted(arch: str, data_dir: Path, tmp_path: Path) -> None:
    full = train(_config(data_dir, tmp_path / "full", arch, steps=9, eval_every=3))
    part = _config(data_dir, tmp_path / "part", arch, steps=9, eval_every=3, stop_after=5)
    first = train(part)
    assert first.metrics == {"steps": 5, "finished": False}
    assert not (tmp_path / "part" / "model.safetensors").exists()
    resumed = train(_config(data_dir, tmp_path / "part", arch, steps=9, eval_every=3, resume=True))
    a, b = (
        load_file(tmp_path / "full" / "model.safetensors"),
        load_file(tmp_path / "part" / "model.safetensors"),
    )
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.history == full.history


def test_masked_transformer_training(data_dir: Path, tmp_path: Path) -> None:
    run = train(_config(data_dir, tmp_path / "mlm", "transformer", objective="mlm", steps=12))
    model = AutoModelForMaskedLM.from_pretrained(tmp_path / "mlm")
    assert type(model).__name__ == "GenobenchTransformerForMaskedLM"
    assert run.history[-1]["validation_bits_per_nt"] < run.history[0]["validation_bits_per_nt"]
    assert "fill-mask" in (tmp_path / "mlm" / "README.md").read_text()


def test_time_budget_becomes_a_step_count(data_dir: Path, tmp_path: Path) -> None:
    run = train(_config(data_dir, tmp_path / "t", steps=None, max_minutes=0.1, eval_every=50))
    assert run.metrics["steps"] >= 12  # the probe alone is 12 steps
    assert run.metrics["config"]["max_minutes"] == 0.1


def test_cli_trains_and_reports(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from genobench_hf.commands import train as command

    parser = argparse.ArgumentParser(prog="genobench")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([
        "train", "--arch", "cnn", "--dataset", "TINY", "--data-dir", str(data_dir), "--out", str(tmp_path / "c"),
        "--steps", "4", "--batch-size", "4", "--seq-len", "32", "--eval-every", "2", "--bf16", "off", "--quiet",
        "--model-config", json.dumps(TINY["cnn"]),
    ])  # fmt: skip
    assert args.func(args) == 0
    assert "validation" in capsys.readouterr().out
    assert json.loads((tmp_path / "c" / "training_metrics.json").read_text())["steps"] == 4


def test_clear_errors(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown arch 'gru'"):
        train(_config(data_dir, tmp_path / "a", "gru"))
    with pytest.raises(ConfigError, match="NOTRAIN has no train split"):
        train(_config(data_dir, tmp_path / "b", dataset="NOTRAIN"))
    with pytest.raises(ConfigError, match="'MISSING' not found"):
        train(_config(data_dir, tmp_path / "b", dataset="MISSING"))
    with pytest.raises(ConfigError, match="either --steps or --max-minutes"):
        _config(data_dir, tmp_path / "c", max_minutes=1.0)
    with pytest.raises(ConfigError, match="no checkpoint"):
        train(_config(data_dir, tmp_path / "d", resume=True))
    with pytest.raises(ConfigError, match="smaller --seq-len"):
        train(_config(data_dir, tmp_path / "e", seq_len=40_000))
    train(_config(data_dir, tmp_path / "f", steps=4, eval_every=2, stop_after=2))
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        train(_config(data_dir, tmp_path / "f", steps=4, eval_every=2))
    with pytest.raises(ConfigError, match=r"different configuration: .*seq_len"):
        train(_config(data_dir, tmp_path / "f", steps=4, eval_every=2, seq_len=32, resume=True))


@pytest.mark.parametrize("arch", ["cnn", "lstm_stateful"])
def test_prefetched_batches_give_the_same_training(
    arch: str, data_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """The GPU path (batches built on a worker thread, losses read only when logged) trains exactly like
    the in-line CPU path: same history, same weights."""
    from genobench_hf.training import loop

    inline = train(_config(data_dir, tmp_path / "inline", arch, steps=7, eval_every=3))
    monkeypatch.setattr(loop, "PREFETCH_ON_CPU", True)
    threaded = train(_config(data_dir, tmp_path / "threaded", arch, steps=7, eval_every=3))
    assert threaded.history == inline.history and len(inline.history) == 4
    a, b = (
        load_file(tmp_path / "inline" / "model.safetensors"),
        load_file(tmp_path / "threaded" / "model.safetensors"),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert threaded.metrics["final_train_bits_per_nt"] == inline.metrics["final_train_bits_per_nt"]


def test_batches_helper_prefetches_the_next_step(monkeypatch) -> None:
    from genobench_hf.training import loop
    from genobench_hf.training.data import Batch

    made: list[int] = []

    def make(step: int) -> Batch:
        made.append(step)
        return Batch(torch.full((1, 2), step), torch.full((1, 2), -step))

    monkeypatch.setattr(loop, "PREFETCH_ON_CPU", True)
    batches = loop._Batches(make, torch.device("cpu"))
    try:
        for step in (0, 1, 2, 5):  # a jump (resume) builds in line, then prefetches again
            ids, labels, _ = batches.get(step)
            assert ids.tolist() == [[step, step]] and labels.tolist() == [[-step, -step]]
    finally:
        batches.close()
    # 3 was prefetched and dropped at the jump, 6 prefetched after 5: each is built only if the worker got
    # to it before close() cancelled it (a race by design: a batch nobody will use need not be built);
    # every batch that was used was built exactly once
    assert {0, 1, 2, 5} <= set(made) <= {0, 1, 2, 3, 5, 6} and len(made) == len(set(made))
