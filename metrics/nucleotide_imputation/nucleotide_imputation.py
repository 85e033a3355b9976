"""evaluate module for single-nucleotide imputation: a thin wrapper over genobench_hf.metrics.

The formulas live in the genobench package so that this module and the genobench runner give the
same numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics import nucleotide_metrics

_CITATION = """\
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026},
  note   = {Imputation protocols and metric definitions in docs/ARCHITECTURE.md}
}
@inproceedings{guo2017calibration,
  title     = {On Calibration of Modern Neural Networks},
  author    = {Guo, Chuan and Pleiss, Geoff and Sun, Yu and Weinberger, Kilian Q.},
  booktitle = {Proceedings of the 34th International Conference on Machine Learning},
  year      = {2017}
}
"""

_DESCRIPTION = """\
Scores of a DNA language model that predicts hidden nucleotides: accuracy of the argmax over A,C,G,T
(tied maxima share the credit: a uniform prediction scores 0.25), cross-entropy in bits per nucleotide (-log2 p(true); chance = 2 bits)
and its gain over chance, top-label expected calibration error (15 equal-width bins) with the reliability
table, the 4x4 confusion matrix, per-base scores, optional accuracy by GC bin, per-genome and macro
(mean of per-genome means) averages, and percentile bootstrap intervals (sites for micro, genomes for
macro). Identical to genobench_hf.metrics.nucleotide_metrics.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of [p(A), p(C), p(G), p(T)] per site; each row sums to 1 (within 1e-6).
    references: list of int, the true base per site (A=0, C=1, G=2, T=3).
    genome_ids: optional list of str, the genome of each site (adds per_genome, macro, macro intervals).
    gc: optional list of float, GC fraction of each site's window without the site (NaN = undefined).
    mass_outside: optional list of float, probability the model put outside A,C,G,T (NaN = undefined).
    n_bootstrap: int, bootstrap resamples (default 1000; 0 = no intervals).
    seed: int, seed of the bootstrap (default 0).
    ci: float, confidence level of the intervals (default 0.95).
Returns:
    n_scored, accuracy, bits_per_nt, gain_over_chance_bits, chance_bits, ece, reliability, confusion,
    per_base, n_prob_floored, mass_outside_mean, ci, and with the optional inputs accuracy_by_gc,
    n_gc_missing, per_genome, macro.
Examples:
    >>> metric = evaluate.load("metrics/nucleotide_imputation")
    >>> out = metric.compute(predictions=[[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]],
    ...                      references=[0, 2], n_bootstrap=0)
    >>> out["accuracy"], round(out["bits_per_nt"], 4)  # the tied site counts 1/4
    (0.625, 1.2573)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class NucleotideImputation(evaluate.Metric):
    """Accuracy, bits per nucleotide, calibration and intervals of single-nucleotide imputation."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    # float64: float32 storage would change the scores in the last digits.
                    "predictions": datasets.Sequence(datasets.Value("float64"), length=4),
                    "references": datasets.Value("int32"),
                }
            ),
            reference_urls=["https://proceedings.mlr.press/v70/guo17a.html"],
        )

    def _compute(
        self,
        predictions: Any,
        references: Any,
        genome_ids: Any = None,
        gc: Any = None,
        mass_outside: Any = None,
        n_bootstrap: int = 1000,
        seed: int = 0,
        ci: float = 0.95,
    ) -> dict[str, Any]:
        return nucleotide_metrics(
            predictions,
            references,
            genome_ids=genome_ids,
            gc=gc,
            mass_outside=mass_outside,
            n_bootstrap=n_bootstrap,
            seed=seed,
            ci=ci,
        )
