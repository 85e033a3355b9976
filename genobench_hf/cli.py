"""The ``genobench`` console script.

Each subcommand lives in ``genobench_hf/commands/<name>.py`` and exposes ``register(subparsers)``; this
module only assembles them and turns :class:`~genobench_hf.errors.GenobenchError` into a clear message
and exit status 2 (never a traceback for a user mistake).

Only the command being run is imported (its module may pull in torch and transformers, seconds of start-up);
the other commands are listed from :data:`COMMANDS`, so ``genobench --help`` starts in a fraction of a
second. Ctrl-C and SIGTERM end with a line saying how to resume, and exit 130 / 143 (128 + signal).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

from genobench_hf.errors import GenobenchError
from genobench_hf.version import __version__

#: command -> (module in genobench_hf.commands, the one-line help ``--help`` lists), in listing order.
#: tests/test_cli.py checks that each line equals the one its module registers.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "the default benchmark end to end: datasets, baselines, all tasks, report"),
    "datasets": ("datasets", "build, inspect and push the benchmark datasets"),
    "evaluate": ("evaluate", "score a DNA language model or Markov baseline on the benchmark tasks"),
    "compare": ("compare", "paired comparison of models scored on the same sites (intervals, rank groups)"),
    "train": ("train", "train a baseline DNA language model (lstm, cnn, transformer, ...) on a dataset"),
    "report": ("report", "turn results files into an HTML report, a Markdown summary and figures"),
    "tasks": ("tasks", "list the benchmark tasks"),
    "models": ("models", "list the known published DNA language models"),
    "export-model-index": (
        "export_model_index",
        "write a results file's scores into a model card's model-index",
    ),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` (atomic writes, displays) runs."""


def command_module(command: str) -> ModuleType:
    """The module that implements ``command`` (imported now, not before)."""
    return importlib.import_module(f"genobench_hf.commands.{COMMANDS[command][0]}")


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the top-level parser has no option taking a value)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with ``command`` (if given) registered by its module and the others as names only."""
    parser = argparse.ArgumentParser(
        prog="genobench",
        description=(
            "Benchmark DNA language models: build the PRO/EUK/VIR datasets, score any transformers "
            "masked or causal LM (or a Markov baseline) on nucleotide imputation, and report."
        ),
        epilog="`genobench COMMAND --help` describes a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"genobench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_line) in COMMANDS.items():
        if name == command:
            command_module(name).register(subparsers)
        else:
            subparsers.add_parser(name, help=help_line, add_help=False)
    return parser


def resume_hint(args: argparse.Namespace, argv: Sequence[str]) -> str:
    """What to type to carry on: the command's own ``resume_hint`` if it has one, else to rerun it."""
    again = shlex.join(["genobench", *argv])
    hint = getattr(command_module(args.command), "resume_hint", None) if args.command else None
    return hint(args, again) if hint is not None else f"nothing was kept; to start again run: {again}"


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def _raise(_signum: int, _frame: object) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        with _sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except GenobenchError as exc:
        print(f"genobench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `genobench models | head`: the reader left; no traceback, no flush error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(
            f"\ngenobench: interrupted ({'SIGTERM' if terminated else 'Ctrl-C'}); {resume_hint(args, argv)}",
            file=sys.stderr,
        )
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
