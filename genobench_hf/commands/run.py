"""``genobench run``: the whole default benchmark on the embedded corpus, into one folder.

datasets (built once) -> every model in ``--models`` on every task -> one results JSON per model -> tables.
This is the README's main command; it runs offline on a fresh machine.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

DEFAULT_TASKS = "imputation,next_nucleotide,imputation_dense"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="build the datasets and run the default benchmark end to end",
        description=(
            "Build the six datasets from the embedded corpus (or --source), evaluate every model in --models "
            "on every task, and write datasets/, results/ and a summary into --out."
        ),
    )
    p.add_argument(
        "--out", type=Path, default=Path("genobench-out"), help="output folder (default genobench-out)"
    )
    p.add_argument(
        "--models", default="markov:auto", help="comma-separated models (Hub ids, folders, markov:K)"
    )
    p.add_argument("--tasks", default=DEFAULT_TASKS, help="comma-separated task names")
    p.add_argument("--datasets", default="PRO,EUK,VIR,PRO_reads,EUK_reads,VIR_reads")
    p.add_argument("--n-sites", type=int, default=2000, help="sites per dataset (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", type=Path, help="a genome folder laid out like the embedded corpus")
    p.add_argument("--taxonomy", type=Path, help="taxonomy table for --source")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def safe_name(model: str) -> str:
    """A file name for a model id (``org/name`` -> ``org__name``; ``markov:auto`` -> ``markov-auto``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model.replace("/", "__")).strip("-") or "model"


def run(args: argparse.Namespace) -> int:
    from genobench_hf.data.build import build_all
    from genobench_hf.runner import EvalConfig, evaluate
    from genobench_hf.summary_table import print_summary
    from genobench_hf.tasks import TaskConfig

    out: Path = args.out
    data_dir = out / "datasets"
    if not (data_dir / "PRO" / "README.md").exists():
        summary = build_all(data_dir, source=args.source, taxonomy=args.taxonomy, seed=args.seed)
        print(summary.table() if hasattr(summary, "table") else summary)
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        doc = evaluate(
            EvalConfig(
                model=model,
                tasks=args.tasks,
                datasets=args.datasets,
                data_dir=data_dir,
                output=out / "results" / f"{safe_name(model)}.json",
                task=TaskConfig(n_sites=args.n_sites, seed=args.seed),
                cache_dir=out / ".cache",
                show_progress=not args.quiet,
            )
        )
        print_summary(doc)
    print(f"genobench: datasets in {data_dir}, results in {out / 'results'}")
    return 0
