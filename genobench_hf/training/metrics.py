"""``training_metrics.json``: what a run cost (time, throughput, memory, device-hours, money) and learned.

Device-hours = wall time x number of processes (one device each); the cost is device-hours x the price
per device-hour (``TrainConfig.price_per_device_hour`` or :data:`DEFAULT_PRICE_PER_DEVICE_HOUR`).
Peak memory is the CUDA allocator's peak on GPUs and the process's peak resident set size on CPU
(which includes the Python interpreter and the loaded data, so it is an upper bound for the model).
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

import torch

from genobench_hf.outputs import atomic_write_text
from genobench_hf.threads import threads_record
from genobench_hf.training.config import DEFAULT_PRICE_PER_DEVICE_HOUR, TrainConfig

SCHEMA = "genobench.training_metrics/1"


def write_json_atomic(path: Path, data: Any, *, text: str | None = None) -> None:
    """Write JSON (or ``text``) to a temporary file beside ``path`` and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text if text is not None else json.dumps(data, indent=2, sort_keys=False) + "\n")


def peak_memory(device: torch.device) -> tuple[float, str]:
    """(MiB, what was measured)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / (2**20 if sys.platform == "darwin" else 2**10), "process_peak_rss"


def significant(x: float, digits: int = 6) -> float:
    """``x`` to ``digits`` significant digits: a short run's device-hours (3e-05) keep their precision,
    which rounding to decimal places would not (0.106 s became 3e-05 h, 1.6% off, its cost another value)."""
    return float(f"{x:.{digits}g}")


def build_metrics(
    config: TrainConfig,
    accelerator: Any,
    *,
    wall: float,
    steps: int,
    n_params: int,
    bf16: bool,
    history: list[dict[str, float]],
    train_bits: float,
    data_fingerprint: str,
    model_config: dict[str, Any],
) -> dict[str, Any]:
    """The metrics dict (JSON-ready). Token counts are over all processes."""
    import accelerate
    import transformers

    device = accelerator.device
    n_dev = accelerator.num_processes
    nucleotides = steps * config.batch_size * config.seq_len * n_dev
    price = config.price_per_device_hour
    price_source = "user"
    if price is None:
        price, price_source = DEFAULT_PRICE_PER_DEVICE_HOUR.get(device.type, 0.0), "default"
    mem, mem_kind = peak_memory(device)
    device_hours = wall / 3600 * n_dev
    return {
        "schema": SCHEMA,
        "arch": config.arch,
        "objective": config.objective,
        "dataset": config.dataset,
        "data_fingerprint": data_fingerprint,
        "parameters": n_params,
        "steps": steps,
        "batch_size_per_device": config.batch_size,
        "seq_len": config.seq_len,
        "tokens_seen": nucleotides,
        "wall_time_s": significant(wall),
        "nucleotides_per_s": round(nucleotides / max(wall, 1e-9), 1),
        "final_train_bits_per_nt": round(train_bits, 5),
        "final_validation_bits_per_nt": round(history[-1]["validation_bits_per_nt"], 5),
        "validation_history": history,
        "peak_memory_mib": round(mem, 1),
        "peak_memory_kind": mem_kind,
        "device_kind": device.type,
        "device_count": n_dev,
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "threads": threads_record(),
        "bf16_autocast": bf16,
        "device_hours": significant(device_hours),
        "price_per_device_hour_usd": price,
        "price_source": price_source,
        "estimated_cost_usd": significant(device_hours * price),
        "learning_rate": config.learning_rate,
        "seed": config.seed,
        "config": config.to_json(),
        "model_config": model_config,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "accelerate": accelerate.__version__,
        },
    }
