"""The gene-completion section: scored models, their reference rows (Markov, chance) and the published
Evo 2 figures side by side, per panel and per gene.

Every number comes from a results file: the models' from ``results.gene_completion``, the published Evo 2
rows from ``summaries.gene_completion.published`` (the shipped panel's published figures, copied into
each results file). Published rows are labelled as such and never highlighted as the best model.
The iterative-infill variant (masked LMs) gets its own tables without Evo 2 rows: another protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genobench_hf.report.collect import Run, fmt, is_skipped, number
from genobench_hf.report.tables import Cell, Column, Row, Table, mark_best
from genobench_hf.task_config import KINGDOMS

TASKS = ("gene_completion", "gene_completion_infill")
PANEL_COLUMNS = (("evo2_prokaryote", "prokaryote panel (4)"), ("evo2_eukaryote", "eukaryote panel (8)"))
DATA_COLUMNS = KINGDOMS
PUBLISHED_NOTE = (
    "Rows marked 'published' are the figures reported by Brixi et al. (Evo 2, Nature 2026) for their panel, "
    "shipped with genobench (genobench_hf/gene_completion/data); they were not measured by genobench."
)


def _panel_parts(run: Run, task: str, source: str) -> dict[str, tuple[dict[str, Any], tuple[str, ...]]]:
    """gene key -> (per-gene entry, JSON path) of a model (``source`` = "") or a baseline's rows."""
    out: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {}
    for dataset, entry in (run.results.get(task) or {}).items():
        if not isinstance(entry, dict) or is_skipped(entry):
            continue
        path: tuple[str, ...] = ("results", task, dataset)
        if source:
            entry, path = (entry.get("baselines") or {}).get(source) or {}, (*path, "baselines", source)
        for key, gene in ((entry.get("evo2_panel") or {}).get("per_gene") or {}).items():
            out[key] = (gene, (*path, "evo2_panel", "per_gene", key))
    return out


def _rows(runs: Sequence[Run], task: str) -> list[tuple[str, str, Run, str]]:
    """(label, kind, run, baseline name or "") for every model and the first file's baselines."""
    out: list[tuple[str, str, Run, str]] = []
    seen: set[str] = set()
    for run in runs:
        summary = run.summaries.get(task)
        if not isinstance(summary, dict) or not summary.get("datasets"):
            continue
        out.append((run.label, "model", run, ""))
        for name in summary.get("baselines") or {}:
            if name not in seen:
                seen.add(name)
                out.append((f"{name} baseline", "baseline", run, name))
    return sorted(out, key=lambda r: (r[1] != "model", r[3] == "chance"))


def _published(runs: Sequence[Run], task: str) -> tuple[dict[str, Any], Run | None]:
    for run in runs:
        pub = (run.summaries.get(task) or {}).get("published")
        if isinstance(pub, dict) and pub:
            return pub, run
    return {}, None


def panel_table(runs: Sequence[Run], task: str) -> Table | None:
    """Panel means, the 12-gene headline and the dataset-gene means; published Evo 2 rows below."""
    specs = [*PANEL_COLUMNS, ("overall", "12-gene mean")] + [(d, f"{d} test genes") for d in DATA_COLUMNS]
    columns = [Column(label, "", True, unit="% aa recovery") for _, label in specs]
    rows: list[Row] = []
    for label, kind, run, base in _rows(runs, task):
        summary = run.summaries[task]
        head = summary["evo2_panel"] if not base else (summary.get("baselines") or {}).get(base) or {}
        spath = ("summaries", task, "evo2_panel") if not base else ("summaries", task, "baselines", base)
        cells = [
            Cell(fmt(v, 1), number(v), None, run.source(*spath, "panels", p, "mean"))
            for p, _ in PANEL_COLUMNS
            for v in [((head.get("panels") or {}).get(p) or {}).get("mean")]
        ]
        cells.append(
            Cell(fmt(head.get("mean"), 1), number(head.get("mean")), None, run.source(*spath, "mean"))
        )
        for d in DATA_COLUMNS:
            entry = (run.results.get(task) or {}).get(d) or {}
            holder = entry if not base else (entry.get("baselines") or {}).get(base) or {}
            value = (holder.get("dataset_genes") or {}).get("mean") if isinstance(holder, dict) else None
            path = ("results", task, d, *(("baselines", base) if base else ()), "dataset_genes", "mean")
            cells.append(Cell(fmt(value, 1), number(value), None, run.source(*path)))
        rows.append(Row(label, cells, kind, href=f"#{run.anchor}"))
    if not rows:
        return None
    pub, prun = _published(runs, task) if task == "gene_completion" else ({}, None)
    for name, p in pub.items():
        src = prun.source("summaries", task, "published", name) if prun else ""
        cells = [
            Cell(fmt(p["panels"].get(k), 1), number(p["panels"].get(k)), None, src) for k, _ in PANEL_COLUMNS
        ]
        cells.append(
            Cell(f"{fmt(p['overall'], 1)} (paper {fmt(p['paper_reported'], 1)})", p["overall"], None, src)
        )
        cells += [Cell("–") for _ in DATA_COLUMNS]
        rows.append(Row(f"{p['display']} (published)", cells, "baseline"))
    table = Table(f"{task}-panels", columns, rows, notes=[PUBLISHED_NOTE] if pub else [])
    mark_best(table)
    return table


def gene_table(runs: Sequence[Run], task: str) -> Table | None:
    """Mean ± SEM per Evo 2 panel gene for every model, its baselines, and the published Evo 2 rows."""
    lines = _rows(runs, task)
    parts = {(r[2].index, r[3]): _panel_parts(r[2], task, r[3]) for r in lines}
    genes: dict[str, str] = {}
    for part in parts.values():
        for key, (gene, _) in part.items():
            genes.setdefault(key, str(gene.get("gene") or key))
    if not genes:
        return None
    order = sorted(genes, key=lambda k: (not _prokaryote(parts, k), list(genes).index(k)))
    columns = [Column(genes[k], "", True, unit="% aa recovery") for k in order]
    rows = []
    for label, kind, run, base in lines:
        part = parts[(run.index, base)]
        cells = [_mean_sem(part[k][0], run.source(*part[k][1])) if k in part else Cell("–") for k in order]
        rows.append(Row(label, cells, kind, href=f"#{run.anchor}"))
    pub, prun = _published(runs, task) if task == "gene_completion" else ({}, None)
    for name, p in pub.items():
        src = prun.source("summaries", task, "published", name, "per_gene") if prun else ""
        cells = [_mean_sem(p["per_gene"].get(genes[k]) or {}, src) for k in order]
        rows.append(Row(f"{p['display']} (published)", cells, "baseline"))
    table = Table(f"{task}-genes", columns, rows, notes=[PUBLISHED_NOTE] if pub else [])
    mark_best(table)
    return table


def _prokaryote(parts: dict[Any, dict[str, Any]], key: str) -> bool:
    return any(key in p and p[key][0].get("panel") == "evo2_prokaryote" for p in parts.values())


def _mean_sem(gene: dict[str, Any], source: str) -> Cell:
    mean, sem = number(gene.get("mean")), number(gene.get("sem"))
    if gene.get("skipped"):
        return Cell("skipped", None, None, f"{source}: {gene['skipped']}")
    text = "–" if mean is None else fmt(mean, 1) + (f" ± {fmt(sem, 1)}" if sem is not None else "")
    return Cell(text, mean, None, source)
