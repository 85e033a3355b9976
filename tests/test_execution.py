"""Chunked execution: cache/resume, sharding independence, OOM backoff; results file schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.errors import InputError
from genobench_hf.execution import ChunkedExecutor, ExecutionStats, launcher_mismatch
from genobench_hf.results import SCHEMA_VERSION, load_results, new_results, write_results
from genobench_hf.scoring.base import ScoreRequest, SiteScores
from genobench_hf.tasks.sampling import Window, stable_seed


class HashScorer:
    """Deterministic fake: probabilities from a hash of the window with the sites hidden."""

    name = "hash"

    def __init__(self, fail_above: int | None = None) -> None:
        self.calls: list[int] = []
        self.fail_above = fail_above

    def skip_reason(self, protocol: str) -> str | None:
        return None

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        import torch

        self.calls.append(batch_size)
        if self.fail_above is not None and batch_size > self.fail_above:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        out = []
        for r in requests:
            hidden = "".join("?" if i in r.sites else c for i, c in enumerate(r.window))
            rng = np.random.default_rng(stable_seed(hidden))
            p = rng.dirichlet(np.ones(4), size=len(r.sites))
            out.append(SiteScores(probs=p, mass_outside=np.zeros(len(r.sites)), path="fake"))
        return out


def _windows(n: int) -> list[Window]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        w = "".join(rng.choice(list("ACGT"), 32))
        out.append(Window.make(f"g{i % 3}", 0, i, w, (16,)))
    return out


def test_cache_makes_rerun_free_and_identical(tmp_path: Path) -> None:
    wins = _windows(150)
    ex = ChunkedExecutor(batch_size=8, chunk_size=64, cache_dir=tmp_path, show_progress=False)
    first = ex.run("k", wins, "imputation", HashScorer())
    assert ex.stats.computed_chunks == 3 and ex.stats.cached_chunks == 0
    # simulate a run killed after the first chunk: remove the later chunk files
    for p in sorted((tmp_path / "k").glob("chunk-*.npz"))[1:]:
        p.unlink()
    ex2 = ChunkedExecutor(batch_size=3, chunk_size=64, cache_dir=tmp_path, show_progress=False)
    second = ex2.run("k", wins, "imputation", HashScorer())
    assert ex2.stats.cached_chunks == 1 and ex2.stats.computed_chunks == 2
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.probs, b.probs)


def test_chunks_of_another_sampling_are_not_reused(tmp_path: Path) -> None:
    wins = _windows(10)
    ChunkedExecutor(chunk_size=64, cache_dir=tmp_path, show_progress=False).run(
        "k", wins, "imputation", HashScorer()
    )
    other = [Window.make(w.genome_id, 0, 0, w.window, (3, 4)) for w in wins]
    ex = ChunkedExecutor(chunk_size=64, cache_dir=tmp_path, show_progress=False)
    ex.run("k", other, "imputation_dense", HashScorer())
    assert ex.stats.computed_chunks == 1


def test_oom_halves_batch_size() -> None:
    scorer = HashScorer(fail_above=2)
    ex = ChunkedExecutor(batch_size=16, chunk_size=64, show_progress=False)
    out = ex.run("k", _windows(10), "imputation", scorer)
    assert len(out) == 10
    assert scorer.calls[:4] == [16, 8, 4, 2]
    assert ex.stats.batch_size_backoffs == 3


def test_other_errors_propagate() -> None:
    class Broken(HashScorer):
        def score(self, requests, batch_size):  # type: ignore[no-untyped-def]
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        ChunkedExecutor(show_progress=False).run("k", _windows(3), "imputation", Broken())


def test_results_roundtrip_and_version_check(tmp_path: Path) -> None:
    doc = new_results({"model": "m"}, {"device": "cpu"})
    doc["results"]["imputation"] = {"PRO": {"accuracy": np.float64(0.5), "bits": float("nan")}}
    path = write_results(doc, tmp_path / "r.json")
    loaded = load_results(path)
    assert loaded["schema_version"] == SCHEMA_VERSION
    assert loaded["results"]["imputation"]["PRO"] == {"accuracy": 0.5, "bits": None}
    assert not list(tmp_path.glob("*.tmp"))
    old = json.loads(path.read_text()) | {"schema_version": "0.1"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    with pytest.raises(InputError, match=r"schema_version 0\.1 is not supported"):
        load_results(tmp_path / "old.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match=r"bad\.json"):
        load_results(tmp_path / "bad.json")


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_damaged_chunk_is_recomputed_with_a_warning(tmp_path: Path, damage: str) -> None:
    wins = _windows(150)
    first = ChunkedExecutor(chunk_size=64, cache_dir=tmp_path, show_progress=False).run(
        "k", wins, "imputation", HashScorer()
    )
    chunk = tmp_path / "k" / "chunk-000001.npz"
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    ex = ChunkedExecutor(chunk_size=64, cache_dir=tmp_path, show_progress=False)
    with pytest.warns(UserWarning, match=r"cache chunk .*chunk-000001\.npz is unreadable"):
        second = ex.run("k", wins, "imputation", HashScorer())
    assert ex.stats.cached_chunks == 2 and ex.stats.computed_chunks == 1
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.probs, b.probs)
    again = ChunkedExecutor(chunk_size=64, cache_dir=tmp_path, show_progress=False)
    again.run("k", wins, "imputation", HashScorer())  # the damaged file was replaced by a whole one
    assert again.stats.cached_chunks == 3


def test_stats_of_all_processes_add_up() -> None:
    """Each process counts only its own chunks; the run's timing is their sum (time: the slowest)."""
    from genobench_hf.runner import _timing

    a = ExecutionStats(seconds=2.0, nucleotides=1000, sites=192, cached_chunks=1, computed_chunks=3)
    b = ExecutionStats(seconds=3.0, nucleotides=1000, sites=192, cached_chunks=0, computed_chunks=3)
    timing = _timing([(a, 100.0), (b, 120.0)])
    assert timing["sites_scored"] == 384 and timing["computed_chunks"] == 6 and timing["cached_chunks"] == 1
    assert timing["scoring_seconds"] == 3.0 and timing["nucleotides_per_second"] == pytest.approx(2000 / 3)
    assert timing["peak_memory_mb"] == 120.0 and [r["sites"] for r in timing["by_rank"]] == [192, 192]


@pytest.mark.parametrize(
    ("world", "env", "expected"),
    [
        (1, {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}, "accelerate launch --cpu"),
        (1, {"WORLD_SIZE": "4", "MASTER_ADDR": "h", "MASTER_PORT": "1"}, "asked for 4 processes"),
        (1, {"OMPI_COMM_WORLD_SIZE": "2"}, "OMPI_COMM_WORLD_SIZE=2"),
        (1, {"WORLD_SIZE": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1"}, None),  # torchrun with 1 process
        (1, {}, None),
        (2, {"WORLD_SIZE": "2", "MASTER_ADDR": "h", "MASTER_PORT": "1"}, None),
    ],
)
def test_launcher_asking_for_more_processes_than_run(world: int, env: dict, expected: str | None) -> None:
    got = launcher_mismatch(world, env)
    assert (got is None) if expected is None else (expected in str(got))
