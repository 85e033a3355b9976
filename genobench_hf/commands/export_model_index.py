"""``genobench export-model-index``: a results file -> Hub ``model-index`` entries in a model card."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "export-model-index",
        help="write a results file's scores into a model card's model-index",
        description=(
            "Write one Hub model-index result per evaluated (task, dataset) of RESULTS into the YAML "
            "front matter of a model card: the task's main score plus accuracy and bits per nucleotide "
            "where present. The card is created if missing; its text, other metadata and results from "
            "other sources are kept; earlier genobench results are replaced. Skipped entries are left out. "
            "Offline: the card is checked by parsing it back, not with the Hub's validator."
        ),
    )
    p.add_argument("results", metavar="RESULTS.json", help="a genobench results file")
    p.add_argument("--model-card", required=True, metavar="README.md", help="the model card to update")
    p.add_argument(
        "--model-name",
        default=None,
        help="model-index name (default: the card's current one, else the results file's model)",
    )
    p.add_argument(
        "--dataset-org",
        default=None,
        metavar="ORG",
        help="Hub organisation of the datasets: dataset type ORG/genobench-<DATASET> (default: local name)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the card's metadata instead of writing it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genobench_hf.protocol import warn_differences
    from genobench_hf.report.model_index import export_model_index, plan_export

    options = {"model_name": args.model_name, "dataset_org": args.dataset_org}
    plan = plan_export(args.results, args.model_card, **options)
    if args.dry_run:
        print(f"---\n{plan.card.data.to_yaml()}\n---")
    else:
        export_model_index(args.results, args.model_card, **options)
    n_results = len({(r.task_name, r.dataset_name) for r in plan.rows})
    verb = "would write" if args.dry_run else "wrote"
    print(
        f"{verb} {n_results} model-index results ({len(plan.rows)} metrics) to {args.model_card}"
        + (f"; kept {len(plan.kept)} metrics from other sources" if plan.kept else "")
    )
    for item in plan.omitted:
        print(f"  left out {item.task}/{item.dataset}: {item.reason}")
    warn_differences(plan.protocol_notes, "these results and genobench's defaults")
    return 0
