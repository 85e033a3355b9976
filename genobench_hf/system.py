"""Where a run happened: package versions, hardware, peak memory (recorded in every results file)."""

from __future__ import annotations

import os
import platform
import resource
import sys
from typing import Any

from genobench_hf.threads import threads_record
from genobench_hf.version import __version__


def environment(world_size: int, device: str) -> dict[str, Any]:
    """Package versions and hardware, so that a number can be traced to what produced it."""
    import importlib.metadata as md

    import torch

    versions = {}
    for pkg in (
        "torch",
        "transformers",
        "datasets",
        "accelerate",
        "evaluate",
        "numpy",
        "pyarrow",
        "tokenizers",
    ):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "genobench": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "device": device,
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "torch_threads": torch.get_num_threads(),
        "threads": threads_record(),  # how torch_threads was chosen (genobench_hf.threads)
        "cpu_count": os.cpu_count(),
        "world_size": world_size,
    }


def peak_memory_mb(device: str) -> float:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20
