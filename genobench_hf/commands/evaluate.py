"""``genobench evaluate``: score a model (or ``markov:K``) on tasks and datasets, write results JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from genobench_hf.tasks.base import DATASET_NAMES


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "evaluate",
        help="score a DNA language model or Markov baseline on the benchmark tasks",
        description=(
            "Score a transformers masked/causal LM (Hub id or local folder) or the Markov baseline "
            "('markov:K' or 'markov:auto') on nucleotide imputation tasks. Results go to a versioned JSON "
            "file; finished chunks are cached beside it so an interrupted run resumes. Launch with "
            "`accelerate launch` or `torchrun` to shard the work over several processes."
        ),
    )
    p.add_argument("--model", required=True, help="Hub id, local folder, or markov:K / markov:auto")
    p.add_argument(
        "--tasks",
        default="imputation,next_nucleotide,imputation_dense",
        help="comma-separated task names (see `genobench tasks`)",
    )
    p.add_argument("--datasets", default=",".join(DATASET_NAMES), help="comma-separated dataset names")
    p.add_argument(
        "--data-dir",
        type=Path,
        help="what `genobench datasets build` wrote (default: built "
        "from the embedded corpus into a cache folder on first use)",
    )
    p.add_argument("--output", type=Path, default=Path("genobench-results.json"), help="results JSON path")
    p.add_argument("--limit", type=int, help="at most N scored sites per dataset (smoke runs)")
    p.add_argument("--n-sites", type=int, default=2000, help="sites per dataset (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--window", type=int, default=256, help="window length in nucleotides (default 256)")
    p.add_argument("--mask-rate", type=float, default=0.15, help="imputation_dense mask rate (default 0.15)")
    p.add_argument("--split", default="test", help="dataset split to score (default test; also rare)")
    p.add_argument("--tokenizer-kind", default="auto", help="auto | char | kmer:K[:STRIDE] | bpe")
    p.add_argument("--model-kind", default="auto", choices=["auto", "masked", "causal"])
    p.add_argument("--dtype", default="float32", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--right-context", type=int, help="causal two-sided: nucleotides right of the site kept")
    p.add_argument(
        "--baseline", default="markov:auto", help="baseline beside the model: markov:K, markov:auto, none"
    )
    p.add_argument(
        "--generations",
        type=int,
        default=50,
        help="gene_completion: sampled completions per gene (default 50)",
    )
    p.add_argument("--n-bootstrap", type=int, default=1000, help="bootstrap resamples for intervals")
    p.add_argument(
        "--trust-remote-code", action="store_true", help="allow the model's own Python code to run"
    )
    p.add_argument("--no-resume", action="store_true", help="ignore and do not write the chunk cache")
    p.add_argument("--cache-dir", type=Path, help="chunk cache (default: .genobench-cache beside --output)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genobench_hf.runner import EvalConfig, evaluate
    from genobench_hf.summary_table import print_summary
    from genobench_hf.tasks import TaskConfig

    config = EvalConfig(
        model=args.model,
        tasks=args.tasks,
        datasets=args.datasets,
        data_dir=args.data_dir,
        output=args.output,
        task=TaskConfig(
            window=args.window,
            n_sites=args.n_sites,
            mask_rate=args.mask_rate,
            seed=args.seed,
            split=args.split,
            limit=args.limit,
            n_bootstrap=args.n_bootstrap,
            n_generations=args.generations,
        ),
        batch_size=args.batch_size,
        model_kind=args.model_kind,
        tokenizer_kind=args.tokenizer_kind,
        trust_remote_code=args.trust_remote_code,
        dtype=args.dtype,
        right_context=args.right_context,
        baseline=args.baseline,
        cache_dir=args.cache_dir,
        resume=not args.no_resume,
        show_progress=not args.quiet,
    )
    doc = evaluate(config)
    if doc["config"]["world_size"] == 1 or _is_main():
        print_summary(doc)
        print(f"results written to {config.output}")
    return 0


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
