"""The ``genobench`` console script.

Each subcommand lives in ``genobench_hf/commands/<name>.py`` and exposes ``register(subparsers)``; this
module only assembles them and turns :class:`~genobench_hf.errors.GenobenchError` into a clear message
and exit status 2 (never a traceback for a user mistake).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from genobench_hf import __version__
from genobench_hf.errors import GenobenchError

#: command modules, in the order ``--help`` lists them
COMMAND_MODULES = (
    "run", "datasets", "evaluate", "compare", "train", "report", "tasks", "models", "export_model_index",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genobench",
        description=(
            "Benchmark DNA language models: build the PRO/EUK/VIR datasets, score any transformers "
            "masked or causal LM (or a Markov baseline) on nucleotide imputation, and report."
        ),
    )
    parser.add_argument("--version", action="version", version=f"genobench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"genobench_hf.commands.{name}")
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name == f"genobench_hf.commands.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except GenobenchError as exc:
        print(f"genobench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genobench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
