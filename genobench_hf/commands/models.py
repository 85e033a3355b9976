"""``genobench models``: list the known published DNA language models (the registry)."""

from __future__ import annotations

import argparse
import json
from typing import Any

#: the columns that fit a terminal (--markdown and --json show everything)
TERMINAL_COLUMNS = ("name", "Hub id", "objective", "tokenizer", "params", "remote code", "trained on")


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "models",
        help="list the known published DNA language models",
        description=(
            "List the registry of published DNA language models: Hub id, objective, tokenizer, context, "
            "size, remote code, training kingdoms, license and scoring path. Any listed name works with "
            "`genobench evaluate --model NAME`."
        ),
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--markdown", action="store_true", help="print the README table (Markdown)")
    out.add_argument("--json", action="store_true", help="print every entry's full metadata as JSON")
    p.add_argument("--family", help="only models of this family (case-insensitive substring)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genobench_hf.errors import ConfigError
    from genobench_hf.registry import available_models, markdown_table
    from genobench_hf.registry.table import HEADERS, table_rows

    entries = list(available_models().values())
    if args.family:
        entries = [e for e in entries if args.family.lower() in e.family.lower()]
        if not entries:
            families = sorted({e.family for e in available_models().values()})
            raise ConfigError(f"no model family matches {args.family!r}; families: {', '.join(families)}")
    if args.markdown:
        print(markdown_table(entries))
        return 0
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    keep = [HEADERS.index(c) for c in TERMINAL_COLUMNS]
    table = Table(title="genobench models (registry; --json for every field)")
    for i in keep:
        table.add_column(HEADERS[i], overflow="fold")
    for row in table_rows(entries):
        table.add_row(*(row[i].strip("`") for i in keep))
    Console().print(table)
    return 0
