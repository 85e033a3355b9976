"""``genobench evaluate``: score a model (or ``markov:K``) on tasks and datasets, write results JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from genobench_hf.devices import DEVICE_HELP, parse_device
from genobench_hf.outputs import writes_output
from genobench_hf.task_config import DATASET_NAMES, DEFAULT_TASKS, MODEL_KINDS, TaskConfig
from genobench_hf.threads import add_threads_argument

DEFAULTS = TaskConfig()  # the one set of task defaults, shared with `genobench run`


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
        default=",".join(DEFAULT_TASKS),
        help="comma-separated task names (see `genobench tasks`)",
    )
    p.add_argument(
        "--datasets", help="comma-separated dataset names (default: all six, PRO,EUK,VIR and their _reads)"
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        help="what `genobench datasets build` wrote (default: built "
        "from the embedded corpus into a cache folder on first use)",
    )
    p.add_argument(
        "--output",
        "--output_path",
        type=Path,
        default=Path("genobench-results.json"),
        help="results JSON path; an existing folder gets MODEL.json inside (--output_path: the "
        "lm-evaluation-harness spelling)",
    )
    p.add_argument("--limit", type=int, help="at most N scored sites per dataset (smoke runs)")
    p.add_argument(
        "--n-sites", type=int, default=DEFAULTS.n_sites, help="sites per dataset (default %(default)s)"
    )
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument(
        "--batch-size", "--batch_size", type=int, default=16, help="windows per forward pass (default 16)"
    )
    p.add_argument("--device", type=parse_device, default="auto", help=DEVICE_HELP)
    p.add_argument(
        "--window", type=int, default=DEFAULTS.window, help="window in nucleotides (default %(default)s)"
    )
    p.add_argument(
        "--mask-rate",
        type=float,
        default=DEFAULTS.mask_rate,
        help="imputation_dense mask rate (default %(default)s)",
    )
    p.add_argument(
        "--split", default=DEFAULTS.split, help="dataset split to score (default %(default)s; also rare)"
    )
    p.add_argument("--tokenizer-kind", default="auto", help="auto | char | kmer:K[:STRIDE] | bpe")
    p.add_argument("--model-kind", default="auto", choices=MODEL_KINDS)
    p.add_argument("--dtype", default="float32", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--right-context", type=int, help="causal two-sided: nucleotides right of the site kept")
    p.add_argument(
        "--baseline", default="markov:auto", help="baseline beside the model: markov:K, markov:auto, none"
    )
    p.add_argument(
        "--generations",
        type=int,
        default=DEFAULTS.n_generations,
        help="gene_completion: sampled completions per gene (default %(default)s)",
    )
    p.add_argument(
        "--n-bootstrap", type=int, default=DEFAULTS.n_bootstrap, help="bootstrap resamples for intervals"
    )
    p.add_argument(
        "--trust-remote-code", action="store_true", help="allow the model's own Python code to run"
    )
    p.add_argument("--no-resume", action="store_true", help="ignore and do not write the chunk cache")
    p.add_argument("--cache-dir", type=Path, help="chunk cache (default: .genobench-cache beside --output)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_threads_argument(p)
    p.set_defaults(func=run)


def task_config(args: argparse.Namespace) -> TaskConfig:
    """The task settings of the flags (every other setting: the shared defaults)."""
    return TaskConfig(
        window=args.window,
        n_sites=args.n_sites,
        mask_rate=args.mask_rate,
        seed=args.seed,
        split=args.split,
        limit=args.limit,
        n_bootstrap=args.n_bootstrap,
        n_generations=args.generations,
    )


@writes_output("output", kind="file")
def run(args: argparse.Namespace) -> int:
    from genobench_hf.runner import EvalConfig, evaluate
    from genobench_hf.summary_table import print_summary

    config = EvalConfig(
        model=args.model,
        tasks=args.tasks,
        datasets=args.datasets or ",".join(DATASET_NAMES),
        data_dir=args.data_dir,
        output=output_path(args.output, args.model),
        task=task_config(args),
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
        threads=args.threads,
        device=args.device,
    )
    doc = evaluate(config)
    if doc["config"]["world_size"] == 1 or _is_main():
        print_summary(doc)
        print(f"results written to {config.output}")
    return 0


def output_path(output: Path, model: str) -> Path:
    """``--output`` as a file: an existing folder (lm-evaluation-harness habit) holds ``MODEL.json``."""
    from genobench_hf.commands.run import safe_name

    return output / f"{safe_name(model)}.json" if output.is_dir() else output


def resume_hint(args: argparse.Namespace, again: str) -> str:
    """Ctrl-C / SIGTERM: finished chunks are cached unless --no-resume, so the same command resumes."""
    if args.no_resume:
        return f"nothing was cached (--no-resume); to start again run: {again}"
    return f"finished chunks are cached; the same command resumes where it stopped: {again}"


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
