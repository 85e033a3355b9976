"""Per-site records beside the results JSON and ``genobench compare`` on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.cli import main
from genobench_hf.compare import compare, rank_groups
from genobench_hf.errors import ConfigError, InputError
from genobench_hf.site_records import KEY, records_path


def _run(data: Path, out: Path, model: str, *extra: str) -> dict:
    rc = main([
        "evaluate", "--model", model, "--data-dir", str(data), "--datasets", "VIR,PRO",
        "--tasks", "imputation,next_nucleotide", "--n-sites", "300", "--baseline", "none",
        "--n-bootstrap", "50", "--output", str(out), "--quiet", *extra,
    ])  # fmt: skip
    assert rc == 0
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def runs(built_corpus: tuple, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("compare")
    a, b, c = folder / "m2.json", folder / "m5.json", folder / "m2-again.json"
    _run(built_corpus[0], a, "markov:2")
    _run(built_corpus[0], b, "markov:5")
    _run(built_corpus[0], c, "markov:2")
    return a, b, c


def test_site_records_round_trip_through_load_dataset(runs: tuple[Path, Path, Path]) -> None:
    from datasets import load_dataset

    a, b, _ = runs
    doc = json.loads(a.read_text())
    ref = doc["site_records"]
    assert ref["file"] == records_path(a).name and len(ref["sha256"]) == 64 and ref["key"] == list(KEY)
    ds = load_dataset("parquet", data_files=str(records_path(a)), split="train")
    assert ds.num_rows == ref["rows"] == sum(doc["results"][t][d]["n_scored"]
                                              for t in ("imputation", "next_nucleotide") for d in ("VIR", "PRO"))  # fmt: skip
    row = ds[0]
    assert set(KEY) <= set(row) and abs(row["p_A"] + row["p_C"] + row["p_G"] + row["p_T"] - 1) < 1e-5
    other = load_dataset("parquet", data_files=str(records_path(b)), split="train")
    keys = lambda d: [tuple(r[k] for k in KEY) for r in d]  # noqa: E731
    assert keys(ds) == keys(other)  # site keys never depend on the model


def test_compare_pairs_sites_and_ranks(runs: tuple[Path, Path, Path]) -> None:
    a, b, c = runs
    result = compare([a, b, c], n_bootstrap=300)
    assert result["models"][0].startswith("markov:2") and len(result["cells"]) == 4
    for cell in result["cells"]:
        m2, m5, again = cell["models"]
        assert again["vs_reference"]["difference"] == 0.0  # the same model twice: exactly no difference
        assert again["rank"] == m2["rank"]  # not separable: they share a rank
        d = m5["vs_reference"]
        assert d["ci"][1] - d["ci"][0] < 2 * m5["unpaired_halfwidth_vs_reference"]  # paired is narrower
        assert cell["n_sites"] >= 250 and "bootstrap" in cell["interval"]


def test_compare_refuses_other_protocols_and_damaged_records(
    built_corpus: tuple, runs: tuple, tmp_path: Path
) -> None:
    a, _, _ = runs
    other = tmp_path / "w128.json"
    _run(built_corpus[0], other, "markov:2", "--window", "128")
    with pytest.raises(ConfigError, match="window differs"):
        compare([a, other])
    assert main(["compare", str(a), str(other)]) == 2
    broken = tmp_path / "copy.json"
    broken.write_text(a.read_text())
    (tmp_path / records_path(a).name).write_bytes(records_path(a).read_bytes()[:-100])  # the file it names
    with pytest.raises(InputError, match="checksum"):
        compare([a, broken])


def test_rank_groups_share_ranks_until_separable() -> None:
    means = {0: 1.0, 1: 1.01, 2: 1.5, 3: 1.52}

    def pair(i: int, j: int) -> dict:  # separable when more than 0.1 bits apart
        gap = means[i] - means[j]
        return {"excludes_zero": abs(gap) > 0.1, "cluster_ci": None, "cluster_excludes_zero": None}

    assert rank_groups([0, 1, 2, 3], pair, use_cluster=False) == {0: 1, 1: 1, 2: 3, 3: 3}
    assert np.isfinite(list(means.values())).all()
