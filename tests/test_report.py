"""``genobench report``: tables read the right numbers, sections appear only with data, output is offline."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.cli import main
from genobench_hf.errors import InputError
from genobench_hf.report import build_report, load_runs
from genobench_hf.report.detail_tables import efficiency_table, provenance
from genobench_hf.report.markdown import render_markdown
from genobench_hf.report.sections import build_sections
from genobench_hf.report.tables import leaderboard, task_table

FIXTURES = Path(__file__).parent / "fixtures" / "results"
FILES = sorted(FIXTURES.glob("*.json"))


@pytest.fixture(scope="module")
def runs():
    return load_runs(FILES)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = build_report(FILES, out)
    return files, files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")


def _doc(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_fixtures_are_labelled_synthetic(runs):
    assert len(FILES) == 3
    assert all("SYNTHETIC FIXTURE" in r.config["fixture_note"] for r in runs)


def test_leaderboard_reads_main_scores_and_baselines(runs):
    table = leaderboard(runs)
    assert table is not None
    labels = [(c.group, c.label) for c in table.columns]
    assert ("imputation", "PRO") in labels and ("span_imputation", "VIR") in labels
    assert not any(g in ("transfer", "efficiency", "aa_probe") for g, _ in labels)
    j = labels.index(("imputation", "EUK"))
    doc = _doc("kmer6-mlm-100M.json")
    row = next(r for r in table.rows if r.label == "fixture/kmer6-mlm-100M")
    cell = row.cells[j]
    assert cell.value == doc["results"]["imputation"]["EUK"]["bits_per_nt"]
    lo, hi = doc["results"]["imputation"]["EUK"]["ci"]["bits_per_nt"]
    assert cell.ci == f"{lo:.3f}–{hi:.3f}"
    assert cell.source == "kmer6-mlm-100M.json: results.imputation.EUK.bits_per_nt"
    kinds = [r.kind for r in table.rows]
    assert kinds == ["model"] * 3 + ["baseline"] * 2
    markov, chance = table.rows[3], table.rows[4]
    assert markov.label.startswith("markov baseline")
    assert markov.cells[j].value == doc["results"]["imputation"]["EUK"]["baselines"]["markov"]["bits_per_nt"]
    assert chance.cells[j].value == 2.0


def test_best_is_lowest_bits_and_highest_identity(runs):
    table = leaderboard(runs)
    for j, col in enumerate(table.columns):
        models = [r.cells[j] for r in table.rows if r.kind == "model" and r.cells[j].value is not None]
        best = [c for c in models if c.best]
        if len(models) < 2:
            assert not best
            continue
        pick = max if col.higher_is_better else min
        assert [c.value for c in best] == [pick(c.value for c in models)], col
        # baselines are never highlighted, even when better
        assert not any(r.cells[j].best for r in table.rows if r.kind == "baseline")


def test_skipped_entries_show_reason(runs, report):
    table = leaderboard(runs)
    j = [(c.group, c.label) for c in table.columns].index(("imputation_dense", "PRO"))
    causal = next(r for r in table.rows if r.label == "fixture/bpe-causal-7M")
    assert causal.cells[j].text == "skipped" and causal.cells[j].value is None
    assert "imputation_dense needs a masked LM" in causal.cells[j].source
    dense = task_table(runs, "imputation_dense")
    skipped_rows = [r for r in dense.rows if r.skipped]
    assert len(skipped_rows) == 4 and all("masked LM" in r.skipped for r in skipped_rows)
    _, html, md = report
    assert "skipped: causal LM: imputation_dense needs a masked LM" in html
    assert "skipped: fixture: no strain alignments for this model" in md


def test_span_table_has_lengths_and_genes(runs):
    table = task_table(runs, "span_imputation")
    labels = [c.label for c in table.columns]
    assert {"identity 30 nt", "identity 100 nt", "identity 300 nt", "gene aa identity"} <= set(labels)
    row = next(r for r in table.rows if r.label == "fixture/char-mlm-50M" and r.lead == ["VIR"])
    doc = _doc("char-mlm-50M.json")["results"]["span_imputation"]["VIR"]
    assert row.cells[labels.index("identity 100 nt")].value == doc["by_length"]["100"]["identity"]
    assert row.cells[labels.index("gene aa identity")].value == doc["genes"]["aa_recovery"]["identity"]


def test_efficiency_falls_back_to_timing(runs, tmp_path):
    table = efficiency_table(runs)
    assert [r.lead[0] for r in table.rows] == ["efficiency task, PRO"] * 3
    doc = _doc("bpe-causal-7M.json")
    del doc["results"]["efficiency"]
    doc["timing"].pop("ms_per_kb", None)
    path = tmp_path / "timing-only.json"
    path.write_text(json.dumps(doc))
    (row,) = efficiency_table(load_runs([path])).rows
    assert row.lead[0] == "whole run (timing)"
    speed = doc["timing"]["nucleotides_per_second"]
    assert row.cells[0].value == speed
    assert row.cells[1].value == pytest.approx(1e6 / speed)  # derived, and says so
    assert "(1e6 / nt/s)" in row.cells[1].source


@pytest.fixture
def small_file(tmp_path):
    """One model with only the site tasks: cheap to render, and most detail sections absent."""
    doc = _doc("bpe-causal-7M.json")
    for task in ("transfer", "conservation", "aa_probe", "cds_probe", "neuron_importance", "span_imputation"):
        doc["results"].pop(task, None)
    path = tmp_path / "small.json"
    path.write_text(json.dumps(doc))
    return path


def test_sections_render_only_with_data(tmp_path, small_file):
    files = build_report([small_file], tmp_path / "out")
    html = files.html.read_text(encoding="utf-8")
    assert "No transfer results in these files." in html
    assert "No span_imputation results in these files." in html
    assert "No probe results" in html
    assert 'id="fig-calibration"' in html and 'id="fig-transfer"' not in html
    assert {p.name for p in files.figures} == {"calibration.svg", "accuracy_by_gc.svg"}


def test_html_is_self_contained(report):
    files, html, _ = report
    # no external resource of any kind: every asset is inline
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    assert html.count("<svg") >= 7 and html.count("<table") >= 8
    assert "Synthetic fixture data" in html
    names = {p.name for p in files.figures}
    assert names == {
        "calibration.svg",
        "accuracy_by_gc.svg",
        "edge_distance.svg",
        "transfer.svg",
        "conservation.svg",
        "probes.svg",
        "neuron_importance.svg",
    }
    # several SVGs on one page must not share element ids
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for target in re.findall(r'(?:href="|url\()#([^")]+)', html):
        assert target in ids  # every reference (markers, clip paths, TOC links) resolves


def test_provenance_traces_every_file(runs, report):
    _, html, md = report
    for p in provenance(runs):
        assert p["sha256"] in html and p["sha256"][:12] in md
        assert f'id="{p["anchor"]}"' in html
        assert p["revision"] and p["revision"] in html
        for fp in p["datasets"].values():
            assert fp in html
    assert "schema" in html and 'title="char-mlm-50M.json: results.imputation.PRO.bits_per_nt"' in html


def test_markdown_has_leaderboard_per_task(report, runs):
    _, _, md = report
    assert md.startswith("# genobench report")
    assert "**imputation (bits/nt)**" in md and "**span_imputation (identity)**" in md
    assert "![Calibration (imputation)](figures/calibration.svg)" in md
    doc = _doc("char-mlm-50M.json")["results"]["imputation"]["PRO"]
    lo, hi = doc["ci"]["bits_per_nt"]
    assert f"**{doc['bits_per_nt']:.3f} ({lo:.3f}–{hi:.3f})**" in md  # best in bold, with its interval
    # every table row has as many cells as its header
    for block in md.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if lines:
            widths = {ln.count(" | ") for ln in lines if not ln.startswith("|:")}
            assert len(widths) == 1, block


def test_duplicate_models_get_distinct_labels(tmp_path):
    doc = _doc("char-mlm-50M.json")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(doc))
    other = copy.deepcopy(doc)
    other["config"]["revision"] = "feedbeefcafe1234"
    b.write_text(json.dumps(other))
    labels = [r.label for r in load_runs([a, b])]
    assert labels[0] != labels[1] and labels[1].endswith("@feedbee")
    same = [r.label for r in load_runs([a, a])]
    assert same[0] != same[1] and "(a.json)" in same[0]


@pytest.fixture
def cli_with_report():
    """The CLI (``report`` is one of ``cli.COMMANDS``)."""
    return main


def test_older_schema_is_refused(tmp_path, capsys, cli_with_report):
    doc = _doc("char-mlm-50M.json")
    doc["schema_version"] = "0.3"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"schema_version 0\.3 is not supported"):
        load_runs([path])
    assert cli_with_report(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "schema_version 0.3" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.html").exists()


def test_cli_writes_report(tmp_path, capsys, cli_with_report, small_file):
    rc = cli_with_report(["report", str(small_file), "--out", str(tmp_path / "r"), "--title", "one model"])
    assert rc == 0
    assert (tmp_path / "r" / "report.html").read_text(encoding="utf-8").count("<title>one model</title>") == 1
    assert (tmp_path / "r" / "report.md").exists()
    assert "wrote" in capsys.readouterr().out


def test_markdown_renders_without_figures(runs):
    sections = build_sections(runs, {})
    md = render_markdown(runs, sections)
    assert "_No reliability bins in these files._" in md and "figures/" not in md


def _write_runs(tmp_path: Path, docs: dict[str, dict]) -> list:
    for name, doc in docs.items():
        (tmp_path / name).write_text(json.dumps(doc), encoding="utf-8")
    return load_runs([tmp_path / name for name in docs])


def _rare_entry(common_bits: float, rare_bits: float, common_n: int, rare_n: int, spread: float) -> dict:
    """A rare_species entry as RareSpecies.run writes it: nested common/rare, gap and ratio at the top."""
    from genobench_hf.metrics.transfer import rare_gap

    rng = np.random.default_rng(0)
    draws = {k: 2.0 - b + rng.normal(0, spread, 200) for k, b in (("c", common_bits), ("r", rare_bits))}
    gap = rare_gap(common_bits, rare_bits, common_draws=draws["c"], rare_draws=draws["r"])
    part = {"accuracy": 0.3, "gain_over_chance_bits": 0.0, "ece": 0.01}
    return {
        "common": part | {"n_scored": common_n, "bits_per_nt": common_bits},
        "rare": part | {"n_scored": rare_n, "bits_per_nt": rare_bits},
        "rare_genomes": ["Rare_x"],
        **gap,
        "gain_gap_bits": gap["gap"],
        "baselines": {"markov": rare_gap(1.95, 1.97)},
    }


def test_rare_species_table_shows_common_rare_gap_and_ratio(tmp_path):
    stable = _rare_entry(1.80, 1.90, 900, 300, 0.005)
    unstable = _rare_entry(1.99, 1.995, 900, 300, 0.02)  # gains near 0: the ratio is undefined often
    assert not stable["ratio_unstable"] and unstable["ratio_unstable"]
    docs = {}
    for name, entry in (("bpe-causal-7M.json", stable), ("char-mlm-50M.json", unstable)):
        doc = _doc(name)
        doc["results"]["rare_species"] = {"PRO": entry}
        docs[name] = doc
    table = task_table(_write_runs(tmp_path, docs), "rare_species")
    labels = [c.label for c in table.columns]
    first, second = table.rows
    cell = dict(zip(labels, first.cells, strict=True))
    assert cell["common bits/nt"].value == 1.80 and cell["rare bits/nt"].value == 1.90
    assert cell["common sites"].text == "900" and cell["rare sites"].text == "300"
    assert cell["gap common − rare (bits)"].value == pytest.approx(0.10)
    assert cell["gap common − rare (bits)"].ci and cell["ratio rare / common"].ci
    assert cell["Markov gap (bits)"].value == pytest.approx(0.02)
    assert "unstable" not in cell["ratio rare / common"].text
    ratio = dict(zip(labels, second.cells, strict=True))["ratio rare / common"]
    assert ratio.text.endswith("(unstable)") and not ratio.best  # never ranked as best
    assert all(c.text != "–" for r in table.rows for c in r.cells)


def test_shown_bins_hide_small_bins_and_carry_an_interval():
    from genobench_hf.report.plotting import MIN_BIN_SITES, bin_ticks, shown_bins

    bins = [
        {"lower": 0.0, "upper": 0.2, "n": 2, "accuracy": 0.0},
        {"lower": 0.2, "upper": 0.4, "n": MIN_BIN_SITES - 1, "accuracy": 0.0},
        {"lower": 0.4, "upper": 0.6, "n": 400, "accuracy": 0.40},
        {"lower": 0.6, "upper": 1.0, "n": 0, "accuracy": None},
    ]
    (a, _, _), (b, _, _), (acc, lo, hi), (d, _, _) = shown_bins(bins)
    assert np.isnan([a, b, d]).all()
    assert acc == 0.40 and 0.35 < lo < 0.40 < hi < 0.45  # Wilson, n = 400: about +-0.048
    other = [dict(b, n=b["n"] + 1) for b in bins]
    assert bin_ticks([bins])[0] == "0–0.2\nn=2" and bin_ticks([bins, other])[2] == "0.4–0.6\nn=400–401"


def test_gc_and_conservation_figures_state_n_and_minimum(tmp_path):
    from genobench_hf.report.figures import accuracy_by_gc, conservation
    from genobench_hf.report.plotting import MIN_BIN_SITES

    doc = _doc("char-mlm-50M.json")
    gc = doc["results"]["imputation"]["PRO"]["accuracy_by_gc"]
    gc[0] |= {"n": 2, "accuracy": 0.0}
    doc["results"]["conservation"]["PRO"]["accuracy_by_conservation"][0] |= {"n": 3, "accuracy": 0.0}
    runs = _write_runs(tmp_path, {"a.json": doc})
    for fig in (accuracy_by_gc(runs), conservation(runs)):
        assert f"fewer than {MIN_BIN_SITES} sites" in fig.caption and "95 %" in fig.caption
        assert "n=" in fig.svg
    assert "n=2" in accuracy_by_gc(runs).svg and "n=3" in conservation(runs).svg


def test_efficiency_small_costs_and_equal_columns(tmp_path):
    docs = {}
    for name in ("bpe-causal-7M.json", "char-mlm-50M.json"):
        doc = _doc(name)
        eff = doc["results"]["efficiency"]["PRO"]
        eff["peak_memory_mb"] = 1234.0  # one process peak shared by every row: not a ranking
        eff["cost_per_million_nt"] = 0.50 / 3600 / (1e6 if name.startswith("bpe") else 2e6) * 1e6
        docs[name] = doc
    table = efficiency_table(_write_runs(tmp_path, docs))
    labels = [c.label for c in table.columns]
    memory, cost, speed = (labels.index(k) for k in ("peak memory (MB)", "USD per Mnt", "nt/s"))
    assert not any(r.cells[memory].best for r in table.rows)
    assert [r.cells[cost].text for r in table.rows] == ["0.000139", "0.0000694"]
    assert (
        sum(r.cells[cost].best for r in table.rows) == 1 and sum(r.cells[speed].best for r in table.rows) == 1
    )


def test_fmt_keeps_significant_figures_of_tiny_values():
    from genobench_hf.report.collect import fmt

    assert fmt(0.00001234) == "0.0000123" and fmt(0.0) == "0.000" and fmt(0.5) == "0.500"
