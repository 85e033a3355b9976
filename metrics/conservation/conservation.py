"""evaluate module for the conservation test: a thin wrapper over genobench_hf.metrics.

The formulas live in the genobench package so that this module and the genobench runner give the
same numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics.conservation import conservation_correlation

_CITATION = """\
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026},
  note   = {Conservation test definition in ../shared/DESIGN.md and docs/ARCHITECTURE.md}
}
"""

_DESCRIPTION = """\
Spearman correlation between a per-site score (the model's log-likelihood of the true base under
single-site imputation) and conservation (share of aligned strains of the same species that carry the
reference base), plus accuracy and bits per nucleotide by conservation bin ([0, .5), [.5, .75), [.75, 1),
[1, 1]). Sites with missing conservation (NaN: no aligned strain) are left out. Within-species
polymorphism, not phyloP: not comparable with GUANinE's cons30. Identical to
genobench_hf.metrics.conservation.conservation_correlation.
"""

_KWARGS_DESCRIPTION = """
Args:
    log_likelihood: list of float, the per-site score (e.g. log2 p(true base)); higher = more expected.
    conservation: list of float in [0, 1], NaN where missing.
    correct: optional list in [0, 1] per site (argmax == true base; 1/j for a j-way tie).
    bits: optional list of float, -log2 p(true base) per site. With `correct`, adds the bins.
Returns:
    n (sites with conservation), n_missing, spearman (None when undefined, e.g. a constant score),
    accuracy_by_conservation: [{lower, upper, label, n, accuracy, bits_per_nt}] when correct and bits are given.
Examples:
    >>> metric = evaluate.load("metrics/conservation")
    >>> out = metric.compute(log_likelihood=[-2.0, -1.0, -0.5], conservation=[0.5, 0.75, 1.0])
    >>> out["spearman"]
    1.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Conservation(evaluate.Metric):
    """Rank correlation of a per-site score with within-species conservation, and accuracy by bin."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"log_likelihood": datasets.Value("float64"), "conservation": datasets.Value("float64")}
            ),
        )

    def _compute(
        self, log_likelihood: Any, conservation: Any, correct: Any = None, bits: Any = None
    ) -> dict[str, Any]:
        cons = [float("nan") if c is None else c for c in conservation]
        return conservation_correlation(log_likelihood, cons, correct=correct, bits=bits)
