"""The short table ``genobench evaluate`` prints: one line per task and dataset."""

from __future__ import annotations

from typing import Any


def summary_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for task, per_dataset in doc["results"].items():
        for dataset, m in per_dataset.items():
            if "skipped" in m:
                rows.append([task, dataset, "-", "-", "-", "-", f"skipped: {m['skipped']}"])
                continue
            markov = m.get("baselines", {}).get("markov", {})
            rows.append(
                [
                    task,
                    dataset,
                    str(m.get("n_scored", "-")),
                    f"{m['accuracy']:.3f}" if "accuracy" in m else "-",
                    f"{m['bits_per_nt']:.3f}" if "bits_per_nt" in m else "-",
                    f"{markov['bits_per_nt']:.3f}" if "bits_per_nt" in markov else "-",
                    ",".join(m.get("scoring_path", [])),
                ]
            )
    return rows


def print_summary(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"genobench: {doc['config'].get('model')}")
    for col in ("task", "dataset", "sites", "accuracy", "bits/nt", "markov bits/nt", "path / note"):
        table.add_column(col)
    for row in summary_rows(doc):
        table.add_row(*row)
    Console().print(table)
