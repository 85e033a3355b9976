"""Intervals for every transfer and rare-species gap and ratio, kept cell intervals, unstable ratios, and
the labelling of a kingdom whose own datasets were not evaluated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.cli import main
from genobench_hf.metrics import rare_gap, transfer_summary
from genobench_hf.tasks.imputation import gain_draws
from genobench_hf.tasks.transfer import in_domain_map, matrix_summary


def _draws(gain: float, sd: float, n: int = 400, seed: int = 0) -> list[float]:
    return list(np.random.default_rng(seed).normal(gain, sd, n))


def test_draws_are_paired_across_models_on_the_same_sites() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.uniform(1.5, 2.5, 300), rng.uniform(1.5, 2.5, 300)
    da, db = np.array(gain_draws(a, 100, seed=7)), np.array(gain_draws(b, 100, seed=7))
    diff = np.array(gain_draws(a - b + 2.0, 100, seed=7))  # same resampled sites: draws of the difference
    assert np.allclose(da - db, diff, atol=1e-5)


def test_transfer_summary_intervals_for_gains_gaps_and_ratios() -> None:
    matrix = {"PRO": {"PRO": 1.8, "VIR": 1.9}, "VIR": {"PRO": 1.95, "VIR": 1.85}}
    draws = {
        "PRO": {"PRO": _draws(0.2, 0.01, seed=1), "VIR": _draws(0.1, 0.01, seed=2)},
        "VIR": {"PRO": _draws(0.05, 0.01, seed=3), "VIR": _draws(0.15, 0.01, seed=4)},
    }
    s = transfer_summary(matrix, in_domain={"PRO": ["PRO"], "VIR": ["VIR"]}, draws=draws)
    pro = s["per_train"]["PRO"]
    assert pro["gap"] == pytest.approx(-0.1) and pro["gap_ci"][0] < -0.1 < pro["gap_ci"][1]
    assert pro["ratio_ci"][0] < 0.5 < pro["ratio_ci"][1] and not pro["ratio_unstable"]
    assert s["ratio_ci"][0] < s["ratio"] < s["ratio_ci"][1] and s["ratio_rows"] == ["PRO", "VIR"]
    assert s["in_domain_gain_ci"][0] < s["in_domain_gain"] < s["in_domain_gain_ci"][1]


def test_a_ratio_with_a_gain_near_zero_is_marked_unstable() -> None:
    matrix = {"PRO": {"PRO": 1.99, "VIR": 1.995}}
    draws = {"PRO": {"PRO": _draws(0.01, 0.02, seed=1), "VIR": _draws(0.005, 0.02, seed=2)}}
    s = transfer_summary(matrix, in_domain={"PRO": ["PRO"]}, draws=draws)
    row = s["per_train"]["PRO"]
    assert row["ratio_unstable"] and row["ratio_undefined_share"] > 0.2
    assert row["gap_ci"][0] < row["gap"] < row["gap_ci"][1]  # the gap stays readable
    r = rare_gap(1.99, 1.995, common_draws=_draws(0.01, 0.02, seed=5), rare_draws=_draws(0.005, 0.02, seed=6))
    assert r["ratio_unstable"] and r["gap_ci"][0] < r["gap"] < r["gap_ci"][1]
    steady = rare_gap(1.7, 1.8, common_draws=_draws(0.3, 0.01, seed=7), rare_draws=_draws(0.2, 0.01, seed=8))
    assert not steady["ratio_unstable"] and steady["ratio_ci"][0] < 2 / 3 < steady["ratio_ci"][1]


def test_a_kingdom_without_its_own_test_datasets_is_known_and_counted_off_diagonal() -> None:
    tests = ["PRO", "VIR"]
    domains = in_domain_map(["EUK", "PRO"], tests)
    assert domains == {"EUK": [], "PRO": ["PRO"]}
    per_dataset = {
        "PRO": {"by_train": {"EUK": {"bits_per_nt": 1.95}, "PRO": {"bits_per_nt": 1.8}}},
        "VIR": {"by_train": {"EUK": {"bits_per_nt": 1.97}, "PRO": {"bits_per_nt": 1.9}}},
    }
    s = matrix_summary(per_dataset)
    euk = s["per_train"]["EUK"]
    assert euk["known_training"] and euk["in_domain"] == [] and euk["in_domain_gain"] is None
    assert euk["off_diagonal_gain"] == pytest.approx(0.04)
    assert s["off_diagonal_rows"] == ["EUK", "PRO"] and s["ratio_rows"] == ["PRO"]
    assert s["off_diagonal_gain"] == pytest.approx((0.04 + 0.1) / 2)
    assert s["ratio"] == pytest.approx(0.1 / 0.2)  # over the rows that have both


def test_transfer_and_rare_species_results_carry_intervals(tmp_path: Path, built_corpus: tuple) -> None:
    out = tmp_path / "r.json"
    rc = main([
        "evaluate", "--model", "markov:2", "--data-dir", str(built_corpus[0]), "--datasets", "PRO,VIR",
        "--tasks", "transfer,rare_species", "--limit", "60", "--baseline", "none", "--n-bootstrap", "50",
        "--output", str(out), "--quiet",
    ])  # fmt: skip
    assert rc == 0
    doc = json.loads(out.read_text())
    cell = doc["results"]["transfer"]["PRO"]["by_train"]["PRO"]
    assert "ci" in cell and len(cell["gain_draws"]) == 200
    summary = doc["summaries"]["transfer"]
    assert summary["gap_ci"] and summary["ratio_ci"] is not None and "ratio_unstable" in summary
    for train, row in summary["per_train"].items():
        if train == "EUK":  # EUK's own datasets were not evaluated: known, off-diagonal only
            assert row["known_training"] and row["in_domain"] == [] and "gap_ci" not in row
        else:
            assert "gap_ci" in row and "ratio_unstable" in row
    assert "EUK" in summary["off_diagonal_rows"] and "EUK" not in summary["ratio_rows"]
    rare = doc["results"]["rare_species"]
    for entry in rare.values():
        if "skipped" not in entry:
            assert entry["gap_ci"][0] <= entry["gap"] <= entry["gap_ci"][1] and "ratio_unstable" in entry
