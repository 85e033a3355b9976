"""Copy trained reference checkpoints into the package (``genobench_hf/baselines/<name>``), without their
resumable training state, and check the shipped set: every recipe entry present, finished with the
recipe's step budget and the validation-selected weights, within the size limit.

    genobench train --reference all --out runs/reference        # the recipe (genobench_hf/training/recipe.py)
    python datasets_scripts/ship_reference_models.py runs/reference

Only the model folder's own files travel (weights, config, tokenizer, remote code, card, training
metrics); ``checkpoints/`` (optimizer state, for --resume) stays behind.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from genobench_hf.training.recipe import BASELINES_DIR, SHIPPED_MODELS

MAX_TOTAL_BYTES = 25 * 1024 * 1024  # the limit for all shipped weights together


def check(folder: Path, steps: int) -> str | None:
    """Why ``folder`` is not a finished run of the recipe, or None."""
    metrics_file = folder / "training_metrics.json"
    if not (folder / "model.safetensors").exists() or not metrics_file.exists():
        return "no model.safetensors / training_metrics.json (not finished)"
    metrics = json.loads(metrics_file.read_text())
    if metrics.get("steps") != steps or metrics.get("selection") != "best":
        return f"trained {metrics.get('steps')} steps ({metrics.get('selection')}), the recipe says {steps} (best)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the --out folder of `genobench train --reference`")
    parser.add_argument("--dest", type=Path, default=BASELINES_DIR)
    parser.add_argument("--partial", action="store_true", help="ship the finished ones, skip the rest")
    args = parser.parse_args(argv)
    problems, ready = [], []
    for ref in SHIPPED_MODELS:
        why = check(args.runs / ref.name, ref.steps)
        (problems.append(f"{ref.name}: {why}") if why else ready.append(ref))
    if problems and not args.partial:
        print("not shipped:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    total = sum((args.runs / r.name / "model.safetensors").stat().st_size for r in ready)
    if total > MAX_TOTAL_BYTES:
        print(f"weights total {total / 2**20:.1f} MiB > {MAX_TOTAL_BYTES / 2**20:.0f} MiB", file=sys.stderr)
        return 1
    for ref in ready:
        src, dst = args.runs / ref.name, args.dest / ref.name
        shutil.rmtree(dst, ignore_errors=True)
        dst.mkdir(parents=True)
        for f in sorted(src.iterdir()):
            if f.is_file():
                shutil.copy2(f, dst / f.name)
        print(f"shipped {ref.name} ({(dst / 'model.safetensors').stat().st_size / 1024:.0f} KiB)")
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    print(f"{len(ready)} reference models, weights {total / 2**20:.2f} MiB in all, in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
