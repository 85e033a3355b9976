"""Gene completion (Evo 2 protocol): percent amino-acid recovery, per-gene mean and SEM, panel means.

Recovery of one generation. The predicted protein (translation of the prompt's coding part plus the
generation; for eukaryotes of the CDS that exonerate splices out of it) is aligned globally to the
reference protein with Biopython's ``PairwiseAligner`` (BLOSUM62, gap open -10, extend -0.5, end gaps
free: EMBOSS needle's defaults). The score is::

    recovery = 100 * #{reference residues r in [start, end) aligned to an identical predicted residue}
                   / (end - start)

where ``[start, end)`` are the reference residues beyond the prompt that the window encodes: the
prokaryote CDS from the first codon after the prompt to the last residue; for eukaryote windows (which
end inside some genes) the residues that exonerate places in the reference window after the prompt.
The denominator is fixed per gene, so a short or empty generation cannot score high (the panel README
says "identity over the generated part after a global protein alignment" and leaves the denominator
implicit; this is the reading genobench uses). Gene: mean and standard error (``std(ddof=1)/sqrt(n)``)
over its generations. Panel: mean of its genes' means. Headline: mean of the per-gene means over every
gene of both panels (12 genes for the Evo 2 panel), as published.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from genobench_hf.errors import ConfigError

GAP_OPEN = -10.0
GAP_EXTEND = -0.5


@lru_cache(maxsize=1)
def _aligner() -> Any:
    from Bio.Align import PairwiseAligner, substitution_matrices

    aligner = PairwiseAligner(mode="global")
    aligner.substitution_matrix = substitution_matrices.load("BLOSUM62")
    aligner.open_gap_score = GAP_OPEN
    aligner.extend_gap_score = GAP_EXTEND
    aligner.open_end_gap_score = 0.0
    aligner.extend_end_gap_score = 0.0
    return aligner


_KNOWN = set("ARNDCQEGHILKMFPSTWYVBZX*")


def _clean(protein: str) -> str:
    return "".join(c if c in _KNOWN else "X" for c in protein.upper())


def amino_acid_recovery(predicted: str, reference: str, start: int = 0, end: int | None = None) -> float:
    """Percent of reference residues ``[start, end)`` matched by an identical residue of ``predicted`` in
    the global alignment (module docstring)."""
    end = len(reference) if end is None else end
    if not 0 <= start < end <= len(reference):
        raise ConfigError(
            f"scored residues [{start}, {end}) do not lie inside a {len(reference)}-residue reference"
        )
    if not predicted:
        return 0.0
    ref, pred = _clean(reference), _clean(predicted)
    alignment = _aligner().align(ref, pred)[0]
    same = 0
    for (r0, r1), (p0, _p1) in zip(*alignment.aligned, strict=True):
        lo, hi = max(r0, start), min(r1, end)
        same += sum(ref[r] == pred[p0 + r - r0] for r in range(lo, hi))
    return 100.0 * same / (end - start)


def mean_sem(values: Sequence[float]) -> dict[str, Any]:
    """n, mean and standard error of the mean (None for fewer than two values)."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "sem": None}
    mean = sum(values) / n
    if n < 2:
        return {"n": n, "mean": mean, "sem": None}
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return {"n": n, "mean": mean, "sem": math.sqrt(var / n)}


def gene_completion_summary(
    recoveries: Mapping[str, Sequence[float]], panels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Per-gene mean and SEM, per-panel mean of the gene means, and the headline mean over all genes.

    ``recoveries``: gene -> recovery (%) of each generation; ``panels``: gene -> panel name (default one
    panel, ``all``)."""
    panels = panels or {}
    per_gene = {g: mean_sem(list(v)) for g, v in recoveries.items()}
    means = {g: s["mean"] for g, s in per_gene.items() if s["mean"] is not None}
    by_panel: dict[str, list[float]] = {}
    for g, m in means.items():
        by_panel.setdefault(panels.get(g, "all"), []).append(m)
    return {
        "per_gene": per_gene,
        "panels": {p: {"n_genes": len(v), "mean": sum(v) / len(v)} for p, v in sorted(by_panel.items())},
        "n_genes": len(means),
        "mean": sum(means.values()) / len(means) if means else None,
    }


def gene_completion_metrics(
    predictions: Sequence[str],
    references: Sequence[str],
    genes: Sequence[str],
    starts: Sequence[int] | None = None,
    ends: Sequence[int | None] | None = None,
    panels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The whole score from one row per generation: its predicted protein, the gene's reference protein,
    the gene's name, the scored reference residues ``[start, end)`` (default: all) and the gene's panel.
    Returns :func:`gene_completion_summary` plus every generation's recovery in input order."""
    n = len(predictions)
    columns = {"references": references, "genes": genes, "starts": starts, "ends": ends, "panels": panels}
    for name, col in columns.items():
        if col is not None and (isinstance(col, str) or len(col) != n):
            raise ConfigError(f"{name} must be a list with one entry per prediction ({n})")
    if n == 0:
        raise ConfigError("no generations to score")
    recoveries: dict[str, list[float]] = {}
    panel_of: dict[str, str] = {}
    each = []
    for i in range(n):
        value = amino_acid_recovery(
            predictions[i],
            references[i],
            0 if starts is None else int(starts[i]),
            None if ends is None or ends[i] is None else int(ends[i]),
        )
        each.append(value)
        recoveries.setdefault(genes[i], []).append(value)
        if panels is not None and panel_of.setdefault(genes[i], panels[i]) != panels[i]:
            raise ConfigError(f"gene {genes[i]!r} is given two panels ({panel_of[genes[i]]}, {panels[i]})")
    return {**gene_completion_summary(recoveries, panel_of), "recoveries": each}
