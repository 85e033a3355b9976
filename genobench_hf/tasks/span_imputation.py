"""Imputation test 2: whole hidden spans (30/100/300 nt) and whole annotated genes, infilled greedily.

Scores per-nucleotide identity, identity by distance from the span edge, and for genes the amino-acid
recovery of the translated infill (as in Evo 2's gene completion). Genes are single-segment CDS of at most
``max_gene_length`` nt whose annotation passed the translation check, with ``span_flank`` nt of context on
each side inside the same row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genobench_hf.errors import ModelError
from genobench_hf.metrics import span_metrics
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer
from genobench_hf.tasks.base import Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.infill import decoder_for, infill
from genobench_hf.tasks.sampling import Window, model_alphabet, quotas, sample_spans, stable_seed

GENE_COLUMNS = ("genome_id", "contig_id", "chunk_index", "sequence", "cds", "chunk_start", "genetic_code")


def sample_genes(
    rows: Sequence[Mapping[str, Any]], *, n_genes: int, flank: int, max_length: int, seed: int, dataset: str
) -> list[tuple[Window, dict[str, Any]]]:
    """Seeded choice of whole CDS (one segment, phase 0, checked translation) with flanks inside a row."""
    candidates: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for r, row in enumerate(rows):
        length = len(row["sequence"])
        for cds in row.get("cds") or []:
            start = int(cds["start"]) - int(row["chunk_start"])
            end = int(cds["end"]) - int(row["chunk_start"])
            size = end - start
            if (
                cds.get("translation_ok")
                and int(cds.get("phase") or 0) == 0
                and 3 <= size <= max_length
                and size % 3 == 0
                and start - flank >= 0
                and end + flank <= length
            ):
                candidates.setdefault(str(row["genome_id"]), []).append((r, dict(cds, start=start, end=end)))
    out = []
    for genome_id, n in quotas(list(candidates), n_genes).items():
        pool = candidates[genome_id]
        rng = np.random.default_rng(stable_seed(seed, "genes", dataset, genome_id))
        for k in rng.permutation(len(pool))[: n * 3].tolist():
            if sum(w.genome_id == genome_id for w, _ in out) == n:
                break
            r, cds = pool[k]
            seq = model_alphabet(rows[r]["sequence"])
            lo, hi = cds["start"] - flank, cds["end"] + flank
            win = seq[lo:hi]
            sites = tuple(range(flank, flank + cds["end"] - cds["start"]))
            if "N" in win[flank : flank + len(sites)]:
                continue
            table = int(cds.get("transl_table") or rows[r].get("genetic_code") or 1)
            out.append((Window.make(genome_id, r, lo, win, sites), {**cds, "table": table}))
    return out


def _protein(span: str, strand: str, table: int) -> str:
    from genobench_hf.data.fasta import reverse_complement
    from genobench_hf.data.genetic_code import translate

    return translate(reverse_complement(span) if strand == "-" else span, table)


def _log(context: Any, task: str, dataset: str, split: str, kind: str, windows: list[Window], pred: list[str],
         decoder: Any, rows: Sequence[Mapping[str, Any]], proteins: Any = None) -> None:  # fmt: skip
    """Per-span records (genobench_hf.site_records.SpanLog)."""
    context.record_spans(task, dataset, split, kind, windows, pred, str(decoder), rows, proteins)


@register_task
class SpanImputation(Task):
    metadata = TaskMetadata(
        name="span_imputation",
        description="Hide a contiguous span (30/100/300 nt) or a whole annotated gene and infill it greedily "
        "(iterative for masked LMs, left-to-right for causal LMs); identity, accuracy by distance "
        "from the span edge, amino-acid recovery for genes.",
        category="imputation",
        protocol=None,
        main_score="identity",
        higher_is_better=True,
    )

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        mode = decoder_for(scorer)
        if mode is None:
            return skipped(f"{scorer.name} can neither score hidden sets nor next nucleotides")
        cfg = context.config.task
        rows = context.rows(dataset, cfg.split)
        if not rows:
            return skipped(f"dataset {dataset} has no rows in split {cfg.split!r}")
        reads = is_reads(dataset)
        flank = 0 if reads else cfg.span_flank
        out: dict[str, Any] = {"decoder": mode, "split": cfg.split, "flank": flank, "by_length": {}}
        preds: list[str] = []
        truths: list[str] = []
        n_spans = min(cfg.n_spans, cfg.limit) if cfg.limit else cfg.n_spans
        baselines = {
            n: b for n, b in context.baselines(dataset).items() if b is not scorer and decoder_for(b)
        }
        base_preds: dict[str, list[str]] = {n: [] for n in baselines}
        for length in cfg.span_lengths:
            windows = sample_spans(
                rows, n_spans=n_spans, span=length, flank=flank, seed=cfg.seed, dataset=dataset, reads=reads
            )
            if not windows:
                out["by_length"][str(length)] = skipped(f"no {length}-nt span fits the rows of {dataset}")
                continue
            truth = ["".join(w.window[s] for s in w.sites) for w in windows]
            try:
                pred = infill(context, f"span{length}", dataset, windows, scorer)
            except ModelError as exc:  # e.g. the window is longer than the model accepts
                out["by_length"][str(length)] = skipped(str(exc))
                continue
            out["by_length"][str(length)] = span_metrics(pred, truth, max_distance=50)
            _log(context, self.metadata.name, dataset, cfg.split, f"span{length}", windows, pred, mode, rows)
            preds += pred
            truths += truth
            for name, base in baselines.items():
                base_preds[name] += infill(context, f"span{length}@{name}", dataset, windows, base)
        if not truths:
            return skipped(f"no span of lengths {cfg.span_lengths} fits the rows of {dataset}")
        overall = span_metrics(preds, truths, max_distance=50)
        out.update({k: overall[k] for k in ("n_spans", "n_nucleotides", "identity", "macro_identity")})
        out["accuracy_by_edge_distance"] = overall["accuracy_by_edge_distance"]
        out["baselines"] = {"chance": {"identity": 0.25}} | {
            name: {"identity": span_metrics(p, truths)["identity"], "model": baselines[name].name}
            for name, p in base_preds.items()
        }
        out["genes"] = self._genes(scorer, dataset, context) if not reads else skipped("reads carry no genes")
        return out

    def _genes(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        cfg = context.config.task
        rows = context.store.rows(dataset, cfg.split, columns=GENE_COLUMNS)
        n_genes = min(cfg.n_genes, cfg.limit) if cfg.limit else cfg.n_genes
        picked = sample_genes(
            rows,
            n_genes=n_genes,
            flank=cfg.span_flank,
            max_length=cfg.max_gene_length,
            seed=cfg.seed,
            dataset=dataset,
        )
        if not picked:
            return skipped(f"no annotated gene of <= {cfg.max_gene_length} nt in {dataset}/{cfg.split}")
        windows = [w for w, _ in picked]
        truth = ["".join(w.window[s] for s in w.sites) for w in windows]
        try:
            pred = infill(context, "genes", dataset, windows, scorer)
        except ModelError as exc:
            return skipped(str(exc))
        pairs = [
            (_protein(p, cds["strand"], cds["table"]), _protein(t, cds["strand"], cds["table"]))
            for p, t, (_, cds) in zip(pred, truth, picked, strict=True)
        ]
        decoder = decoder_for(scorer)
        _log(context, self.metadata.name, dataset, cfg.split, "gene", windows, pred, decoder, rows, pairs)
        return span_metrics(pred, truth, amino_acids=pairs, max_distance=50)
