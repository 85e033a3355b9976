"""``genobench train``: train a baseline architecture on a dataset's train split (see genobench_hf.training)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from genobench_hf.outputs import writes_output
from genobench_hf.threads import add_threads_argument


def _json_dict(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"hidden_size\": 128}'")
    return value


def register(subparsers: Any) -> None:
    from genobench_hf.devices import DEVICE_HELP, parse_device
    from genobench_hf.models.configuration import ARCHS
    from genobench_hf.training.config import DEFAULT_MAX_MINUTES, DEFAULT_PRICE_PER_DEVICE_HOUR

    p: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train a baseline DNA language model (lstm, cnn, transformer, ...) on a dataset",
        description=(
            "Train one of genobench's baseline architectures on random windows of a dataset's train split "
            "with Accelerate (CPU, GPUs or several nodes: launch with `accelerate launch`/`torchrun`), "
            "evaluating validation bits per nucleotide and checkpointing every --eval-every steps. Writes a "
            "save_pretrained folder (model + tokenizer), training_metrics.json (time, throughput, memory, "
            "device-hours, cost) and a model card."
        ),
    )
    p.add_argument("--arch", choices=ARCHS, help="architecture (required unless --reference)")
    p.add_argument(
        "--dataset", help="dataset name in --data-dir, e.g. PRO, EUK, VIR (required unless --reference)"
    )
    p.add_argument(
        "--out", type=Path, required=True, help="output folder (with --reference: one subfolder each)"
    )
    p.add_argument(
        "--reference",
        help="train shipped reference checkpoints from their recipe (genobench_hf/training/recipe.py): 'all' or "
        "names such as lstm-PRO,transformer-mlm-PRO; the budget, seed and selection are the recipe's",
    )
    p.add_argument(
        "--data-dir", type=Path, help="what `genobench datasets build` wrote (default: the embedded corpus)"
    )
    p.add_argument("--objective", default="clm", choices=["clm", "mlm"], help="mlm: transformer only")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="number of optimizer steps")
    budget.add_argument(
        "--max-minutes",
        type=float,
        help=f"training time budget (default {DEFAULT_MAX_MINUTES:g} when --steps is absent)",
    )
    p.add_argument(
        "--batch-size", "--batch_size", type=int, default=32, help="windows per step per device (default 32)"
    )
    p.add_argument("--device", type=parse_device, default="auto", help=DEVICE_HELP)
    p.add_argument("--seq-len", type=int, default=256, help="nucleotides per window (default 256)")
    p.add_argument("--lr", type=float, help="peak learning rate (default: per arch, 3e-3; transformer 2e-3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=100, help="validation + checkpoint interval in steps")
    p.add_argument("--val-windows", type=int, default=64, help="validation windows (fixed seeded sample)")
    p.add_argument(
        "--select", default="best", choices=["best", "last"],
        help="weights to write: the lowest validation bits/nt of the checks (default) or the last step",
    )  # fmt: skip
    prices = ", ".join(f"{k} ${v:g}" for k, v in DEFAULT_PRICE_PER_DEVICE_HOUR.items())
    p.add_argument(
        "--price-per-device-hour", type=float, help=f"USD for the cost estimate (default: {prices})"
    )
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--stop-after", type=int, help="checkpoint and exit at this step (continue with --resume)")
    p.add_argument(
        "--bf16", default="auto", choices=["auto", "on", "off"],
        help="bf16 autocast (auto: on CUDA; on CPU only for archs measured faster)",
    )  # fmt: skip
    p.add_argument("--model-config", type=_json_dict, default={}, help="JSON object of model config fields")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(p)
    p.set_defaults(func=run)


@writes_output("out")
def run(args: argparse.Namespace) -> int:
    from genobench_hf.errors import ConfigError
    from genobench_hf.training import TrainConfig, train

    if args.reference:
        return _run_reference(args)
    if not args.arch or not args.dataset:
        raise ConfigError("genobench train needs --arch and --dataset (or --reference NAME)")

    config = TrainConfig(
        arch=args.arch, dataset=args.dataset, out=args.out, data_dir=args.data_dir, objective=args.objective,
        steps=args.steps, max_minutes=args.max_minutes, batch_size=args.batch_size, seq_len=args.seq_len,
        lr=args.lr, seed=args.seed, eval_every=args.eval_every, val_windows=args.val_windows,
        price_per_device_hour=args.price_per_device_hour, resume=args.resume, stop_after=args.stop_after,
        bf16=args.bf16, select=args.select, model_overrides=args.model_config, quiet=args.quiet, threads=args.threads,
        device=args.device,
    )  # fmt: skip
    _report(config, train(config).metrics)
    return 0


def _run_reference(args: argparse.Namespace) -> int:
    """Each named recipe entry into ``--out/<name>``; a finished one is kept, a started one resumed."""
    from genobench_hf.training import has_checkpoint, train
    from genobench_hf.training.recipe import select

    for ref in select(args.reference):
        folder = args.out / ref.name
        if (folder / "training_metrics.json").exists():
            print(f"{ref.name}: already trained in {folder}")
            continue
        config = ref.config(folder, data_dir=args.data_dir, quiet=args.quiet)
        config.resume, config.threads, config.device = has_checkpoint(folder), args.threads, args.device
        _report(config, train(config).metrics)
    return 0


def _report(config: Any, m: dict[str, Any]) -> None:
    if not m.get("finished", True):
        print(f"stopped at step {m['steps']}; continue with --resume")
        return
    if m.get("device_count", 1) == 1 or _is_main():
        print(
            f"{config.arch} on {config.dataset}: validation {m['selected_validation_bits_per_nt']:.4f} bits/nt (step "
            f"{m['selected_step']} of {m['steps']}), {m['wall_time_s']:.0f} s ({m['nucleotides_per_s']:,.0f} nt/s), "
            f"est. ${m['estimated_cost_usd']:.4f}; model in {config.out}"
        )


def resume_hint(args: argparse.Namespace, again: str) -> str:
    """Ctrl-C / SIGTERM: a checkpoint is written every --eval-every steps; --resume continues from it."""
    from genobench_hf.training import has_checkpoint

    if not has_checkpoint(args.out):
        return f"no checkpoint was written yet (one every --eval-every steps); to start again run: {again}"
    return f"continue from the last checkpoint with: {again if args.resume else again + ' --resume'}"


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
