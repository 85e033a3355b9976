"""Rank groups and paired intervals for the report, from the per-site records the results reference.

Why here and not in the leaderboard's cells: a marginal interval per model says how precisely that model
was measured, not whether it beats another; two overlapping marginal intervals often hide a clear paired
difference (every model is scored on the same sites, so the sites' own difficulty cancels). So every mark
of "better" in the report comes from :mod:`genobench_hf.compare` (the paired bootstrap, by genome where a
split holds >= 5 genomes), never from comparing marginal intervals; the statistics live there only. A cell
whose results carry no records (older files, tasks that write none) says so and gets no mark.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from genobench_hf.compare import compare_cells, difference_text, interval_text, record_cells
from genobench_hf.errors import ConfigError, InputError
from genobench_hf.report.collect import Run, datasets_of, fmt, is_skipped, score_tasks
from genobench_hf.report.tables import Cell, Column, Row, Table

HEADLINE = (("imputation", "PRO"), ("next_nucleotide", "PRO"))
DIGITS = {"bits_per_nt": 3, "identity": 4, "aa_recovery": 1}  # aa_recovery is in percent
NO_RECORDS = "no per-site records of this task and dataset in these results"


@dataclass
class Rankings:
    """Paired comparisons of the report's runs, per (task, dataset) cell (see the module docstring)."""

    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # run label -> why it has no usable records
    refused: dict[str, str] = field(default_factory=dict)  # task -> why it is not compared (protocols differ)
    has_records: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # cell -> labels with records

    def why_not(self, task: str, dataset: str) -> str:
        """Why a cell has no paired comparison (shown in its place)."""
        if task.split(".")[0] in self.refused:
            return self.refused[task.split(".")[0]]
        holders = self.has_records.get((task, dataset), [])
        if len(holders) == 1:
            return f"only {holders[0]} has per-site records here"
        if not self.has_records:
            return "these results carry no per-site records (written before they existed; rerun to rank them)"
        without = f" (no per-site records at all in: {', '.join(self.missing)})" if self.missing else ""
        return NO_RECORDS + without

    def model(self, task: str, dataset: str, label: str) -> dict[str, Any] | None:
        cell = self.cells.get((task, dataset))
        return next((m for m in cell["models"] if m["model"] == label), None) if cell else None


def paired_rankings(runs: Sequence[Run], *, n_bootstrap: int = 1000, seed: int = 0) -> Rankings:
    """Compare, cell by cell, every run whose records hold that cell (a run without records is named)."""
    from genobench_hf.protocol import differences, held_tasks, protocol_of

    out = Rankings()
    usable: list[tuple[Run, dict[Any, Any]]] = []
    for run in runs:
        try:
            usable.append((run, record_cells(run.path, run.doc)))
        except (ConfigError, InputError) as exc:
            out.missing[run.label] = str(exc)
    for run, cells in usable:
        for key in cells:
            out.has_records.setdefault(key, []).append(run.label)
    held = {run.label: held_tasks(run.doc) for run, _ in usable}
    for task in sorted({t.split(".")[0] for t, _ in out.has_records}):  # a task's protocol, among its files
        lines = differences([(r.path.name, protocol_of(r.doc), {task: held[r.label][task]})
                             for r, _ in usable if task in held[r.label]])  # fmt: skip
        if lines:
            out.refused[task] = "not ranked: scored under different protocols (" + "; ".join(lines) + ")"
    for key, labels in sorted(out.has_records.items()):
        if len(labels) < 2 or key[0].split(".")[0] in out.refused:
            continue
        tables = [{key: cells[key]} for run, cells in usable if run.label in labels]
        result = compare_cells(tables, labels, n_bootstrap=n_bootstrap, seed=seed)
        for cell in result["cells"]:
            out.cells[cell["task"], cell["dataset"]] = cell
    return out


def _groups(cell: dict[str, Any]) -> int:
    return len({m["rank"] for m in cell["models"]})


def annotate_leaderboard(table: Table, rankings: Rankings) -> None:
    """Rank group ``[r]`` after every ranked value; the highlight marks rank group 1 only, and only where
    the paired test separates at least two groups (never the smallest marginal value); unranked columns
    lose their highlight and are named in a note with the reason."""
    unranked: dict[tuple[str, str], list[str]] = {}
    unranked_models: dict[tuple[str, str, str], list[str]] = {}
    for j, col in enumerate(table.columns):
        cell = rankings.cells.get((col.group, col.label))
        for row in table.rows:
            if row.kind != "model" or row.skipped is not None or row.cells[j].value is None:
                continue
            c = row.cells[j]
            m = rankings.model(col.group, col.label, row.label)
            c.best = bool(m and m["rank"] == 1 and _groups(cell or {"models": []}) > 1)
            c.text += f" [{m['rank']}]" if m is not None else " [–]"
            if m is None and cell is not None:
                why = rankings.missing.get(row.label, "no per-site records for this cell")
                unranked_models.setdefault((row.label, col.group, why), []).append(col.label)
        if cell is None:
            unranked.setdefault((col.group, rankings.why_not(col.group, col.label)), []).append(col.label)
    for (label, task, why), datasets in unranked_models.items():
        table.notes.append(f"[–] {label} on {task}/{', '.join(datasets)}: not ranked ({why}).")
    for (task, why), datasets in unranked.items():
        table.notes.append(f"[–] no rank groups on {task}/{', '.join(datasets)}: {why}.")


