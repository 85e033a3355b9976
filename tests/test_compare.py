"""Per-site records beside the results JSON and ``genobench compare`` on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.cli import main
from genobench_hf.compare import compare, markdown, rank_groups
from genobench_hf.errors import ConfigError, InputError
from genobench_hf.site_records import KEY, SPAN_KEY, SPAN_SUFFIX, records_path


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


@pytest.fixture(scope="module")
def span_runs(built_corpus: tuple, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("spans")
    out = tuple(folder / f"{name}.json" for name in ("m2", "m4", "m2-again"))
    for path, model in zip(out, ("markov:2", "markov:4", "markov:2"), strict=True):
        _run(built_corpus[0], path, model, "--tasks", "span_imputation")
    return out  # type: ignore[return-value]


def test_span_records_round_trip_and_pool_to_the_results(span_runs: tuple[Path, Path, Path]) -> None:
    from datasets import load_dataset

    a, b, _ = span_runs
    doc = json.loads(a.read_text())
    ref = doc["span_records"]
    assert "site_records" not in doc and ref["file"] == records_path(a, SPAN_SUFFIX).name
    assert ref["key"] == list(SPAN_KEY) and len(ref["sha256"]) == 64
    ds = load_dataset("parquet", data_files=str(records_path(a, SPAN_SUFFIX)), split="train")
    assert ds.num_rows == ref["rows"]
    for dataset in ("VIR", "PRO"):
        entry = doc["results"]["span_imputation"][dataset]
        spans = [r for r in ds if r["dataset"] == dataset and r["kind"] != "gene"]
        assert len(spans) == entry["n_spans"] and {r["kind"] for r in spans} == {"span30", "span100"}
        pooled = sum(r["matches"] for r in spans) / sum(r["n_scored"] for r in spans)
        assert pooled == pytest.approx(entry["identity"])  # the records hold what the results pool
        genes = [r for r in ds if r["dataset"] == dataset and r["kind"] == "gene"]
        assert len(genes) == entry["genes"]["n_spans"] > 0
        aa = sum(r["aa_matches"] for r in genes) / sum(r["aa_residues"] for r in genes)
        assert aa == pytest.approx(entry["genes"]["aa_recovery"]["identity"])
    other = load_dataset("parquet", data_files=str(records_path(b, SPAN_SUFFIX)), split="train")
    keys = lambda d: [tuple(r[k] for k in SPAN_KEY) for r in d]  # noqa: E731
    assert keys(ds) == keys(other)  # span keys never depend on the model


def test_compare_pairs_spans_and_genes(span_runs: tuple[Path, Path, Path]) -> None:
    result = compare(list(span_runs), n_bootstrap=300)
    cells = {(c["task"], c["dataset"]): c for c in result["cells"]}
    assert {("span_imputation", d) for d in ("VIR", "PRO")} | {("span_imputation.genes", "VIR")} <= set(cells)
    doc = json.loads(span_runs[1].read_text())
    for (task, dataset), cell in cells.items():
        m2, m4, again = cell["models"]
        assert cell["higher_is_better"] and cell["unit"] == ("genes" if task.endswith("genes") else "spans")
        assert again["vs_reference"]["difference"] == 0.0 and again["rank"] == m2["rank"]
        lo, hi = m4["vs_reference"]["ci"]
        assert lo <= m4["vs_reference"]["difference"] <= hi
        if task == "span_imputation":
            assert m4["identity"] == pytest.approx(doc["results"][task][dataset]["identity"])
    assert "identity" in markdown(result) and "spans" in markdown(result)
