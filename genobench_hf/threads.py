"""How many CPU threads torch may use: the CPUs this process can actually run on, not the machine's.

torch sizes its intra-op pool from the machine's cores. On a shared or containerised CPU the process may
be pinned to fewer (``os.sched_getaffinity``) or throttled by a cgroup quota (v2 ``cpu.max``, v1
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``); more threads than that contend for the same slices and
were measured 65x slower than one thread on the infill path under load. :func:`configure_threads` picks,
in order: an explicit ``--threads N``, ``OMP_NUM_THREADS``, else the available CPUs divided among the
processes of this node (``LOCAL_WORLD_SIZE``, set by torchrun / accelerate), at least 1. What it chose is
recorded in every results file (``environment.threads``).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

from genobench_hf.errors import ConfigError

CGROUP_ROOT = Path("/sys/fs/cgroup")
_chosen: dict[str, Any] | None = None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _quota(quota: str | None, period: str | None) -> float | None:
    """CPUs allowed by a quota/period pair; None when unlimited, absent or unreadable."""
    try:
        q, p = float(quota), float(period)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return q / p if q > 0 and p > 0 else None


def _own_cgroups(proc_cgroup: Path) -> tuple[str | None, str | None]:
    """This process's cgroup paths: (v2 unified path, v1 ``cpu`` controller path), from /proc/self/cgroup."""
    v2 = v1 = None
    for line in (_read(proc_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        elif "cpu" in parts[1].split(","):
            v1 = parts[2]
    return v2, v1


def _candidates(folder: Path, own: str | None) -> list[Path]:
    """``folder`` and the process's own cgroup below it with every ancestor (a quota anywhere binds)."""
    out = [folder]
    if own and own.strip("/"):
        parts = own.strip("/").split("/")
        out += [folder.joinpath(*parts[:i]) for i in range(1, len(parts) + 1)]
    return out


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The tightest cgroup CPU quota that applies to this process (in CPUs), or None when there is none."""
    v2, v1 = _own_cgroups(proc_cgroup)
    limits = []
    for folder in _candidates(root, v2):
        text = _read(folder / "cpu.max")  # v2: "<quota|max> <period>"
        if text:
            fields = text.split()
            limits.append(_quota(fields[0], fields[1] if len(fields) > 1 else "100000"))
    for base in (root / "cpu", root / "cpu,cpuacct", root / "cpuacct,cpu"):
        for folder in _candidates(base, v1):
            limits.append(_quota(_read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")))
    found = [x for x in limits if x is not None]
    return min(found) if found else None


def affinity_cpus() -> int:
    """CPUs this process may be scheduled on (``os.cpu_count()`` where affinity is not available)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> dict[str, Any]:
    """``{"cpus": n, "affinity": a, "cgroup_quota": q}``: n = min(affinity, floor(quota)), at least 1."""
    affinity = affinity_cpus()
    quota = cgroup_cpu_limit(root, proc_cgroup)
    cpus = affinity if quota is None else min(affinity, max(1, math.floor(quota)))
    return {"cpus": max(1, cpus), "affinity": affinity, "cgroup_quota": quota}


def parse_threads(value: str | int | None) -> int | None:
    """``--threads``: a positive integer, or None / "auto" for the detected value."""
    if value is None or value == "auto":
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ConfigError(f"--threads must be a positive integer or 'auto', got {value!r}")
    return n


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--threads`` flag shared by ``evaluate``, ``run`` and ``train``."""

    def value(text: str) -> int | None:
        try:
            return parse_threads(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parser.add_argument(
        "--threads",
        type=value,
        default=None,
        help="torch CPU threads (default auto: CPUs this process may use, by affinity and cgroup quota, "
        "divided among the processes of the node)",
    )


def choose_threads(requested: int | None, env: dict[str, str] | None = None, **detect: Any) -> dict[str, Any]:
    """The thread count and why: requested > OMP_NUM_THREADS > available CPUs / local processes."""
    env = dict(os.environ) if env is None else env
    info = available_cpus(**detect)
    local = env.get("LOCAL_WORLD_SIZE", "1")
    per_node = int(local) if local.isdigit() and int(local) > 0 else 1
    omp = env.get("OMP_NUM_THREADS", "")
    if requested is not None:
        n, source = requested, "--threads"
    elif omp.isdigit() and int(omp) > 0:
        n, source = int(omp), "OMP_NUM_THREADS"
    else:
        n, source = max(1, info["cpus"] // per_node), "available CPUs"
    return {"threads": n, "source": source, "local_processes": per_node, **info}


def configure_threads(requested: int | None = None) -> dict[str, Any]:
    """Set torch's intra-op threads (see the module docstring); returns and remembers the choice."""
    global _chosen
    import torch

    _chosen = choose_threads(requested)
    torch.set_num_threads(_chosen["threads"])
    return dict(_chosen)


def threads_record() -> dict[str, Any]:
    """What :func:`configure_threads` chose in this process ({} when it was not called)."""
    return dict(_chosen) if _chosen else {}
