"""``genobench compare RESULTS...``: paired differences and rank groups on the sites all models share."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
        help="paired comparison of models scored on the same sites (intervals, rank groups)",
        description=(
            "Join the per-site records of two or more results files on their site keys and print, for "
            "every task x dataset, each model's bits/nt (span tasks: identity, paired over whole spans), its "
            "paired difference to markov:auto (or the first file) and to the best model with 95%% bootstrap "
            "intervals, and rank groups (models not "
            "separable from a group's leader share its rank). Files whose protocol or data differ are "
            "refused."
        ),
    )
    p.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json", help="results files (>= 2)")
    p.add_argument("--format", choices=("markdown", "json"), default="markdown", help="output format")
    p.add_argument("--n-bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--output", type=Path, default=None, metavar="FILE", help="also write the output here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genobench_hf.compare import compare, markdown

    result = compare(args.results, n_bootstrap=args.n_bootstrap, seed=args.seed)
    text = json.dumps(result, indent=2) if args.format == "json" else markdown(result)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0
