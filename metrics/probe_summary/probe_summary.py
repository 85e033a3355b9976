"""evaluate module for probe summaries: a thin wrapper over genobench_hf.metrics.probes.

The formulas live in the genobench package so that this module and the genobench runner give the
same numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics.probes import neuron_selectivity, probe_scores

_CITATION = """\
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026},
  note   = {Probe definitions in ../shared/DESIGN.md ("Probes") and genobench_hf/probes.py}
}
"""

_DESCRIPTION = """\
Scores of a linear probe on held-out nucleotides: accuracy, macro-F1 (mean per-class F1 over the classes
seen in references or predictions), the share of the majority class (chance for a balanced sample),
optionally AUROC of a positive-class score (binary probes such as coding vs non-coding) and the same
scores per group (e.g. codon position). With `activations` (one row of neuron values per nucleotide) it
adds single-neuron selectivity: for each neuron the best one-vs-rest max(AUROC, 1 - AUROC) over the
classes, the number of neurons reaching the threshold (0.9) and the best neuron. Identical to
genobench_hf.metrics.probes.probe_scores and neuron_selectivity.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of int, the probe's predicted class per nucleotide.
    references: list of int, the true class per nucleotide.
    positive_scores: optional list of float, the probe's score for class 1 (binary references only).
    groups: optional list of str, a group per nucleotide (e.g. codon position "1", "2", "3", "non_coding").
    activations: optional list of lists of float (n_nucleotides x n_neurons) for single-neuron selectivity.
    threshold: selectivity threshold (default 0.9).
Returns:
    n, accuracy, macro_f1, majority_share, [auroc], [by_group: {group: {n, accuracy, macro_f1}}],
    [n_neurons, n_selective_neurons, selectivity_threshold, best_neuron: {index, auroc, selectivity, class}].
Examples:
    >>> metric = evaluate.load("metrics/probe_summary")
    >>> metric.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])["accuracy"]
    0.75
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ProbeSummary(evaluate.Metric):
    """Accuracy, macro-F1, AUROC and single-neuron selectivity of a probe."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(
        self,
        predictions: Any,
        references: Any,
        positive_scores: Any = None,
        groups: Any = None,
        activations: Any = None,
        threshold: float = 0.9,
    ) -> dict[str, Any]:
        out = probe_scores(references, predictions, positive_scores=positive_scores, groups=groups)
        if activations is not None:
            out |= neuron_selectivity(activations, references, threshold=threshold)
        return out
