"""Build the six genobench datasets (PRO, EUK, VIR and their _reads) as Hub dataset repos.

    python datasets_scripts/build_datasets.py --out datasets/                      # embedded corpus
    python datasets_scripts/build_datasets.py --out datasets/ --source corpus/ --taxonomy corpus/TAXONOMY.tsv
    python datasets_scripts/build_datasets.py --out datasets/ --manifest manifest.tsv

A thin wrapper over ``genobench_hf.data.build.build_all`` with exactly the options of
``genobench datasets build`` (shared through ``genobench_hf.commands.datasets.add_build_arguments``); it
prints the same summary. Errors in the input (a malformed genome file, a missing taxonomy row) are
printed with file and record and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from genobench_hf.commands.datasets import BUILD_HELP, add_build_arguments, print_summary, run_build
from genobench_hf.errors import GenobenchError
from genobench_hf.outputs import writes_output


def parser() -> argparse.ArgumentParser:
    """The argument parser (same flags as ``genobench datasets build``)."""
    p = argparse.ArgumentParser(
        prog="build_datasets.py",
        description=__doc__.split("\n\n")[0] + "\n\n" + BUILD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_build_arguments(p)
    return p


@writes_output("out")  # the --out checks and one-line write errors of the CLI
def _build(args: argparse.Namespace) -> None:
    print_summary(run_build(args))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        _build(args)
    except GenobenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
