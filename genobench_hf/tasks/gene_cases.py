"""Annotated genes of a dataset split as gene-completion cases (the larger panel beside Evo 2's 12 genes).

Prokaryote protocol (PRO, VIR): single-segment CDS of at most ``MAX_CDS`` nt, phase 0, whose annotation
passed the translation check, with ``UPSTREAM`` nt before it inside the same row (upstream is to the right
on the minus strand); the window is taken in gene orientation. Eukaryote protocol (EUK): every segment
of one ``gene_id`` in the row, on one strand, first segment phase 0, coding length a multiple of 3, genomic
span (introns included) at most ``MAX_SPAN`` nt, with ``UPSTREAM`` nt before it; the reference residues
scored are those exonerate places in the reference window after the prompt (genes it cannot splice back are
dropped and counted). Genes are drawn per genome (equal quotas), seeded by (seed, dataset, genome) only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genobench_hf.data.fasta import reverse_complement
from genobench_hf.data.genetic_code import translate
from genobench_hf.gene_completion.panel import UPSTREAM, GeneCase, eukaryote_case, prokaryote_case
from genobench_hf.gene_completion.splice import splice_one
from genobench_hf.tasks.sampling import model_alphabet, quotas, stable_seed

MAX_CDS = 3000
MAX_SPAN = 6000


def _orient(seq: str, lo: int, hi: int, strand: str) -> str:
    return reverse_complement(seq[lo:hi]) if strand == "-" else seq[lo:hi]


def _prokaryote_candidates(row: Mapping[str, Any], r: int) -> list[tuple[int, dict[str, Any]]]:
    out = []
    length, off = len(row["sequence"]), int(row["chunk_start"])
    for cds in row.get("cds") or []:
        start, end = int(cds["start"]) - off, int(cds["end"]) - off
        size, minus = end - start, cds["strand"] == "-"
        room = (length - end) if minus else start
        if (
            cds.get("translation_ok")
            and int(cds.get("phase") or 0) == 0
            and 30 <= size <= MAX_CDS
            and size % 3 == 0
            and start >= 0
            and end <= length
            and room >= UPSTREAM
        ):
            out.append((r, {"segments": [(start, end)], "strand": cds["strand"], "gene_id": cds.get("gene_id"),
                            "transl_table": cds.get("transl_table")}))  # fmt: skip
    return out


def _eukaryote_candidates(row: Mapping[str, Any], r: int) -> list[tuple[int, dict[str, Any]]]:
    genes: dict[str, list[dict[str, Any]]] = {}
    for cds in row.get("cds") or []:
        if cds.get("gene_id"):
            genes.setdefault(str(cds["gene_id"]), []).append(cds)
    length, off = len(row["sequence"]), int(row["chunk_start"])
    out = []
    for gene_id, parts in sorted(genes.items()):
        strands = {p["strand"] for p in parts}
        segs = sorted((int(p["start"]) - off, int(p["end"]) - off) for p in parts)
        if len(strands) != 1 or not all(p.get("translation_ok") for p in parts) or segs[0][0] < 0:
            continue
        strand = strands.pop()
        first = (
            max(parts, key=lambda p: int(p["end"]))
            if strand == "-"
            else min(parts, key=lambda p: int(p["start"]))
        )
        lo, hi = segs[0][0], segs[-1][1]
        room = (length - hi) if strand == "-" else lo
        coding = sum(e - s for s, e in segs)
        if int(first.get("phase") or 0) or coding % 3 or hi - lo > MAX_SPAN or hi > length or room < UPSTREAM:
            continue
        out.append((r, {"segments": segs, "strand": strand, "gene_id": gene_id,
                        "transl_table": first.get("transl_table")}))  # fmt: skip
    return out


def dataset_cases(
    rows: Sequence[Mapping[str, Any]], *, dataset: str, protocol: str, n_genes: int, seed: int
) -> tuple[list[GeneCase], int]:
    """Up to ``n_genes`` seeded cases (equal quotas per genome) and how many picked genes were dropped
    because exonerate could not splice their annotation back into their window."""
    pick = _eukaryote_candidates if protocol == "eukaryote" else _prokaryote_candidates
    pools: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for r, row in enumerate(rows):
        found = pick(row, r)
        if found:
            pools.setdefault(str(row["genome_id"]), []).extend(found)
    cases: list[GeneCase] = []
    dropped = 0
    for genome_id, n in quotas(list(pools), n_genes).items():
        rng = np.random.default_rng(stable_seed(seed, "gene_completion", dataset, genome_id))
        taken = 0
        for k in rng.permutation(len(pools[genome_id]))[: 4 * n].tolist():
            if taken == n:
                break
            r, gene = pools[genome_id][k]
            case = _case(rows[r], gene, dataset, genome_id, protocol)
            if case is None:
                dropped += protocol == "eukaryote"
                continue
            cases.append(case)
            taken += 1
    return cases, dropped


def _case(
    row: Mapping[str, Any], gene: dict[str, Any], dataset: str, genome_id: str, protocol: str
) -> GeneCase | None:
    seq = model_alphabet(str(row["sequence"]))
    segs, strand = gene["segments"], gene["strand"]
    table = int(gene.get("transl_table") or row.get("genetic_code") or 1)
    cds = "".join(_orient(seq, s, e, "+") for s, e in segs)
    cds = reverse_complement(cds) if strand == "-" else cds
    protein = translate(cds, table, to_stop=True)
    lo, hi = segs[0][0], segs[-1][1]
    window = _orient(seq, lo, hi + UPSTREAM, "-") if strand == "-" else seq[lo - UPSTREAM : hi]
    if "N" in window or len(protein) < 10:
        return None
    key = f"{dataset}:{genome_id}:{gene.get('gene_id') or lo}"
    organism = str(row.get("organism") or genome_id)
    if protocol == "prokaryote":
        if len(protein) < len(cds) // 3 - 1:  # an internal stop: not a clean reference
            return None
        return prokaryote_case(
            key, str(gene.get("gene_id") or lo), organism, dataset, window, UPSTREAM, protein, table
        )
    hit = splice_one(protein, window)
    return eukaryote_case(key, str(gene.get("gene_id") or lo), organism, dataset, window, protein, table, hit)
