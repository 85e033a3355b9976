"""evaluate module for span imputation (gene-sized infill): a thin wrapper over genobench_hf.metrics.

The formulas live in the genobench package so that this module and the genobench runner give the
same numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics import span_metrics

_CITATION = """\
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026},
  note   = {Imputation protocols and metric definitions in docs/ARCHITECTURE.md}
}
"""

_DESCRIPTION = """\
Scores of a DNA language model that infills a hidden contiguous span: per-nucleotide identity (micro over
nucleotides, macro over spans), accuracy as a function of the distance from the nearest span edge, identity
by span length, and for genes the amino-acid recovery of the translated infill. Only A/C/G/T positions of
the truth are scored; comparison is case-insensitive. Identical to genobench_hf.metrics.span_metrics.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of str, the infilled spans.
    references: list of str, the true spans (same lengths as the predictions).
    amino_acids: optional list of (predicted_protein, true_protein) pairs for gene spans.
    max_distance: optional int K; edge distances above K share one bucket.
Returns:
    n_spans, n_unscored, n_nucleotides, identity, macro_identity, accuracy_by_edge_distance (list of
    {min_distance, max_distance, n, accuracy}), by_span_length, aa_recovery (None without amino_acids).
Examples:
    >>> metric = evaluate.load("metrics/span_imputation")
    >>> out = metric.compute(predictions=["ACGAAC"], references=["ACGTAC"])
    >>> round(out["identity"], 4)
    0.8333
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SpanImputation(evaluate.Metric):
    """Identity, edge-distance curve and amino-acid recovery of span infill."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Value("string"),
                }
            ),
        )

    def _compute(
        self,
        predictions: Any,
        references: Any,
        amino_acids: Any = None,
        max_distance: int | None = None,
    ) -> dict[str, Any]:
        pairs = None if amino_acids is None else [tuple(pair) for pair in amino_acids]
        return span_metrics(predictions, references, amino_acids=pairs, max_distance=max_distance)
