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

from genobench_hf.cli import COMMANDS


def median_seconds(argv: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
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
    every = "; ".join(f"import genobench_hf.commands.{module}" for module, _ in COMMANDS.values())
    bare = median_seconds([sys.executable, "-c", "pass"], args.repeat)
    help_s = median_seconds([sys.executable, "-m", "genobench_hf.cli", "--help"], args.repeat)
    eager = median_seconds([sys.executable, "-c", every], max(1, args.repeat // 3))
    print(f"python -c pass            {bare * 1000:8.0f} ms")
    print(f"genobench --help          {help_s * 1000:8.0f} ms")
    print(
        f"import every command      {eager * 1000:8.0f} ms  (what --help cost when the parser imported all)"
    )
    print(f"RATIO help_vs_bare_python {help_s / bare:.2f}")
    if args.compare_tree:
        env = dict(os.environ, PYTHONPATH=args.compare_tree)
        other = median_seconds([sys.executable, "-m", "genobench_hf.cli", "--help"], args.repeat, env)
        print(f"--help of {args.compare_tree}  {other * 1000:8.0f} ms")
        print(f"RATIO compare_tree_help_vs_this_help {other / help_s:.2f}")
    print(f"RATIO all_commands_vs_bare_python {eager / bare:.2f}")


if __name__ == "__main__":
    main()