def _diff_cell(d: dict[str, Any] | None, digits: int) -> Cell:
    """A paired difference with its shown interval; ``*`` where that interval excludes 0."""
    if d is None:
        return Cell("–")
    return Cell(difference_text(d, digits, mark=True), d["difference"], interval_text(d, digits))


def interval_label(cell: dict[str, Any]) -> str:
    return "by genome" if cell["interval"].startswith("cluster") else f"over {cell['unit']}"


def paired_table(runs: Sequence[Run], rankings: Rankings, task: str) -> Table | None:
    """One task's paired comparisons: per dataset and model the rank group, the score on the common items,
    the paired difference to the reference (markov:auto) and to the best model with 95% intervals, and n;
    datasets and models without a comparison are named in a note with the reason. None when no dataset of
    the task has one."""
    datasets = datasets_of(runs, task.split(".")[0])
    if not any((task, d) in rankings.cells for d in datasets):
        return None
    columns = [
        Column("rank", "", None, "rank group from the paired test (not separable: shared rank)"),
        Column("score", "", None, "bits/nt, identity or % aa recovery, on the common items"),
        Column("Δ vs reference", "", None, "paired difference to markov:auto (else the first file), 95% CI"),
        Column("Δ vs best", "", None, "paired difference to the best model, 95% CI"),
        Column("unpaired ±", "", None, "half-width of two marginal intervals side by side, for contrast"),
    ]
    rows: list[Row] = []
    notes: dict[str, list[str]] = {}  # why not -> datasets or "label on dataset"
    for dataset in datasets:
        cell = rankings.cells.get((task, dataset))
        if cell is None:
            notes.setdefault(f"no paired test: {rankings.why_not(task, dataset)}", []).append(dataset)
            continue
        lead = [dataset, f"{cell['n']:,} {cell['unit']}", str(cell["n_genomes"]), interval_label(cell)]
        digits = DIGITS.get(cell["score"], 3)
        block = []
        for m in sorted(cell["models"], key=lambda m: m["rank"]):
            cells = [Cell(str(m["rank"]), m["rank"]), Cell(fmt(m["score"], digits), m["score"]),
                     _diff_cell(m["vs_reference"], digits), _diff_cell(m["vs_best"], digits),
                     Cell(fmt(m["unpaired_halfwidth_vs_reference"], digits), m["unpaired_halfwidth_vs_reference"])]  # fmt: skip
            block.append(Row(m["model"], cells, lead=lead))
        for run in runs:  # ran here, but left no records: shown unranked, the reason in a note
            entry = (run.results.get(task.split(".")[0]) or {}).get(dataset)
            if run.label in rankings.missing and isinstance(entry, dict) and not is_skipped(entry):
                block.append(Row(run.label, [Cell("[–]")] + [Cell("–") for _ in columns[1:]], lead=lead))
                notes.setdefault(f"{run.label} not ranked: {rankings.missing[run.label]}", []).append(dataset)
        block[0].group_start = True
        rows += block
    table = Table(f"paired-{task.replace('.', '-')}", columns, rows, ["dataset", "n", "genomes", "interval"])
    reference = next((c["reference"] for (t, _), c in rankings.cells.items() if t == task), "markov:auto")
    table.notes.append(f"Reference: {reference}. * the paired 95% interval excludes 0 (the one shown: by genome "
                       "where a split holds at least 5 genomes, else over the items, conditional on these genomes).")  # fmt: skip
    table.notes += [f"[–] {task}/{', '.join(where)}: {why}." for why, where in notes.items()]
    return table


def paired_tasks(runs: Sequence[Run], rankings: Rankings) -> list[str]:
    """The leaderboard's tasks, each followed by its other compared parts (span_imputation.genes,
    gene_completion.dataset_genes)."""
    out = []
    for task in score_tasks(runs):
        out += [task, *sorted({t for t, _ in rankings.cells if t.startswith(f"{task}.")})]
    return out


def headline_half_widths(ranked: Rankings) -> list[str]:
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


def widths_line(ranked: Rankings) -> str:
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
