"""Tables of the report as plain data (cells keep value, text, interval and source), shared by HTML and
Markdown so the two can never show different numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from genobench_hf.report.collect import (
    Run,
    ci_of,
    datasets_of,
    entries,
    fmt,
    fmt_sig,
    is_skipped,
    main_score,
    number,
    score_tasks,
)

SCORE_LABELS = {
    "bits_per_nt": "bits/nt",
    "accuracy": "accuracy",
    "identity": "identity",
    "gain_gap_bits": "gain gap (bits)",
    "nucleotides_per_second": "nt/s",
}


@dataclass
class Cell:
    text: str
    value: float | None = None
    ci: str | None = None  # "lo–hi" of the bootstrap interval
    source: str = ""
    best: bool = False
    ranked: bool = True  # False: shown but never highlighted as best (e.g. an unstable ratio)


@dataclass
class Column:
    label: str
    group: str = ""
    higher_is_better: bool | None = None  # None: not ranked, no highlight
    tip: str = ""
    unit: str = ""  # the score's name, e.g. "bits/nt"


@dataclass
class Row:
    label: str
    cells: list[Cell]
    kind: str = "model"  # "model" | "baseline"
    href: str = ""
    skipped: str | None = None  # a row that is only "skipped: reason"
    group_start: bool = False  # first row of a dataset block (drawn with a rule above)
    lead: list[str] = field(default_factory=list)  # extra text columns before the cells (e.g. dataset)


@dataclass
class Table:
    id: str
    columns: list[Column]
    rows: list[Row]
    lead_labels: list[str] = field(default_factory=list)
    row_label: str = "model"
    notes: list[str] = field(default_factory=list)

    @property
    def grouped(self) -> bool:
        return any(c.group for c in self.columns)

    def groups(self) -> list[tuple[str, int]]:
        """(group label, span) runs of consecutive columns, for a two-level header."""
        out: list[tuple[str, int]] = []
        for c in self.columns:
            if out and out[-1][0] == c.group:
                out[-1] = (c.group, out[-1][1] + 1)
            else:
                out.append((c.group, 1))
        return out


def value_cell(
    entry: dict[str, Any], key: str, source: str, digits: int = 3, significant: int | None = None
) -> Cell:
    """A number with its bootstrap interval: ``entry["ci"][key]`` or, for summaries, ``entry[key + "_ci"]``;
    ``significant`` switches to that many significant figures (small costs)."""
    v = number(entry.get(key))
    ci = ci_of(entry, key)
    pair = entry.get(f"{key}_ci")
    if ci is None and isinstance(pair, list | tuple) and len(pair) == 2 and None not in map(number, pair):
        ci = (float(pair[0]), float(pair[1]))

    def text(x: float | None) -> str:
        return fmt_sig(x, significant) if significant else fmt(x, digits)

    return Cell(text(v), v, f"{text(ci[0])}–{text(ci[1])}" if ci else None, source)


def ratio_cell(entry: dict[str, Any], key: str, source: str) -> Cell:
    """A ratio with its interval, marked "(unstable)" and kept out of the ranking where ``ratio_unstable``
    (undefined in many resamples or too wide to read: read the gap instead)."""
    cell = value_cell(entry, key, source)
    if entry.get(f"{key}_unstable"):
        cell.text += " (unstable)"
        cell.ranked = False
    return cell


def mark_best(table: Table) -> None:
    """Highlight the best model value of every ranked column (ties at the top all count); a column whose
    values are all equal ranks nothing and gets no highlight."""
    for j, col in enumerate(table.columns):
        if col.higher_is_better is None:
            continue
        cells = [r.cells[j] for r in table.rows if r.kind == "model" and not r.skipped and r.cells[j].ranked]
        values = [c.value for c in cells if c.value is not None]
        if len(values) < 2 or max(values) - min(values) < 1e-12:
            continue
        best = max(values) if col.higher_is_better else min(values)
        for c in cells:
            c.best = c.value is not None and abs(c.value - best) < 1e-12


def leaderboard(runs: Sequence[Run]) -> Table | None:
    """One row per model, one column per (task, dataset) main score, baselines pinned below."""
    columns: list[Column] = []
    keys: list[tuple[str, str, str]] = []
    for task in score_tasks(runs):
        score = main_score(task, runs)
        if score is None:
            continue
        key, higher = score
        for dataset in datasets_of(runs, task):
            arrow = "↑" if higher else "↓"
            unit = SCORE_LABELS.get(key, key)
            columns.append(Column(dataset, task, higher, f"{task} on {dataset}: {unit} {arrow}", unit))
            keys.append((task, dataset, key))
    if not columns:
        return None
    rows = []
    for run in runs:
        cells = []
        for task, dataset, key in keys:
            entry = (run.results.get(task) or {}).get(dataset)
            if is_skipped(entry):
                cells.append(Cell("skipped", None, None, f"{run.path.name}: skipped: {entry['skipped']}"))
            elif isinstance(entry, dict):
                cells.append(value_cell(entry, key, run.source("results", task, dataset, key)))
            else:
                cells.append(Cell("–", None, None, "not run"))
        rows.append(Row(run.label, cells, href=f"#{run.anchor}"))
    table = Table("leaderboard", columns, rows)
    rows += baseline_rows(runs, keys, table)
    mark_best(table)
    return table


def baseline_rows(runs: Sequence[Run], keys: list[tuple[str, str, str]], table: Table) -> list[Row]:
    """Baseline rows (Markov, chance...) from the first file that carries each value; disagreement noted."""
    names: list[str] = []
    for run in runs:
        for task, dataset, _ in keys:
            for name in ((run.results.get(task) or {}).get(dataset) or {}).get("baselines") or {}:
                if name not in names:
                    names.append(name)
    names.sort(key=lambda n: (n == "chance", n))
    rows = []
    for name in names:
        cells = []
        for task, dataset, key in keys:
            found = [
                (run, (run.results[task][dataset].get("baselines") or {}).get(name) or {})
                for run in runs
                if isinstance((run.results.get(task) or {}).get(dataset), dict)
            ]
            found = [(r, b) for r, b in found if number(b.get(key)) is not None]
            if not found:
                cells.append(Cell("–", None, None, "no such baseline"))
                continue
            run, base = found[0]
            values = {round(float(b[key]), 9) for _, b in found}
            cell = Cell(
                fmt(base[key]),
                float(base[key]),
                None,
                run.source("results", task, dataset, "baselines", name, key),
            )
            if len(values) > 1:
                cell.text += "*"
                table.notes.append(
                    f"* {name} on {task}/{dataset} differs between files (shown: {run.path.name}); "
                    "the files were probably scored on different sites."
                )
            cells.append(cell)
        label = str(found[0][1].get("model") or name) if name != "chance" and found else name
        rows.append(
            Row(f"{name} baseline" if label == name else f"{name} baseline ({label})", cells, "baseline")
        )
    return rows


NUCLEOTIDE_COLUMNS = [
    ("n_scored", "sites", None, 0),
    ("accuracy", "accuracy", True, 3),
    ("bits_per_nt", "bits/nt", False, 3),
    ("gain_over_chance_bits", "gain (bits)", True, 3),
    ("ece", "ECE", False, 3),
]
SPAN_COLUMNS = [
    ("n_spans", "spans", None, 0),
    ("identity", "identity", True, 3),
    ("macro_identity", "macro identity", True, 3),
]


#: rare_species: the common (test) and rare splits side by side, then the gap and ratio of their gains
RARE_COLUMNS: list[tuple[tuple[str, ...], str, bool | None, int]] = [
    (("common", "n_scored"), "common sites", None, 0),
    (("common", "bits_per_nt"), "common bits/nt", False, 3),
    (("common_gain",), "common gain (bits)", True, 3),
    (("rare", "n_scored"), "rare sites", None, 0),
    (("rare", "bits_per_nt"), "rare bits/nt", False, 3),
    (("rare_gain",), "rare gain (bits)", True, 3),
    (("gap",), "gap common − rare (bits)", False, 3),
    (("ratio",), "ratio rare / common", True, 3),
    (("baselines", "markov", "gap"), "Markov gap (bits)", None, 3),
]


def _entry_kind(entry: dict[str, Any]) -> str:
    """Which column set fits a task entry: rare-vs-common, gene, span or site."""
    if isinstance(entry.get("common"), dict) and isinstance(entry.get("rare"), dict):
        return "rare"
    if "aa_recovery" in entry:
        return "gene"
    return "span" if "by_length" in entry or "identity" in entry else "site"


def _nested(entry: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(entry, dict):
            return None
        entry = entry.get(k)
    return entry


def task_table(runs: Sequence[Run], task: str) -> Table:
    """Per-dataset, per-model details of one score task; skipped entries become 'skipped: reason' rows."""
    kinds = {_entry_kind(e) for _, _, e in entries(runs, task) if not is_skipped(e)}
    specs: list[tuple[tuple[str, ...], str, bool | None, int]]
    if kinds == {"rare"}:
        specs = RARE_COLUMNS
    elif kinds == {"gene"}:
        specs = [
            (("aa_recovery",), "% aa recovery", True, 1),
            (("evo2_panel", "mean"), "Evo 2 panel", True, 1),
            (("dataset_genes", "mean"), "test-split genes", True, 1),
            (("dataset_genes", "n_genes"), "genes", None, 0),
            (("baselines", "markov", "aa_recovery"), "Markov", None, 1),
            (("baselines", "chance", "aa_recovery"), "chance", None, 1),
        ]
    elif kinds == {"span"}:
        lengths = sorted({int(k) for _, _, e in entries(runs, task) for k in (e.get("by_length") or {})})
        specs = [((k,), label, hi, d) for k, label, hi, d in SPAN_COLUMNS]
        specs += [(("by_length", str(n), "identity"), f"identity {n} nt", True, 3) for n in lengths]
        specs += [
            (("genes", "identity"), "gene nt identity", True, 3),
            (("genes", "aa_recovery", "identity"), "gene aa identity", True, 3),
            (("baselines", "markov", "identity"), "Markov identity", None, 3),
        ]
    else:
        specs = [((k,), label, hi, d) for k, label, hi, d in NUCLEOTIDE_COLUMNS]
        specs += [
            (("macro", "accuracy"), "macro accuracy", True, 3),
            (("macro", "bits_per_nt"), "macro bits/nt", False, 3),
            (("baselines", "markov", "bits_per_nt"), "Markov bits/nt", None, 3),
        ]
    columns = [Column(label, "", hi) for _, label, hi, _ in specs]
    rows: list[Row] = []
    for dataset in datasets_of(runs, task):
        block: list[Row] = []
        for run in runs:
            entry = (run.results.get(task) or {}).get(dataset)
            if not isinstance(entry, dict):
                continue
            if is_skipped(entry):
                block.append(
                    Row(run.label, [], href=f"#{run.anchor}", skipped=str(entry["skipped"]), lead=[dataset])
                )
                continue
            cells = []
            for path, _, _, digits in specs:
                holder = _nested(entry, *path[:-1]) if len(path) > 1 else entry
                if isinstance(holder, dict) and not is_skipped(holder):
                    src = run.source("results", task, dataset, *path)
                    if path[-1] == "ratio":
                        cells.append(ratio_cell(holder, path[-1], src))
                    else:
                        cells.append(value_cell(holder, path[-1], src, digits))
                else:
                    cells.append(Cell("–"))
            block.append(Row(run.label, cells, href=f"#{run.anchor}", lead=[dataset]))
        if block:
            block[0].group_start = True
        sub = Table("", columns, block)
        mark_best(sub)  # best within a dataset, not across datasets
        rows += block
    return Table(f"task-{task}", columns, rows, lead_labels=["dataset"])
