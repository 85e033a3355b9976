"""``genobench tasks``: list the registered tasks with their metadata."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "tasks",
        help="list the benchmark tasks",
        description="List every registered task and what it measures.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from genobench_hf.tasks import available_tasks

    table = Table(title="genobench tasks")
    for col in ("task", "category", "protocol", "main score", "description"):
        table.add_column(col)
    for name, meta in available_tasks().items():
        arrow = "↑" if meta.higher_is_better else "↓"
        table.add_row(
            name, meta.category, meta.protocol or "-", f"{meta.main_score} {arrow}", meta.description
        )
    Console().print(table)
    return 0
