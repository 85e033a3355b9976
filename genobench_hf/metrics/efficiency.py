"""What running a model costs: throughput, latency per kb and money per million nucleotides.

One formula for the ``efficiency`` task and the ``metrics/efficiency`` evaluate module. Inputs are timed
batches (nucleotides processed, seconds taken); the price per device-hour comes from
:mod:`genobench_hf.costs` or the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genobench_hf.errors import ConfigError


def efficiency_summary(
    nucleotides: Sequence[int],
    seconds: Sequence[float],
    *,
    price_per_device_hour: float,
    devices: int = 1,
    sites: int | None = None,
    peak_memory_mb: float | None = None,
) -> dict[str, Any]:
    """Totals over timed batches -> nt/s, ms per 1 kb, USD per million nucleotides (all devices paid)."""
    if len(nucleotides) != len(seconds) or not nucleotides:
        raise ConfigError("nucleotides and seconds must be non-empty and of equal length")
    total_nt, total_s = int(sum(nucleotides)), float(sum(seconds))
    if total_nt <= 0 or total_s <= 0:
        raise ConfigError(f"need positive totals, got {total_nt} nucleotides in {total_s} s")
    if price_per_device_hour < 0 or devices < 1:
        raise ConfigError("the price must be >= 0 and devices >= 1")
    nt_per_s = total_nt / total_s
    return {
        "nucleotides": total_nt,
        "seconds": total_s,
        "nucleotides_per_second": nt_per_s,
        "ms_per_kb": 1e6 / nt_per_s,
        "sites_per_second": None if sites is None else sites / total_s,
        "peak_memory_mb": peak_memory_mb,
        "devices": devices,
        "price_per_device_hour": float(price_per_device_hour),
        "cost_per_million_nt": price_per_device_hour * devices / 3600.0 * (1e6 / nt_per_s),
    }
