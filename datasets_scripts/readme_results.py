"""Regenerate the README's RESULTS block from a results folder (after ``genobench run --out genobench-out``).

    python datasets_scripts/readme_results.py genobench-out                      # print the block
    python datasets_scripts/readme_results.py genobench-out --readme README.md   # replace it in place

The block (between ``<!-- RESULTS:START -->`` and ``<!-- RESULTS:END -->``) holds the leaderboard with
rank groups and paired 95 % intervals against markov:auto, n and the interval used per cell, the paired
half-width of (best model - markov:auto) on PRO imputation and next_nucleotide, paired vs unpaired
interval widths, and the transfer and conservation tables; see ``genobench_hf.report.readme_block``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genobench_hf.errors import GenobenchError
from genobench_hf.outputs import atomic_write_text
from genobench_hf.report.readme_block import render_block, replace_block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "results", type=Path, help="a genobench run --out folder, or a folder of results JSON"
    )
    parser.add_argument(
        "--readme", type=Path, default=None, help="replace the block in this file instead of printing"
    )
    parser.add_argument("--n-bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    args = parser.parse_args(argv)
    try:
        block = render_block(args.results, n_bootstrap=args.n_bootstrap)
        if args.readme is None:
            print(block)
        else:
            atomic_write_text(args.readme, replace_block(args.readme.read_text(encoding="utf-8"), block))
            print(f"updated the RESULTS block of {args.readme}")
    except (GenobenchError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
