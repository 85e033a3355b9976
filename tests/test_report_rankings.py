"""Rank groups and paired intervals in the report and the README block, from per-site records.

The results are copies of a committed fixture with small per-site records written through the real
writers (SiteLog, SpanLog): a strong model, markov:auto, and a twin that scores exactly like markov:auto
(so the paired test cannot separate them), plus one results file from before records existed.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.errors import InputError
from genobench_hf.metrics.nucleotide import site_scores
from genobench_hf.metrics.span import span_matches
from genobench_hf.report import build_report, load_runs
from genobench_hf.report.rankings import annotate_leaderboard, paired_rankings, paired_table
from genobench_hf.report.readme_block import END, START, render_block, replace_block
from genobench_hf.report.tables import leaderboard
from genobench_hf.scoring.base import SiteScores
from genobench_hf.site_records import (
    SPAN_SUFFIX,
    SiteLog,
    SpanLog,
    read_records,
    rebase_records,
    records_path,
)
from genobench_hf.tasks.sampling import Window

FIXTURES = Path(__file__).parent / "fixtures" / "results"
ROOT = Path(__file__).resolve().parents[1]
N_SITES = 600
#: (dataset, genomes): PRO holds enough genomes for the cluster bootstrap, VIR does not
CELLS = (("PRO", 6), ("VIR", 2))
QUALITY = {"markov:auto": 0.26, "model/strong": 0.29, "model/twin": 0.26}


def _windows(dataset: str, n_genomes: int) -> list[Window]:
    rng = np.random.default_rng(len(dataset) * 7 + n_genomes)  # the data, never the model
    seqs = ["".join(rng.choice(list("ACGT"), 41)) for _ in range(N_SITES)]
    return [Window.make(f"{dataset}-g{i % n_genomes}", i, 100 * i, s, [20]) for i, s in enumerate(seqs)]


def _scores(model: str, windows: list[Window]) -> list[SiteScores]:
    noise = np.random.default_rng(5 if model == "model/strong" else 0)  # the twin draws what markov draws
    out = []
    for w in windows:
        p_true = float(np.clip(QUALITY[model] + noise.normal(0, 0.03), 0.05, 0.95))
        probs = np.full((1, 4), (1 - p_true) / 3)
        probs[0, w.targets[0]] = p_true
        out.append(SiteScores(probs, np.zeros(1), "fixture.path"))
    return out


def _results(folder: Path, model: str) -> Path:
    """A copy of the kmer6 fixture as ``model`` with site records (imputation on PRO and VIR) and span
    records (span_imputation on PRO), its imputation scores set to what the records hold."""
    doc = json.loads((FIXTURES / "kmer6-mlm-100M.json").read_text(encoding="utf-8"))
    doc["config"]["model"] = model
    path = folder / f"{model.replace('/', '-').replace(':', '-')}.json"
    sites, spans = SiteLog(), SpanLog()
    for dataset, n_genomes in CELLS:
        windows = _windows(dataset, n_genomes)
        scores = _scores(model, windows)
        sites.add("imputation", dataset, "test", windows, scores)
        probs = np.concatenate([s.probs for s in scores])
        bits = site_scores(probs, np.array([w.targets[0] for w in windows]))["bits"]
        doc["results"]["imputation"][dataset]["bits_per_nt"] = float(bits.mean())
    span_windows = _windows("PRO", 6)[:60]
    rng = np.random.default_rng(1 if model == "model/strong" else 2)
    keep = 0.6 if model == "model/strong" else 0.3
    pred = ["".join(c if rng.random() < keep else "A" for c in w.window) for w in span_windows]
    spans.add("span_imputation", "PRO", "test", "span30", [Window.make(w.genome_id, w.row, w.start, w.window,
              range(len(w.window))) for w in span_windows], pred, "iterative")  # fmt: skip
    n, hits = span_matches(pred, [w.window for w in span_windows])
    doc["results"]["span_imputation"]["PRO"]["identity"] = float(hits.sum() / n.sum())
    doc["site_records"] = sites.write(records_path(path))
    doc["span_records"] = spans.write(records_path(path, SPAN_SUFFIX))
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ranked") / "results"
    out.mkdir()
    for model in QUALITY:
        _results(out, model)
    shutil.copyfile(FIXTURES / "char-mlm-50M.json", out / "old-char.json")  # written before records existed
    return out


@pytest.fixture(scope="module")
def ranked(folder: Path) -> tuple[list, object]:
    runs = load_runs(sorted(folder.glob("*.json")))
    return runs, paired_rankings(runs, n_bootstrap=300)


def _column(table, task: str, dataset: str) -> dict[str, object]:
    j = [(c.group, c.label) for c in table.columns].index((task, dataset))
    return {r.label: r.cells[j] for r in table.rows if r.kind == "model"}


def test_leaderboard_marks_come_from_the_paired_test(ranked: tuple) -> None:
    runs, rankings = ranked
    board = leaderboard(runs)
    annotate_leaderboard(board, rankings)
    for dataset, _ in CELLS:
        col = _column(board, "imputation", dataset)
        assert col["model/strong"].text.endswith("[1]") and col["model/strong"].best
        assert col["markov:auto"].text.endswith("[2]") and col["model/twin"].text.endswith("[2]")
        assert not col["markov:auto"].best and not col["model/twin"].best
        # the old file has the lowest marginal bits here, but no records: no mark, and it says so
        old = col["fixture/char-mlm-50M"]
        assert old.value < col["model/strong"].value and not old.best and old.text.endswith("[–]")
    assert any("fixture/char-mlm-50M on imputation/PRO, VIR: not ranked" in n for n in board.notes)
    span = _column(board, "span_imputation", "PRO")
    assert span["model/strong"].text.endswith("[1]") and span["model/strong"].best
    # a column without records (next_nucleotide here) has no highlight at all and a note naming why
    assert not any(c.best for c in _column(board, "next_nucleotide", "PRO").values())
    assert any(n.startswith("[–] no rank groups on next_nucleotide/") for n in board.notes)


def test_paired_table_shows_intervals_n_and_which_interval(ranked: tuple) -> None:
    runs, rankings = ranked
    table = paired_table(runs, rankings, "imputation")
    rows = {(r.lead[0], r.label): r for r in table.rows}
    pro, vir = rows["PRO", "model/strong"], rows["VIR", "model/strong"]
    assert pro.lead[1:] == [f"{N_SITES:,} sites", "6", "by genome"] and vir.lead[3] == "over sites"
    delta = pro.cells[2]
    assert delta.text.endswith("*") and delta.value < 0 and " to " in delta.ci
    lo, hi = (float(x) for x in delta.ci.split(" to "))
    assert lo <= delta.value <= hi < 0
    assert rows["PRO", "model/twin"].cells[2].text == "+0.000"  # identical to the reference: no mark
    assert rows["PRO", "markov:auto"].cells[2].text == "–"
    assert rows["PRO", "fixture/char-mlm-50M"].cells[0].text == "[–]"  # ran, left no records: unranked
    assert any(
        n.startswith("[–] imputation/PRO, VIR: fixture/char-mlm-50M not ranked: ") for n in table.notes
    )
    # datasets that ran but have no records are named with the reason
    assert any(n.startswith("[–] imputation/EUK, PRO_reads: no paired test: ") for n in table.notes)
    spans = paired_table(runs, rankings, "span_imputation")
    assert any(r.lead[1] == "60 spans" for r in spans.rows)


def test_report_without_records_says_so_and_marks_nothing(tmp_path: Path) -> None:
    files = build_report(sorted(FIXTURES.glob("*.json")), tmp_path)
    md = files.markdown.read_text(encoding="utf-8")
    assert "## Paired comparisons" in md and "No per-site records in these files" in md
    board = md.split("## Leaderboard")[1].split("## Paired comparisons")[0]
    rows = [line for line in board.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    assert rows and not any("**" in line for line in rows)  # no highlighted cell anywhere
    assert "these results carry no per-site records" in board


def test_report_renders_the_paired_section(folder: Path, tmp_path: Path) -> None:
    files = build_report(sorted(folder.glob("*.json")), tmp_path)
    html = files.html.read_text(encoding="utf-8")
    assert 'id="table-paired-imputation"' in html and 'id="table-paired-span_imputation"' in html
    md = files.markdown.read_text(encoding="utf-8")
    paired = md.split("## Paired comparisons")[1]
    assert "### imputation" in paired
    resolution = paired.split("### Resolution")[1].split("###")[0]  # n and half-widths, printed
    assert (
        "PRO imputation: model/strong − markov:auto" in resolution and f"n = {N_SITES:,} sites" in resolution
    )


def test_readme_block_from_a_results_folder(folder: Path, tmp_path: Path) -> None:
    block = render_block(folder.parent, n_bootstrap=300)
    assert block.startswith(START) and block.endswith(END)
    assert "`model/strong`" in block and "[1]<br>Δ -" in block and "<br>reference" in block
    assert f"*n* | {N_SITES:,} sites" in block and "by genome" in block
    assert "- PRO imputation: model/strong − markov:auto" in block and "by genome ±" in block
    assert "- PRO next_nucleotide: no paired comparison" in block
    assert "Paired vs unpaired:" in block and "× wider" in block
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nSTALE TEXT\n{END}\noutro\n", encoding="utf-8")
    script = ROOT / "datasets_scripts" / "readme_results.py"
    done = subprocess.run([sys.executable, str(script), str(folder.parent), "--readme", str(readme),
                           "--n-bootstrap", "300"], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = readme.read_text(encoding="utf-8")
    assert (
        text.startswith("intro\n" + START) and text.endswith(END + "\noutro\n") and "STALE TEXT" not in text
    )
    assert replace_block(text, block) == text  # the script wrote exactly the rendered block
    with pytest.raises(InputError, match="RESULTS:START"):
        replace_block("no markers", block)
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run([sys.executable, str(script), str(empty)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no results files" in bad.stderr and "Traceback" not in bad.stderr


def test_damaged_records_are_named_not_ranked(folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "results"
    shutil.copytree(folder, broken)
    path = records_path(broken / "model-strong.json")
    path.write_bytes(path.read_bytes()[:-50])
    runs = load_runs(sorted(broken.glob("*.json")))
    rankings = paired_rankings(runs, n_bootstrap=50)
    assert "checksum" in rankings.missing["model/strong"]
    assert {m["model"] for m in rankings.cells["imputation", "PRO"]["models"]} == {
        "markov:auto",
        "model/twin",
    }
    assert copy.deepcopy(rankings.cells)  # plain data, JSON-like


def test_rebased_records_follow_a_results_file_written_elsewhere(folder: Path, tmp_path: Path) -> None:
    """genobench run writes the merged per-architecture results one folder above the evaluation that
    scored them: the references must then point into parts/, or the report could not rank them."""
    parts = tmp_path / "results" / "parts"
    parts.mkdir(parents=True)
    for name in ("model-strong.json", "model-strong.sites.parquet", "model-strong.spans.parquet"):
        shutil.copyfile(folder / name, parts / name)
    doc = json.loads((parts / "model-strong.json").read_text(encoding="utf-8"))
    merged = tmp_path / "results" / "genobench-strong.json"
    moved = rebase_records(doc, parts / "model-strong.json", merged)
    assert moved["site_records"]["file"] == "parts/model-strong.sites.parquet"
    assert moved["span_records"]["file"] == "parts/model-strong.spans.parquet"
    assert doc["site_records"]["file"] == "model-strong.sites.parquet"  # the input is left alone
    assert read_records(merged, moved["site_records"]).num_rows == 2 * N_SITES
    with pytest.raises(InputError, match="missing"):
        read_records(merged, doc["site_records"])  # what happens without rebasing


def test_other_protocols_leave_only_that_task_unranked(folder: Path, tmp_path: Path) -> None:
    """A file scored with another window cannot be paired on the site tasks, but its spans still can."""
    moved = tmp_path / "results"
    shutil.copytree(folder, moved)
    path = moved / "model-strong.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["config"]["window"] = 128
    path.write_text(json.dumps(doc), encoding="utf-8")
    rankings = paired_rankings(load_runs(sorted(moved.glob("*.json"))), n_bootstrap=50)
    assert ("imputation", "PRO") not in rankings.cells and "window differs" in rankings.refused["imputation"]
    assert rankings.why_not("imputation", "PRO").startswith("not ranked: scored under different protocols")
    assert ("span_imputation", "PRO") in rankings.cells and "span_imputation" not in rankings.refused


def test_readme_architecture_and_neuron_tables_carry_the_results_figures() -> None:
    """The README block's architecture table reads each kingdom's cell and the transfer diagonal, and the
    neuron-importance table the curve's quarter point, from the results themselves."""
    from genobench_hf.report.collect import load_runs
    from genobench_hf.report.readme_block import architecture_table, neuron_importance_table

    path = Path(__file__).parent / "fixtures" / "results" / "char-mlm-50M.json"
    doc = json.loads(path.read_text())
    runs = load_runs([path])
    arch = architecture_table(runs)
    assert arch is not None
    row = next(line for line in arch.splitlines() if "char-mlm" in line).split(" | ")
    assert row[1].startswith(f"{doc['results']['imputation']['PRO']['bits_per_nt']:.3f}")
    assert row[7].startswith(f"{doc['results']['transfer']['PRO']['by_train']['PRO']['bits_per_nt']:.3f}")
    curve = doc["results"]["neuron_importance"]["PRO"]["curve"]
    quarter = min(curve[1:], key=lambda c: abs(c["fraction"] - 0.25))
    table = neuron_importance_table(runs)
    assert table is not None and f"{quarter['bits_per_nt'] - curve[0]['bits_per_nt']:+.3f}" in table
