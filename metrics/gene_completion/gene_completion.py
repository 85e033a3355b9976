"""evaluate module for gene completion on the Evo 2 protocol: a thin wrapper over genobench_hf.metrics.

The formulas live in the genobench package so that this module and the genobench runner give the
same numbers; keep one import per line (evaluate's import scanner reads this file line by line).
"""

from typing import Any

import datasets
import evaluate

from genobench_hf.metrics import gene_completion_metrics

_CITATION = """\
@article{brixi2026evo2,
  title   = {Genome modelling and design across all domains of life with Evo 2},
  author  = {Brixi, Garyk and others},
  journal = {Nature},
  year    = {2026}
}
@misc{genobench,
  title  = {genobench: a benchmark for DNA language models},
  author = {{genobench developers}},
  year   = {2026}
}
"""

_DESCRIPTION = """\
Percent amino-acid recovery of completed genes (Evo 2's gene-completion benchmark): each predicted protein
is aligned globally to its gene's reference protein (Biopython PairwiseAligner, BLOSUM62, gap open -10,
extend -0.5, free end gaps) and recovery = 100 x identical aligned residues among the scored reference
residues [start, end) / (end - start). Per gene: mean and SEM over its generations; per panel: mean of the
gene means; overall: mean of all gene means. Identical to genobench_hf.metrics.gene_completion_metrics.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of str, the predicted protein of each generation.
    references: list of str, the reference protein of that generation's gene (no trailing stop).
    genes: list of str, the gene of each generation (generations are grouped by it).
    starts: optional list of int, first scored reference residue (the first one beyond the prompt).
    ends: optional list of int, end of the scored residues (default: the reference's length).
    panels: optional list of str, the panel of each gene (e.g. evo2_prokaryote, evo2_eukaryote).
Returns:
    per_gene ({gene: {n, mean, sem}}), panels ({panel: {n_genes, mean}}), n_genes, mean (mean of the gene
    means), recoveries (each generation's recovery, in input order).
Examples:
    >>> metric = evaluate.load("metrics/gene_completion")
    >>> out = metric.compute(predictions=["MKVLA", "MKVLW"], references=["MKVLA", "MKVLA"],
    ...                      genes=["g", "g"], starts=[2, 2])
    >>> round(out["mean"], 2)
    83.33
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class GeneCompletion(evaluate.Metric):
    """Percent amino-acid recovery per gene (mean, SEM), per panel and overall."""

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
        genes: Any = None,
        starts: Any = None,
        ends: Any = None,
        panels: Any = None,
    ) -> dict[str, Any]:
        genes = list(genes) if genes is not None else [str(i) for i in range(len(predictions))]
        return gene_completion_metrics(
            predictions, references, genes, starts=starts, ends=ends, panels=panels
        )
