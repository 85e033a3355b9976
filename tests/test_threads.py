"""torch threads follow the CPUs this process may use (affinity, cgroup v1/v2 quota), with a flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from genobench_hf import threads as T
from genobench_hf.cli import main
from genobench_hf.errors import ConfigError


def _cgroup(tmp_path: Path, files: dict[str, str], own: str = "0::/\n") -> dict[str, Path]:
    root = tmp_path / "cgroup"
    root.mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(own)
    return {"root": root, "proc_cgroup": proc}


@pytest.fixture
def eight_cpus(monkeypatch) -> None:
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)


def test_v2_quota_limits_and_rounds_down(tmp_path: Path, eight_cpus) -> None:
    fake = _cgroup(tmp_path, {"cpu.max": "250000 100000\n"})
    assert T.available_cpus(**fake) == {"cpus": 2, "affinity": 8, "cgroup_quota": 2.5}
    fake = _cgroup(tmp_path / "half", {"cpu.max": "50000 100000\n"})
    assert T.available_cpus(**fake)["cpus"] == 1  # half a CPU still runs one thread


def test_v2_unlimited_and_garbage_fall_back_to_affinity(tmp_path: Path, eight_cpus) -> None:
    assert T.available_cpus(**_cgroup(tmp_path / "a", {"cpu.max": "max 100000\n"}))["cpus"] == 8
    assert T.available_cpus(**_cgroup(tmp_path / "b", {"cpu.max": "lots\n"}))["cpus"] == 8
    assert T.available_cpus(**_cgroup(tmp_path / "c", {}))["cgroup_quota"] is None


def test_v2_quota_of_an_ancestor_of_the_own_cgroup_binds(tmp_path: Path, eight_cpus) -> None:
    fake = _cgroup(
        tmp_path,
        {"cpu.max": "max 100000", "pod/cpu.max": "300000 100000", "pod/job/cpu.max": "max 100000"},
        own="0::/pod/job\n",
    )
    assert T.available_cpus(**fake)["cpus"] == 3


def test_v1_cfs_quota(tmp_path: Path, eight_cpus) -> None:
    files = {"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}
    assert T.available_cpus(**_cgroup(tmp_path / "a", files))["cpus"] == 4
    unlimited = {
        "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "-1",
        "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000",
    }
    own = "4:cpu,cpuacct:/docker/x\n0::/\n"
    assert T.available_cpus(**_cgroup(tmp_path / "b", unlimited, own))["cpus"] == 8
    limited = {
        "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "100000",
        "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000",
    }
    assert T.available_cpus(**_cgroup(tmp_path / "c", limited, own))["cpus"] == 1


def test_affinity_smaller_than_quota_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert T.available_cpus(**_cgroup(tmp_path, {"cpu.max": "800000 100000"}))["cpus"] == 2


def test_choice_order_flag_then_omp_then_cpus_per_local_process(tmp_path: Path, eight_cpus) -> None:
    fake = _cgroup(tmp_path, {"cpu.max": "600000 100000"})
    assert T.choose_threads(3, {"OMP_NUM_THREADS": "5"}, **fake)["threads"] == 3
    assert T.choose_threads(None, {"OMP_NUM_THREADS": "5"}, **fake)["source"] == "OMP_NUM_THREADS"
    auto = T.choose_threads(None, {}, **fake)
    assert (auto["threads"], auto["source"]) == (6, "available CPUs")
    assert T.choose_threads(None, {"LOCAL_WORLD_SIZE": "4"}, **fake)["threads"] == 1  # 6 // 4
    assert T.choose_threads(None, {"LOCAL_WORLD_SIZE": "8"}, **fake)["threads"] == 1  # never 0


def test_parse_threads() -> None:
    assert T.parse_threads("auto") is None and T.parse_threads("2") == 2
    for bad in ("0", "-1", "two"):
        with pytest.raises(ConfigError, match="--threads"):
            T.parse_threads(bad)


def test_threads_flag_sets_torch_and_is_recorded(built_corpus, tmp_path: Path, capsys) -> None:
    data, _ = built_corpus
    before = torch.get_num_threads()
    try:
        out = tmp_path / "r.json"
        args = ["evaluate", "--model", "markov:1", "--data-dir", str(data), "--datasets", "VIR",
                "--tasks", "next_nucleotide", "--limit", "8", "--baseline", "none", "--n-bootstrap", "10",
                "--quiet", "--output", str(out)]  # fmt: skip
        assert main([*args, "--threads", "1"]) == 0
        env = json.loads(out.read_text())["environment"]
        assert env["torch_threads"] == 1 and env["threads"]["source"] == "--threads"
        assert env["threads"]["cpus"] >= 1 and torch.get_num_threads() == 1
        with pytest.raises(SystemExit) as exc:  # argparse refuses it with a one-line message, exit 2
            main([*args, "--threads", "0"])
        assert exc.value.code == 2
        assert "--threads must be a positive integer" in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)
