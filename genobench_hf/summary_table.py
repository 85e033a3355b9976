"""The short table ``genobench evaluate`` prints: one line per task and dataset, main score first."""

from __future__ import annotations

from typing import Any

from genobench_hf.outcomes import task_info

NOTE_WIDTH = 60


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1000 else f"{value:.3f}"
    return "-" if value is None else str(value)


def summary_rows(doc: dict[str, Any]) -> list[list[str]]:
    """[task, dataset, main score, value, Markov value, note] for every result entry."""
    rows = []
    for task, per_dataset in doc["results"].items():
        score = task_info(doc, task).main_score or "-"  # as the results record it (no task registry)
        for dataset, m in per_dataset.items():
            if "skipped" in m:
                note = f"skipped: {m['skipped']}"
                rows.append(
                    [
                        task,
                        dataset,
                        score,
                        "-",
                        "-",
                        note[: NOTE_WIDTH - 1] + ("…" if len(note) > NOTE_WIDTH else ""),
                    ]
                )
                continue
            markov = m.get("baselines", {}).get("markov", {})
            note = ",".join(m.get("scoring_path", [])) or m.get("decoder", "")
            if "by_train" in m:  # transfer: one cell per training kingdom
                note = "; ".join(
                    f"{train}: {_fmt(cell.get('bits_per_nt'))}" for train, cell in m["by_train"].items()
                )
            rows.append([task, dataset, score, _fmt(m.get(score)), _fmt(markov.get(score)), str(note)])
    return rows


def print_summary(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"genobench: {doc['config'].get('model')}")
    for col in ("task", "dataset", "main score", "model", "markov", "path / note"):
        table.add_column(col, overflow="fold" if col != "path / note" else "ellipsis")
    for row in summary_rows(doc):
        table.add_row(*row)
    Console(width=max(120, Console().width)).print(table)
