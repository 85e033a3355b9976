"""The README's RESULTS block, generated from a results folder so that it is never hand-copied.

``python datasets_scripts/readme_results.py genobench-out`` prints the block (``--readme README.md``
replaces it in place, between ``START`` and ``END``): the leaderboard with rank groups and each model's
paired 95 % interval against markov:auto, n and the interval used per cell, the paired half-width of
(best model - markov:auto) on PRO imputation and next_nucleotide, how much narrower paired intervals are
than two marginal ones, and the transfer and conservation tables. Every number comes from the results
files and their per-site records, through the report's own tables (:mod:`genobench_hf.report.rankings`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genobench_hf.compare import diff_text
from genobench_hf.errors import InputError
from genobench_hf.report import detail_tables, rankings, tables
from genobench_hf.report.collect import Run, load_runs
from genobench_hf.report.markdown import split_groups, table_md
from genobench_hf.report.tables import Row, Table

START, END = "<!-- RESULTS:START -->", "<!-- RESULTS:END -->"
HEADLINE = (("imputation", "PRO"), ("next_nucleotide", "PRO"))


def results_files(folder: str | Path) -> list[Path]:
    """The results of a ``genobench run --out FOLDER`` (``FOLDER/results/*.json``; its ``parts/`` are the
    per-kingdom transfer pieces, already merged) or a folder of results files."""
    base = Path(folder)
    if (base / "results").is_dir():
        base = base / "results"
    files = sorted(base.glob("*.json"))
    if not files:
        raise InputError(f"no results files (*.json) in {base}", path=base)
    return files


def _paired_leaderboard(runs: Sequence[Run], ranked: rankings.Rankings) -> Table | None:
    """The report's leaderboard with rank groups, each model's paired difference to the reference in
    place of its marginal interval, and rows giving n and the interval used per cell."""
    board = tables.leaderboard(runs)
    if board is None:
        return None
    rankings.annotate_leaderboard(board, ranked)
    n_row, how_row = [], []
    for j, col in enumerate(board.columns):
        cell = ranked.cells.get((col.group, col.label))
        n_row.append(tables.Cell(f"{cell['n']:,} {cell['unit']}" if cell else "–"))
        how_row.append(tables.Cell(rankings.interval_label(cell) if cell else "–"))
        for row in board.rows:
            m = ranked.model(col.group, col.label, row.label) if row.kind == "model" else None
            if m is not None:
                d = m["vs_reference"]
                row.cells[j].text += "<br>" + (
                    "reference" if d is None else "Δ " + diff_text(d, 3, mark=True)
                )
                row.cells[j].ci = None
    board.rows = [r for r in board.rows if r.kind == "model"]  # baselines: the markov:auto row is the anchor
    board.rows += [Row("n", n_row, "baseline"), Row("interval", how_row, "baseline")]
    return board


def _half_widths(ranked: rankings.Rankings) -> list[str]:
    """The paired 95 % half-width of (best model other than the reference - reference) on the headline cells."""
    lines = []
    for task, dataset in HEADLINE:
        cell = ranked.cells.get((task, dataset))
        if cell is None:
            lines.append(f"- {dataset} {task}: no paired comparison ({ranked.why_not(task, dataset)}).")
            continue
        others = [m for m in cell["models"] if m["vs_reference"] is not None]
        if not others:
            continue
        best = min(others, key=lambda m: m["score"])
        d = best["vs_reference"]
        parts = [f"over sites ±{(d['ci'][1] - d['ci'][0]) / 2:.4f}"]
        if d.get("cluster_ci"):
            parts.append(f"by genome ±{(d['cluster_ci'][1] - d['cluster_ci'][0]) / 2:.4f}")
        lines.append(
            f"- {dataset} {task}: {best['model']} − {cell['reference']} = {d['difference']:+.4f} bits, paired "
            f"95 % half-width {', '.join(parts)} (n = {cell['n']:,} sites, {cell['n_genomes']} genomes); two "
            f"marginal intervals side by side: ±{best['unpaired_halfwidth_vs_reference']:.4f}."
        )
    return lines


def _widths_line(ranked: rankings.Rankings) -> str:
    """Paired vs unpaired interval widths over every bits/nt comparison against the reference."""
    paired, unpaired = [], []
    for cell in ranked.cells.values():
        for m in cell["models"]:
            d = m["vs_reference"]
            if cell["score"] == "bits_per_nt" and d is not None and d["ci"][0] is not None:
                paired.append((d["ci"][1] - d["ci"][0]) / 2)
                unpaired.append(m["unpaired_halfwidth_vs_reference"])
    if not paired:
        return "No paired comparison of bits/nt in these results (no per-site records)."
    p, u = statistics.median(paired), statistics.median(unpaired)
    return (
        f"Paired vs unpaired: over {len(paired)} model-vs-reference comparisons of bits/nt, the median paired "
        f"95 % half-width (over sites) is ±{p:.4f} bits, against ±{u:.4f} for two marginal intervals side by "
        f"side ({u / p:.1f}× wider)." if p > 0 else f"Paired half-widths are 0 (identical models); unpaired ±{u:.4f}."
    )  # fmt: skip


def _protocol(runs: Sequence[Run]) -> str:
    cfg: dict[str, Any] = runs[0].config
    env = runs[0].doc.get("environment") or {}
    wall = sum(float((r.doc.get("timing") or {}).get("wall_seconds") or 0.0) for r in runs)
    return (
        f"{len(runs)} results files ({', '.join(f'`{r.label}`' for r in runs)}); protocol: "
        f"{cfg.get('n_sites', '?')} sites per dataset, {cfg.get('window', '?')}-nt windows, seed "
        f"{cfg.get('seed', '?')}; device {env.get('device', '?')}; evaluation wall time summed over the files "
        f"{wall / 60:.1f} min. Chance is 2 bits; transfer numbers are gains over chance."
    )


def render_block(folder: str | Path, *, n_bootstrap: int = 1000) -> str:
    """The whole block, markers included (see the module docstring)."""
    files = results_files(folder)
    runs = load_runs(files)
    ranked = rankings.paired_rankings(runs, n_bootstrap=n_bootstrap)
    out = [START, "## Results of the default run", "",
           f"Generated by `python datasets_scripts/readme_results.py {Path(folder).name}` from "
           + _protocol(runs), "",
           "Cells: the model's score on the dataset, its rank group `[r]` from the paired test (models not "
           "separable share a rank; **bold**: rank group 1 where the test separates groups), and its paired "
           "difference to markov:auto with the 95 % interval shown (by genome where a split holds at least 5 "
           "genomes, else over sites, conditional on these genomes; `*`: it excludes 0). Rows n and interval "
           "give the sites (spans) per cell and the interval used.", ""]  # fmt: skip
    board = _paired_leaderboard(runs, ranked)
    if board is not None:
        out += ["#### Leaderboard", ""]
        for heading, part in split_groups(board):
            out += [f"**{heading}**", "", table_md(part), ""]
    out += ["#### Paired half-width of (best model − markov:auto)", "", *_half_widths(ranked), "",
            _widths_line(ranked), ""]  # fmt: skip
    transfer = detail_tables.transfer_table(runs)
    if transfer is not None:
        out += ["#### Transfer (gain over chance, bits; in-domain = a kingdom's own datasets)", "",
                table_md(transfer), ""]  # fmt: skip
    conservation = detail_tables.conservation_table(runs)
    if conservation is not None:
        out += ["#### Conservation", "", table_md(conservation), ""]
    out.append(END)
    return "\n".join(out)


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text between the markers (markers included) replaced by ``block``."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise InputError(f"the README has no {START} ... {END} block")
    return readme[:start] + block + readme[end + len(END) :]
