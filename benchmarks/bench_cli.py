"""How long does `genobench --help` take? Against a bare interpreter start, measured in the same run.

``genobench --help`` imports only the CLI (commands are listed by name; a command's module, which may pull
in torch and transformers, is imported when that command runs). The baseline is ``python -c pass`` in the
same run; a third line times importing every command module, which is what building the parser cost before
(torch, transformers, datasets). Each is the median of --repeat fresh processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_seconds(argv: list[str], repeat: int, tree: str | None = None) -> float:
    """Median wall time of ``argv`` in fresh processes; ``tree``: import genobench_hf from that folder
    (``python -m`` puts the working directory first on sys.path, so it runs there)."""
    env = None if tree is None else dict(os.environ, PYTHONPATH=tree)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=tree)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes per measurement (default 7)")
    parser.add_argument(
        "--compare-tree",
        metavar="DIR",
        help="also time --help of another source tree (e.g. `git archive REV genobench_hf | tar -x -C DIR`)",
    )
    args = parser.parse_args()
    every = (
        "import importlib; from genobench_hf.cli import COMMANDS\n"
        "for module, _ in COMMANDS.values(): importlib.import_module(f'genobench_hf.commands.{module}')"
    )
    bare = median_seconds([sys.executable, "-c", "pass"], args.repeat)
    here = str(Path(__file__).resolve().parents[1])  # this checkout, wherever the script is started
    help_s = median_seconds([sys.executable, "-m", "genobench_hf.cli", "--help"], args.repeat, here)
    eager = median_seconds([sys.executable, "-c", every], max(1, args.repeat // 3), here)
    print(f"python -c pass            {bare * 1000:8.0f} ms")
    print(f"genobench --help          {help_s * 1000:8.0f} ms")
    print(
        f"import every command      {eager * 1000:8.0f} ms  (what --help cost when the parser imported all)"
    )
    print(f"RATIO help_vs_bare_python {help_s / bare:.2f}")
    if args.compare_tree:
        other = median_seconds(
            [sys.executable, "-m", "genobench_hf.cli", "--help"], args.repeat, args.compare_tree
        )
        print(f"--help of {args.compare_tree}  {other * 1000:8.0f} ms")
        print(f"RATIO compare_tree_help_vs_this_help {other / help_s:.2f}")
    print(f"RATIO all_commands_vs_bare_python {eager / bare:.2f}")


if __name__ == "__main__":
    main()
