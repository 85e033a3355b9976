"""evaluate module for efficiency summaries: a thin wrapper over genobench_hf.metrics.

The formula lives in the genobench package so that this module and the genobench runner give the same
numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics import efficiency_summary

_CITATION = """\
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026}
}
"""

_DESCRIPTION = """\
Throughput and cost of running a model from timed batches: nucleotides per second, milliseconds per
1 kb, and USD per million nucleotides at a price per device-hour (times the number of devices).
Identical to genobench_hf.metrics.efficiency_summary.
"""

_KWARGS_DESCRIPTION = """
Args:
    nucleotides: list of int, nucleotides processed by each timed batch.
    seconds: list of float, wall seconds of each batch.
    price_per_device_hour: float, USD per device-hour (genobench_hf.costs has documented defaults).
    devices: int, devices used in parallel (default 1).
    sites: optional int, scored sites (for sites per second).
    peak_memory_mb: optional float, recorded as given.
Returns:
    nucleotides, seconds, nucleotides_per_second, ms_per_kb, sites_per_second, peak_memory_mb, devices,
    price_per_device_hour, cost_per_million_nt.
Examples:
    >>> metric = evaluate.load("metrics/efficiency")
    >>> out = metric.compute(nucleotides=[1000, 1000], seconds=[0.5, 0.5], price_per_device_hour=3.6)
    >>> out["nucleotides_per_second"], round(out["cost_per_million_nt"], 6)
    (2000.0, 0.5)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Efficiency(evaluate.Metric):
    """Throughput and cost from timed batches."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"nucleotides": datasets.Value("int64"), "seconds": datasets.Value("float64")}
            ),
        )

    def _compute(
        self,
        nucleotides: Any,
        seconds: Any,
        price_per_device_hour: float = 0.10,
        devices: int = 1,
        sites: int | None = None,
        peak_memory_mb: float | None = None,
    ) -> dict[str, Any]:
        return efficiency_summary(
            list(nucleotides),
            list(seconds),
            price_per_device_hour=price_per_device_hour,
            devices=devices,
            sites=sites,
            peak_memory_mb=peak_memory_mb,
        )
