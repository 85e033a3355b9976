"""``--device auto|cpu|cuda|cuda:N``: checked before anything loads, handed to Accelerate, recorded.

Accelerate picks a device on its own (a GPU when one is visible); these helpers let a user pin it and make
the results say which device was asked for (``config.device``) and which one ran (``environment.device``).
``cuda:N`` is for a single process; ``accelerate launch`` gives each process its own GPU
(pick them with ``CUDA_VISIBLE_DEVICES``).
"""

from __future__ import annotations

import re
from typing import Any

from genobench_hf.errors import ConfigError

DEVICE_HELP = "auto (a GPU when CUDA is available, else the CPU), cpu, cuda or cuda:N (default auto)"
_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


def parse_device(text: str) -> str:
    """The normalised spelling of a ``--device`` value (for argparse ``type=``); a clear error otherwise."""
    value = text.strip().lower()
    if not _PATTERN.fullmatch(value):
        raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N (N = a GPU index), not {text!r}")
    return value


def _cuda_index(device: str) -> int | None:
    return int(device.split(":", 1)[1]) if ":" in device else None


def check_device(device: str) -> None:
    """Refuse ``cuda``/``cuda:N`` when CUDA cannot serve it (before data or model are loaded)."""
    device = parse_device(device)
    if not device.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        why = "this torch is built without CUDA" if torch.version.cuda is None else "no GPU is visible"
        raise ConfigError(
            f"--device {device}: CUDA is not available ({why}; torch {torch.__version__}); "
            "use --device cpu or --device auto"
        )
    index, count = _cuda_index(device), torch.cuda.device_count()
    if index is not None and index >= count:
        raise ConfigError(
            f"--device {device}: only {count} CUDA device(s) visible (cuda:0..cuda:{count - 1})"
        )


def make_accelerator(device: str, **kwargs: Any) -> Any:
    """An ``accelerate.Accelerator`` on ``device`` (checked first); ``cuda:N`` becomes the current GPU."""
    from accelerate import Accelerator

    device = parse_device(device)
    check_device(device)
    if device == "auto":
        import torch

        cpu = not torch.cuda.is_available()
    else:
        cpu = device == "cpu"
    index = _cuda_index(device)
    if index is not None:
        import torch

        torch.cuda.set_device(index)
    accelerator = Accelerator(cpu=cpu, **kwargs)
    if index is not None and accelerator.num_processes > 1:
        raise ConfigError(
            f"--device {device} names one GPU, but {accelerator.num_processes} processes were launched; "
            "use --device cuda (each process takes its own GPU; choose them with CUDA_VISIBLE_DEVICES)"
        )
    return accelerator


def device_name(accelerator: Any) -> str:
    """The device that runs, with its index (``cuda`` alone would hide which GPU)."""
    device = accelerator.device
    if device.type == "cuda" and device.index is None:
        import torch

        return f"cuda:{torch.cuda.current_device()}"
    return str(device)
