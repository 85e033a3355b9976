"""evaluate module for the transfer matrix summary: a thin wrapper over genobench_hf.metrics.

The formulas live in the genobench package so that this module and the genobench runner give the
same numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics import matrix_from_rows, transfer_summary

_CITATION = """\
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026},
  note   = {Transferability test and metric definitions in docs/ARCHITECTURE.md}
}
"""

_DESCRIPTION = """\
Summary of a transfer matrix of imputation cross-entropies (bits per nucleotide of a model trained on
dataset X and tested on dataset Y), computed on the gain over chance (2 - bits): mean in-domain gain,
mean off-diagonal gain, their ratio (off / in), and per-train rows. A train set whose in-domain test sets
are unknown (an external model) contributes only its mean gain. Identical to
genobench_hf.metrics.transfer_summary.
"""

_KWARGS_DESCRIPTION = """
Args:
    train_name: list of str, the training dataset of each cell (e.g. "PRO").
    test_name: list of str, the test dataset of each cell (e.g. "EUK_reads").
    bits: list of float, bits per nucleotide of that cell.
    in_domain: optional dict train name -> test name or list of test names (None = unknown training
        data). Default: the test names that start with the train name (PRO -> PRO, PRO_reads).
Returns:
    chance_bits, n_train, n_known_training, mean_gain, in_domain_gain, off_diagonal_gain, ratio,
    per_train (gains, mean_gain, known_training, in_domain, in_domain_gain, off_diagonal_gain, ratio).
Examples:
    >>> metric = evaluate.load("metrics/transferability")
    >>> out = metric.compute(train_name=["PRO", "PRO"], test_name=["PRO", "VIR"], bits=[1.8, 1.9])
    >>> round(out["ratio"], 4)
    0.5
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Transferability(evaluate.Metric):
    """In-domain vs off-diagonal gain over chance of a transfer matrix."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "train_name": datasets.Value("string"),
                    "test_name": datasets.Value("string"),
                    "bits": datasets.Value("float64"),
                }
            ),
        )

    def _compute(
        self,
        train_name: Any,
        test_name: Any,
        bits: Any,
        in_domain: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return transfer_summary(matrix_from_rows(train_name, test_name, bits), in_domain=in_domain)
