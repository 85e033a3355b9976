"""``python -m genobench_hf.cards [--check] [DEST]``: (re)write or check the example dataset card.

Builds the default PRO dataset from the embedded corpus (strain alignments come from the conservation
cache when present) and writes its README.md to DEST (default: cards/datasets/PRO/README.md of the
current directory, i.e. run it from the repository root). ``--check`` writes nothing and exits 1 if DEST
differs from a fresh rendering.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from genobench_hf.cards import EXAMPLE_NAME, EXAMPLE_PATH


def render_example_card(*, conservation_cache: Path | None = None) -> str:
    """The README.md of the default ``PRO`` build of the embedded corpus (conservation columns on)."""
    from genobench_hf.data.build import build_all

    with tempfile.TemporaryDirectory(prefix="genobench-card-") as tmp:
        build_all(Path(tmp), names=(EXAMPLE_NAME,), progress=False, conservation_cache=conservation_cache)
        return (Path(tmp) / EXAMPLE_NAME / "README.md").read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m genobench_hf.cards", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("dest", nargs="?", type=Path, default=EXAMPLE_PATH, help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when out of date")
    args = parser.parse_args(argv)
    text = render_example_card()
    current = args.dest.read_text(encoding="utf-8") if args.dest.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.dest} is out of date: run `python -m genobench_hf.cards`", file=sys.stderr)
            return 1
        print(f"{args.dest} is current")
        return 0
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    args.dest.write_text(text, encoding="utf-8")
    print(f"wrote {args.dest}" + (" (unchanged)" if current == text else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
