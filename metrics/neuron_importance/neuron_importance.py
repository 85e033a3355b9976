"""evaluate module for neuron importance by ablation: a thin wrapper over genobench_hf.metrics.probes.

The formulas live in the genobench package so that this module and the genobench runner give the
same numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics.probes import importance_summary

_CITATION = """\
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026},
  note   = {Neuron importance test in genobench_hf/tasks/neuron_importance.py and genobench_hf/ablation.py}
}
"""

_DESCRIPTION = """\
How the effect of ablating single neurons (channels of one layer's output, zeroed or mean-replaced) on
imputation is spread: per neuron the drop in accuracy (baseline - ablated) and the increase in bits per
nucleotide (ablated - baseline, the importance); the ranking (most important first); the Gini
coefficient of the importances clipped at 0 (0 = evenly spread, near 1 = one neuron carries it); the
fewest neurons whose importances sum to half of the total; the total. Identical to
genobench_hf.metrics.probes.importance_summary.
"""

_KWARGS_DESCRIPTION = """
Args:
    accuracy: list of float, imputation accuracy with each neuron ablated (one entry per neuron).
    bits_per_nt: list of float, bits per nucleotide with each neuron ablated.
    baseline_accuracy: float, accuracy without ablation.
    baseline_bits_per_nt: float, bits per nucleotide without ablation.
    indices: optional list of int, the neuron index of each entry (default 0, 1, ...).
Returns:
    per_neuron: [{index, delta_accuracy, delta_bits}], ranking, gini (None if no neuron matters),
    half_effect_neurons (None if no neuron matters), total_delta_bits.
Examples:
    >>> metric = evaluate.load("metrics/neuron_importance")
    >>> out = metric.compute(accuracy=[0.4, 0.5], bits_per_nt=[1.9, 1.8],
    ...                      baseline_accuracy=0.5, baseline_bits_per_nt=1.8)
    >>> out["half_effect_neurons"], out["gini"]
    (1, 0.5)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class NeuronImportance(evaluate.Metric):
    """Per-neuron ablation effects and their concentration (Gini, half-effect count)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"accuracy": datasets.Value("float64"), "bits_per_nt": datasets.Value("float64")}
            ),
        )

    def _compute(
        self,
        accuracy: Any,
        bits_per_nt: Any,
        baseline_accuracy: float,
        baseline_bits_per_nt: float,
        indices: Any = None,
    ) -> dict[str, Any]:
        ablated = [{"accuracy": a, "bits_per_nt": b} for a, b in zip(accuracy, bits_per_nt, strict=True)]
        baseline = {"accuracy": baseline_accuracy, "bits_per_nt": baseline_bits_per_nt}
        return importance_summary(baseline, ablated, indices)
