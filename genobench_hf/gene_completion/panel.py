"""Gene-completion cases on the Evo 2 protocol: the shipped Evo 2 panel, its published figures, and the
prompts, continuations and predicted proteins of any gene (panel or dataset annotation).

Protocol (``data/README.md``; Brixi et al., Nature 2026):

* prokaryote: prompt = the ``UPSTREAM`` (1,000) nt before the CDS + the first ``round(codons * 0.30)``
  codons of the CDS; the model generates the rest of the CDS (same length as the reference's remainder,
  stop codon included); predicted protein = translation of the prompt's codons + the generation up to the
  first stop; scored residues = those after the prompt's codons. Sampling temperature 0.7.
* eukaryote: prompt = the first ``int(len(window) * 0.30)`` nt of the genomic window; the model generates
  the rest of the window; exonerate (protein2genome, the reference protein) splices the prompt + the
  generation and the spliced CDS is translated; scored residues = the reference residues that exonerate
  places in the reference window after the prompt. Sampling temperature 1.0.
* both: top_k 4 (among A, C, G, T), 50 generations per gene by default.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from genobench_hf.data.genetic_code import translate
from genobench_hf.errors import ConfigError
from genobench_hf.gene_completion.splice import SplicedHit, splice_many, splice_one

DATA = Path(__file__).resolve().parent / "data"
UPSTREAM = 1000
PROMPT_FRACTION = 0.30
TEMPERATURE = {"prokaryote": 0.7, "eukaryote": 1.0}
TOP_K = 4
N_GENERATIONS = 50
PANELS = {"prokaryote": "evo2_prokaryote", "eukaryote": "evo2_eukaryote"}
EVO2_TABLES = {"prokaryote": 11, "eukaryote": 1}  # bacteria/archaea; the nuclear genes of the eukaryotes


@dataclass(frozen=True)
class GeneCase:
    """One gene to complete: the window in gene orientation (model alphabet), where the prompt ends, the
    reference protein (no stop) and the reference residues ``scored`` = [start, end)."""

    key: str
    gene: str
    organism: str
    panel: str
    protocol: str
    window: str
    prompt_length: int
    reference: str
    table: int
    cds_offset: int  # prokaryote: the CDS start in the window; eukaryote: -1 (exonerate finds the CDS)
    scored: tuple[int, int]

    @property
    def prompt(self) -> str:
        return self.window[: self.prompt_length]

    @property
    def n_new(self) -> int:
        return len(self.window) - self.prompt_length

    @property
    def truth(self) -> str:
        return self.window[self.prompt_length :]


def prokaryote_case(
    key: str, gene: str, organism: str, panel: str, genomic: str, cds_start: int, protein: str, table: int
) -> GeneCase:
    """The prokaryote protocol for a CDS starting at ``cds_start`` of ``genomic`` and running to its end."""
    up = min(UPSTREAM, cds_start)
    window = genomic[cds_start - up :]
    reference = protein.rstrip("*")
    codons = (len(window) - up) // 3
    n_prompt = round(codons * PROMPT_FRACTION)
    if not 0 < n_prompt < len(reference):
        raise ConfigError(f"gene {key}: a {len(reference)}-residue protein leaves nothing to complete")
    return GeneCase(key, gene, organism, panel, "prokaryote", window, up + 3 * n_prompt, reference, table, up,
                    (n_prompt, len(reference)))  # fmt: skip


def eukaryote_case(
    key: str, gene: str, organism: str, panel: str, genomic: str, protein: str, table: int,
    hit: SplicedHit | None,
) -> GeneCase | None:  # fmt: skip
    """The eukaryote protocol; ``hit`` = exonerate of the reference protein on the reference window (None:
    the annotation does not splice back, so the scored residues are undefined and the gene is dropped)."""
    cut = int(len(genomic) * PROMPT_FRACTION)
    reference = protein.rstrip("*")
    if hit is None or hit.strand != "+" or len(hit.residue_starts) != hit.q_end - hit.q_start:
        return None
    first = hit.q_start + sum(s < cut for s in hit.residue_starts)
    if first >= hit.q_end:
        return None
    return GeneCase(key, gene, organism, panel, "eukaryote", genomic, cut, reference, table, -1,
                    (first, hit.q_end))  # fmt: skip


def predicted_proteins(case: GeneCase, generations: Sequence[str]) -> list[str]:
    """The protein each generation codes for under the case's protocol (module docstring)."""
    if case.protocol == "prokaryote":
        head = case.window[case.cds_offset : case.prompt_length]
        return [translate(head + g, case.table, to_stop=True) for g in generations]
    hits = splice_many(case.reference, [case.prompt + g for g in generations])
    return ["" if h is None else translate(h.cds, case.table).rstrip("*") for h in hits]


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=2)
def evo2_panel(protocol: str) -> tuple[GeneCase, ...]:
    """The Evo 2 panel genes of one protocol (4 prokaryote, 8 eukaryote), shipped with the package."""
    if protocol not in PANELS:
        raise ConfigError(f"unknown gene-completion protocol {protocol!r}; choose prokaryote or eukaryote")
    panel, table = PANELS[protocol], EVO2_TABLES[protocol]
    out = []
    for r in _rows(f"data_{protocol}_genes.csv"):
        key, seq = f"evo2:{r['gene']}", r["genomic_sequence"].upper()
        if protocol == "prokaryote":
            out.append(prokaryote_case(key, r["gene"], r["organism"], panel, seq, int(r["cds_start"]),
                                       r["reference_protein"], table))  # fmt: skip
            continue
        hit = splice_one(r["reference_protein"].rstrip("*"), seq)
        case = eukaryote_case(key, r["gene"], r["organism"], panel, seq, r["reference_protein"], table, hit)
        if case is None:
            raise ConfigError(
                f"exonerate does not splice {r['gene']}'s reference protein back into its window"
            )
        out.append(case)
    return tuple(out)


@lru_cache(maxsize=1)
def published() -> dict[str, Any]:
    """The published Evo 2 figures: per model, the panel means, the 12-gene mean, and per gene n/mean/SEM."""
    out: dict[str, Any] = {}
    for r in _rows("results_summary.csv"):
        out[r["model"]] = {
            "display": f"Evo 2 {r['display']}",
            "params_billions": float(r["params_billions"]),
            "panels": {
                "evo2_prokaryote": float(r["prokaryote_mean"]),
                "evo2_eukaryote": float(r["eukaryote_mean"]),
            },
            "overall": float(r["overall_mean_aa_recovery"]),
            "paper_reported": float(r["paper_reported"]),
            "per_gene": {},
        }
    for protocol in PANELS:
        for r in _rows(f"results_{protocol}_per_gene.csv"):
            out[r["model"]]["per_gene"][r["gene"]] = {
                "panel": PANELS[protocol],
                "n": int(r["n_samples"]),
                "mean": float(r["mean_aa_recovery"]),
                "sem": float(r["sem_aa_recovery"]),
            }
    return out
