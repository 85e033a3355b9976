"""The README's RESULTS block, generated from a results folder so that it is never hand-copied.

``python datasets_scripts/readme_results.py genobench-out`` prints the block (``--readme README.md``
replaces it in place, between ``START`` and ``END``): the leaderboard with rank groups and each model's
paired 95 % interval against markov:auto, n and the interval used per cell, the paired half-width of
(best model - markov:auto) on PRO imputation and next_nucleotide, how much narrower paired intervals are
than two marginal ones, and the transfer and conservation tables. Every number comes from the results
files and their per-site records, through the report's own tables (:mod:`genobench_hf.report.rankings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genobench_hf.compare import diff_text
from genobench_hf.errors import InputError
from genobench_hf.report import detail_tables, rankings, tables
from genobench_hf.report.collect import Run, load_runs
from genobench_hf.report.markdown import split_groups, table_md
from genobench_hf.report.tables import Row, Table
from genobench_hf.task_config import KINGDOMS

START, END = "<!-- RESULTS:START -->", "<!-- RESULTS:END -->"


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


def _bits(entry: Any) -> str:
    if not isinstance(entry, dict) or "bits_per_nt" not in entry:
        return "skipped" if isinstance(entry, dict) and "skipped" in entry else "–"
    ci = (entry.get("ci") or {}).get("bits_per_nt")
    return f"{entry['bits_per_nt']:.3f}" + (f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else "")


def architecture_table(runs: Sequence[Run]) -> str | None:
    """Architecture x (task x PRO/EUK/VIR), the GenomeNet layout: bits/nt of the PRO-trained model on each
    kingdom's test genomes for imputation and next_nucleotide, and in-domain imputation of the model
    trained on that kingdom (the transfer matrix's diagonal); marginal 95 % intervals over sites."""
    header = ["model"] + [f"{t} {k}" for t in ("imputation", "next_nucleotide") for k in KINGDOMS]
    header += [f"in-domain {k}" for k in KINGDOMS]
    lines = []
    for run in runs:
        res = run.doc.get("results") or {}
        cells = [
            _bits((res.get(t) or {}).get(k)) for t in ("imputation", "next_nucleotide") for k in KINGDOMS
        ]
        transfer = res.get("transfer") or {}
        cells += [_bits(((transfer.get(k) or {}).get("by_train") or {}).get(k)) for k in KINGDOMS]
        if any(c not in ("–", "skipped") for c in cells):
            lines.append("| " + " | ".join([f"`{run.label}`", *cells]) + " |")
    if not lines:
        return None
    rule = "|:--|" + "--:|" * (len(header) - 1)
    return "\n".join(["| " + " | ".join(header) + " |", rule, *lines])


def neuron_importance_table(runs: Sequence[Run]) -> str | None:
    """Per model: bits lost on held-out sites when the top-ranked channels (the ranking made on other sites)
    or random subsets of the same size are ablated (the curve point nearest a quarter of the ranked channels); split-half reliability
    of the per-neuron effects; Gini and the half-effect count against the task's noise null."""
    lines = []
    for run in runs:
        for dataset, e in ((run.doc.get("results") or {}).get("neuron_importance") or {}).items():
            if not isinstance(e, dict) or "skipped" in e or not e.get("curve"):
                continue
            top = min(e["curve"][1:] or e["curve"], key=lambda c: abs(c["fraction"] - 0.25))  # a quarter
            rand = next((c for c in e.get("random_curve") or [] if c["fraction"] == top["fraction"]), {})
            ablated = (
                f"{top['n_ablated']} of {e.get('n_evaluated')}"
                if "n_ablated" in top
                else f"{top['fraction']:.0%}"
            )
            null = e.get("null") or {}
            top_delta = top["bits_per_nt"] - e["curve"][0]["bits_per_nt"]
            lines.append("| " + " | ".join([
                f"`{run.label}`", dataset, str(e.get("layer", "–")), ablated,
                f"{top_delta:+.3f}", _fmt(rand.get("delta_bits_mean"), "+.3f"),
                _fmt((e.get("split_half") or {}).get("r"), ".2f"),
                f"{_fmt(e.get('gini'), '.2f')} ({_fmt((null.get('gini') or {}).get('p95'), '.2f')})",
                f"{e.get('half_effect_neurons', '–')} ({_fmt((null.get('half_effect_neurons') or {}).get('p05'), '.0f')})",
            ]) + " |")  # fmt: skip
    if not lines:
        return None
    head = (
        "| model | dataset | layer | ablated (top / random) | top Δ bits, held-out sites | random Δ bits "
        "(mean of draws) | split-half r | Gini (noise null p95) | half-effect neurons (null p05) |"
    )
    return "\n".join([head, "|:--|:--|:--|--:|--:|--:|--:|--:|--:|", *lines])


def _fmt(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "–"


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
    out += ["#### Paired half-width of (best model − markov:auto)", "", *rankings.headline_half_widths(ranked), "",
            rankings.widths_line(ranked), ""]  # fmt: skip
    transfer = detail_tables.transfer_table(runs)
    if transfer is not None:
        out += ["#### Transfer (gain over chance, bits; in-domain = a kingdom's own datasets)", "",
                table_md(transfer), ""]  # fmt: skip
    conservation = detail_tables.conservation_table(runs)
    if conservation is not None:
        skipped = sorted({r.lead[0] for r in conservation.rows if r.skipped})
        conservation.rows = [r for r in conservation.rows if not r.skipped]  # the README keeps scored rows
        note = f"Not scored: {', '.join(skipped)} (the report says why for each)." if skipped else ""
        if conservation.rows:
            out += ["#### Conservation", "", table_md(conservation), "", note, ""]
    arch = architecture_table(runs)
    if arch is not None:
        out += ["#### Architectures (bits/nt on each kingdom's test genomes; marginal 95 % intervals)", "",
                "The GenomeNet layout: the PRO-trained model of each architecture on imputation and "
                "next_nucleotide, and the model trained on each kingdom on its own test genomes (in-domain "
                "imputation, the transfer matrix's diagonal).", "", arch, ""]  # fmt: skip
    probes = detail_tables.probe_table(runs)
    if probes is not None:
        out += ["#### Interpretability: linear probes (paired intervals against the controls)", "",
                table_md(probes), ""]  # fmt: skip
    importance = neuron_importance_table(runs)
    if importance is not None:
        out += ["#### Interpretability: neuron importance", "", importance, ""]
    out.append(END)
    return "\n".join(out)


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text between the markers (markers included) replaced by ``block``."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise InputError(f"the README has no {START} ... {END} block")
    return readme[:start] + block + readme[end + len(END) :]
