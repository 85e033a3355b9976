"""``genobench report RESULTS... --out DIR``: HTML report, Markdown summary and figures from results files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from genobench_hf.outputs import writes_output


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="turn results files into an HTML report, a Markdown summary and figures",
        description=(
            "Read one or more results JSON files (one per model run) and write DIR/report.html "
            "(self-contained: open it offline), DIR/report.md (GitHub-renderable summary) and "
            "DIR/figures/*.svg. Files of another schema version are refused."
        ),
    )
    p.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json", help="results files to compare")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--title", default="genobench report", help="page title")
    p.set_defaults(func=run)


@writes_output("out")
def run(args: argparse.Namespace) -> int:
    from genobench_hf.report import build_report

    files = build_report(args.results, args.out, title=args.title)
    print(f"wrote {files.html}")
    print(f"wrote {files.markdown}")
    print(f"wrote {len(files.figures)} figures in {files.html.parent / 'figures'}")
    return 0
