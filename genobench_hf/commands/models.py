"""``genobench models``: list the known published DNA language models (the registry).

On a terminal the list is a table sized to the window; piped into ``grep`` or a file it is plain text, one
model per line with nothing wrapped or cut (``--format`` picks json, tsv or markdown explicitly).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: the columns of the terminal table and the plain listing (json, tsv and markdown show everything)
SHORT_COLUMNS = ("name", "family", "Hub id", "objective", "tokenizer", "params", "remote code", "trained on")
FORMATS = ("table", "plain", "json", "tsv", "markdown")


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
    out.add_argument(
        "--format",
        choices=FORMATS,
        help="table (default on a terminal), plain (default when piped: aligned columns, never wrapped), "
        "json (every field), tsv (every column, a header line), markdown (the README table)",
    )
    out.add_argument(
        "--markdown", dest="format", action="store_const", const="markdown", help="same as --format markdown"
    )
    out.add_argument(
        "--json", dest="format", action="store_const", const="json", help="same as --format json"
    )
    p.add_argument("--family", help="only models of this family (case-insensitive substring)")
    p.set_defaults(func=run)


def _cells(rows: list[list[str]], columns: list[int]) -> list[list[str]]:
    return [[row[i].strip("`") for i in columns] for row in rows]


def plain_text(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart, no line wrapped or cut."""
    widths = [max(len(c) for c in col) for col in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [headers, *rows]
    ]
    return "\n".join(lines)


def tsv_text(headers: list[str], rows: list[list[str]]) -> str:
    """Tab-separated, header first; tabs or newlines inside a cell become spaces."""
    return "\n".join("\t".join(" ".join(c.split()) for c in line) for line in [headers, *rows])


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
    fmt = args.format or ("table" if sys.stdout.isatty() else "plain")
    rows = table_rows(entries)
    short = [HEADERS.index(c) for c in SHORT_COLUMNS]
    if fmt == "markdown":
        print(markdown_table(entries))
    elif fmt == "json":
        print(json.dumps([e.to_dict() for e in entries], indent=2))
    elif fmt == "tsv":
        print(tsv_text(HEADERS, _cells(rows, list(range(len(HEADERS))))))
    elif fmt == "plain":
        print(plain_text(list(SHORT_COLUMNS), _cells(rows, short)))
    else:
        _print_table(_cells(rows, short))
    return 0


def _print_table(rows: list[list[str]]) -> None:
    """A rich table when it fits the terminal without breaking a cell, else the plain listing."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    plain = plain_text(list(SHORT_COLUMNS), rows)
    if max(map(len, plain.splitlines())) + 3 * len(SHORT_COLUMNS) + 1 > console.width:
        print(plain)
        return
    table = Table(title="genobench models (registry; --format json for every field)")
    for name in SHORT_COLUMNS:
        table.add_column(name, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table)
