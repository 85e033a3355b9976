"""Every metric formula of genobench, implemented once.

The runner writes results with these functions and the ``metrics/<name>`` evaluate modules wrap them,
so ``evaluate.load("metrics/nucleotide_imputation")`` and a results file always carry the same numbers.
Outputs are JSON-ready (Python floats, ints, lists, dicts; None where a value is undefined).
"""

from __future__ import annotations

from genobench_hf.metrics.bootstrap import bootstrap_means, percentile_intervals
from genobench_hf.metrics.conservation import (
    CONSERVATION_BINS,
    accuracy_by_conservation,
    conservation_correlation,
)
from genobench_hf.metrics.efficiency import efficiency_summary
from genobench_hf.metrics.gene_completion import (
    amino_acid_recovery,
    gene_completion_metrics,
    gene_completion_summary,
    mean_sem,
)
from genobench_hf.metrics.nucleotide import (
    GC_EDGES,
    N_CALIBRATION_BINS,
    accuracy_by_bins,
    confusion_matrix,
    expected_calibration_error,
    nucleotide_metrics,
    reliability_bins,
    site_scores,
)
from genobench_hf.metrics.span import protein_recovery, span_metrics
from genobench_hf.metrics.stats import average_ranks, spearman
from genobench_hf.metrics.transfer import (
    CHANCE_BITS,
    gain_over_chance,
    matrix_from_rows,
    rare_gap,
    transfer_summary,
)

__all__ = [
    "CHANCE_BITS",
    "CONSERVATION_BINS",
    "GC_EDGES",
    "N_CALIBRATION_BINS",
    "accuracy_by_bins",
    "accuracy_by_conservation",
    "amino_acid_recovery",
    "average_ranks",
    "bootstrap_means",
    "confusion_matrix",
    "conservation_correlation",
    "efficiency_summary",
    "expected_calibration_error",
    "gain_over_chance",
    "gene_completion_metrics",
    "gene_completion_summary",
    "matrix_from_rows",
    "mean_sem",
    "nucleotide_metrics",
    "percentile_intervals",
    "protein_recovery",
    "rare_gap",
    "reliability_bins",
    "site_scores",
    "span_metrics",
    "spearman",
    "transfer_summary",
]
