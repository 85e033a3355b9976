"""Default prices for turning device time into money (every one overridable with --price-per-hour).

Numbers are round on-demand cloud list prices in USD, late 2026, and only meant to make costs comparable
between models and runs, not to quote a provider: a small CPU VM (2 vCPU) ~ $0.10/h for the machine, a
data-centre GPU (A100/H100 class) ~ $2.00 per device-hour.
"""

from __future__ import annotations

DEFAULT_PRICE_PER_DEVICE_HOUR = {"cpu": 0.10, "cuda": 2.00, "mps": 0.50}


def price_per_hour(device: str, override: float | None = None) -> float:
    """USD per device-hour for ``device`` (``cpu``, ``cuda:0`` ...), or the user's override."""
    if override is not None:
        return float(override)
    return DEFAULT_PRICE_PER_DEVICE_HOUR.get(device.split(":")[0], DEFAULT_PRICE_PER_DEVICE_HOUR["cpu"])
