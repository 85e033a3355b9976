"""``genobench compare``: paired differences between models on the sites they were all scored on.

Why paired: every model is scored on exactly the same sites, so the per-site difference in bits removes
the sites' own difficulty, and its interval is far narrower than two marginal intervals side by side
(which overlap even when one model wins on most sites). For every task x dataset present in all files:
the mean bits and accuracy of each model on the common sites, the paired difference to the reference
model (``markov:auto`` when present, else the first file) and to the best model with 95% bootstrap
intervals (:func:`genobench_hf.metrics.paired.paired_difference`: over sites, conditional on these
genomes; and a cluster bootstrap by genome where the data hold >= 5 genomes), and rank groups: models
whose paired interval against a group's leader includes 0 share its rank. Span tasks are compared the same
way on their per-span records: the pooled identity (matching / scored nucleotides) on the common spans
(and, as ``TASK.genes``, genes), resampling whole spans, never their nucleotides
(:func:`genobench_hf.metrics.paired.paired_pooled_difference`). Results whose protocol or data
fingerprint differ are refused, naming the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError
from genobench_hf.metrics.nucleotide import site_scores
from genobench_hf.metrics.paired import paired_difference, paired_pooled_difference
from genobench_hf.protocol import doc_differences
from genobench_hf.results import load_results
from genobench_hf.site_records import GENE_KEY, KEY, SPAN_KEY, read_records

MIN_GENOMES_FOR_CLUSTER = 5
REFERENCE = "markov:auto"


def _label(doc: dict[str, Any], path: Path) -> str:
    return str(doc.get("config", {}).get("model") or path.stem)


def check_comparable(docs: Sequence[tuple[Path, dict[str, Any]]]) -> None:
    """Refuse results whose protocol or data differ (genobench_hf.protocol), naming every difference."""
    lines = doc_differences([(p.name, d) for p, d in docs])
    if lines:
        raise ConfigError("cannot compare these results: " + "; ".join(lines))


Cells = dict[tuple[str, str], tuple[str, dict[tuple[Any, ...], tuple[float, float, str]]]]


def _site_cells(path: Path, ref: dict[str, Any]) -> Cells:
    """Per (task, dataset): ("sites", key -> (bits, credit, genome)) of one model."""
    table = read_records(path, ref).to_pydict()
    probs = np.stack([np.asarray(table[f"p_{b}"], dtype=np.float64) for b in "ACGT"], axis=1)
    truth = np.array(["ACGT".index(b) for b in table["true_base"]], dtype=np.int64)
    scores = site_scores(probs, truth)  # the results' own formula: probability floor, tied credit
    bits, credit = scores["bits"], scores["correct"]
    out: Cells = {}
    for i, key in enumerate(zip(*(table[k] for k in KEY), strict=True)):
        out.setdefault((key[0], key[1]), ("sites", {}))[1][key] = (bits[i], credit[i], table["genome_id"][i])
    return out


def _span_cells(path: Path, ref: dict[str, Any]) -> Cells:
    """Per (task, dataset) for spans and (task.genes, dataset) for genes: ("spans" | "genes", key ->
    (matching, scored nucleotides, genome)); the leaderboard's span identity pools the spans only."""
    table = read_records(path, ref).to_pydict()
    out: Cells = {}
    for i, key in enumerate(zip(*(table[k] for k in SPAN_KEY), strict=True)):
        gene = key[3] == "gene"
        cell = (f"{key[0]}.genes" if gene else key[0], key[1])
        item = (float(table["matches"][i]), float(table["n_scored"][i]), table["genome_id"][i])
        out.setdefault(cell, ("genes" if gene else "spans", {}))[1][key] = item
    return out


def _gene_cells(path: Path, ref: dict[str, Any]) -> Cells:
    """Per (task, dataset) for the genes the task's aa_recovery averages (the Evo 2 panel where it ran), and
    (task.part, dataset) for the others: ("recovery", case key -> (mean % recovery, generations, organism))."""
    table = read_records(path, ref).to_pydict()
    out: Cells = {}
    for i, key in enumerate(zip(*(table[k] for k in GENE_KEY), strict=True)):
        cell = (key[0] if table["headline"][i] else f"{key[0]}.{key[3]}", key[1])
        item = (float(table["mean_recovery"][i]), float(table["n_generations"][i]), str(key[7]))
        out.setdefault(cell, ("recovery", {}))[1][key] = item
    return out


def record_cells(path: Path, doc: dict[str, Any]) -> Cells:
    """Every comparable cell of one results file, from the records it references (checksum-verified)."""
    readers = {"site_records": _site_cells, "span_records": _span_cells, "gene_records": _gene_cells}
    if not any(doc.get(name) for name in readers):
        raise ConfigError(f"{path}: no per-site records (results written before they existed); rerun it")
    out: Cells = {}
    for name, read in readers.items():
        if doc.get(name):
            out.update(read(path, doc[name]))
    return out


def compare(paths: Sequence[str | Path], *, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Paired comparison of two or more results files (see the module docstring)."""
    if len(paths) < 2:
        raise ConfigError("compare needs at least two results files")
    docs = [(Path(p), load_results(p)) for p in paths]
    check_comparable(docs)
    labels = [_label(d, p) for p, d in docs]
    if len(set(labels)) != len(labels):
        labels = [f"{lab} ({p.name})" for lab, (p, _) in zip(labels, docs, strict=True)]
    out = compare_cells([record_cells(p, d) for p, d in docs], labels, n_bootstrap=n_bootstrap, seed=seed)
    return {"models": labels, "files": [str(p) for p, _ in docs], **out}


def compare_cells(tables: Sequence[Cells], labels: Sequence[str], *, n_bootstrap: int = 1000,
                  seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """The paired comparison of models whose records (:func:`record_cells`) are given, in ``labels``'
    order; the caller has checked that they are comparable (:func:`check_comparable`)."""
    cells = sorted(set.intersection(*(set(t) for t in tables)))
    out: dict[str, Any] = {"cells": []}
    for cell in cells:
        common = sorted(set.intersection(*(set(t[cell][1]) for t in tables)))
        if common:
            kind = tables[0][cell][0]
            items = [[t[cell][1][k] for k in common] for t in tables]
            out["cells"].append(
                _compare_cell(cell, kind, items, list(labels), n_bootstrap=n_bootstrap, seed=seed)
            )
    return out


def _unpaired_halfwidth(values: list[np.ndarray], sizes: np.ndarray | None, i: int, j: int) -> float:
    """Half-width of reading two marginal 95% intervals side by side (for contrast with the paired one)."""

    def var(v: np.ndarray) -> float:
        if sizes is None:
            return float(v.var() / v.size)
        r = v.sum() / sizes.sum()  # a ratio of sums: linearised variance
        return float(((v - r * sizes) ** 2).sum() / sizes.sum() ** 2)

    return float(1.96 * np.sqrt(var(values[i]) + var(values[j])))


#: kind of record -> (score name, higher is better, pooled: the first value counts units out of the second
#: (matching out of scored nucleotides) instead of being the item's own value, unit of an item)
KINDS = {
    "sites": ("bits_per_nt", False, False, "sites"),
    "spans": ("identity", True, True, "spans"),
    "genes": ("identity", True, True, "genes"),
    "recovery": ("aa_recovery", True, False, "genes"),
}


def _compare_cell(cell: tuple[str, str], kind: str, items: list[list[tuple[float, float, str]]], labels: list[str],
                  *, n_bootstrap: int, seed: int) -> dict[str, Any]:  # fmt: skip
    score, higher, pooled, unit = KINDS[kind]
    first = [np.array([it[0] for it in model]) for model in items]
    second = [np.array([it[1] for it in model]) for model in items]
    genomes = [it[2] for it in items[0]]
    n_genomes = len(set(genomes))
    groups = genomes if n_genomes >= MIN_GENOMES_FOR_CLUSTER else None
    sizes = second[0] if pooled else None  # the same truth for every model: the same scored units
    n = int((sizes > 0).sum()) if sizes is not None else len(genomes)
    means = [float(v.sum() / max(sizes.sum(), 1)) if sizes is not None else float(v.mean()) for v in first]
    order = sorted(range(len(labels)), key=lambda i: -means[i] if higher else means[i])
    best = order[0]
    ref = labels.index(REFERENCE) if REFERENCE in labels else 0
    memo: dict[tuple[int, int], dict[str, Any]] = {}

    def pair(i: int, j: int) -> dict[str, Any]:
        if (i, j) not in memo:
            opts: dict[str, Any] = {"groups": groups, "n_bootstrap": n_bootstrap, "seed": seed}
            memo[i, j] = (paired_difference(first[i], first[j], **opts) if sizes is None
                          else paired_pooled_difference(first[i], first[j], sizes, **opts))  # fmt: skip
        return memo[i, j]

    models = []
    for i, label in enumerate(labels):
        m: dict[str, Any] = {
            "model": label, "score": means[i], score: means[i], "vs_reference": pair(i, ref) if i != ref else None,
            "vs_best": pair(i, best) if i != best else None,
            "unpaired_halfwidth_vs_reference": None if i == ref else _unpaired_halfwidth(first, sizes, i, ref),
        }  # fmt: skip
        if kind == "sites":  # the second value is the accuracy credit
            m["accuracy"] = float(second[i].mean())
            m["accuracy_vs_reference"] = None if i == ref else paired_difference(
                second[i], second[ref], groups=groups, n_bootstrap=n_bootstrap, seed=seed)  # fmt: skip
        models.append(m)
    for i, r in rank_groups(order, pair, use_cluster=groups is not None).items():
        models[i]["rank"] = r
    return {
        "task": cell[0], "dataset": cell[1], "kind": kind, "score": score, "higher_is_better": higher,
        "unit": unit, "n": n, "n_sites": n, "n_genomes": n_genomes,
        "interval": "cluster bootstrap by genome" if groups is not None else
        f"bootstrap over {unit} (fewer than {MIN_GENOMES_FOR_CLUSTER} genomes: conditional on these genomes)",
        "reference": labels[ref], "best": labels[best], "models": models,
    }  # fmt: skip


def rank_groups(order: list[int], pair: Any, *, use_cluster: bool) -> dict[int, int]:
    """Ranks in which models not separable from their group's leader share the leader's rank.

    ``order`` is best first; a model joins the current group when the paired interval of (model -
    leader) includes 0, else it starts a new group whose rank is its position (competition ranking)."""
    ranks: dict[int, int] = {}
    leader = order[0]
    ranks[leader] = 1
    for pos, i in enumerate(order[1:], start=2):
        d = pair(i, leader)
        separable = d["cluster_excludes_zero"] if use_cluster and d["cluster_ci"] else d["excludes_zero"]
        if separable:
            leader = i
            ranks[i] = pos
        else:
            ranks[i] = ranks[leader]
    return ranks


def markdown(result: dict[str, Any]) -> str:
    """One table per task x dataset: rank, score, paired difference to the reference and to the best."""
    lines = []
    for cell in result["cells"]:
        score = "bits/nt" if cell["score"] == "bits_per_nt" else cell["score"]
        lines += [f"### {cell['task']} / {cell['dataset']} (n = {cell['n']} {cell['unit']}, "
                  f"{cell['n_genomes']} genomes; intervals: {cell['interval']})", "",
                  f"| rank | model | {score} | Δ vs {cell['reference']} (95% CI) | Δ vs best (95% CI) |",
                  "|--:|:--|--:|--:|--:|"]  # fmt: skip
        for m in sorted(cell["models"], key=lambda m: m["rank"]):
            lines.append(f"| {m['rank']} | {m['model']} | {m['score']:.3f} | {diff_text(m['vs_reference'])} | "
                         f"{diff_text(m['vs_best'])} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def shown_interval(d: dict[str, Any]) -> list[float] | None:
    """The interval a table shows for a paired difference: by genome where computed, else over items."""
    ci = d.get("cluster_ci") or d.get("ci")
    return None if not ci or ci[0] is None else [float(ci[0]), float(ci[1])]


def separable(d: dict[str, Any]) -> bool:
    """Whether the shown interval (:func:`shown_interval`) excludes 0."""
    return bool(d["cluster_excludes_zero"] if d.get("cluster_ci") else d.get("excludes_zero"))


def difference_text(d: dict[str, Any], digits: int = 4, *, mark: bool = False) -> str:
    """``+0.0120``; with ``mark``, `` *`` where the shown interval excludes 0."""
    return f"{d['difference']:+.{digits}f}" + (" *" if mark and separable(d) else "")


def interval_text(d: dict[str, Any], digits: int = 4) -> str | None:
    ci = shown_interval(d)
    return None if ci is None else f"{ci[0]:+.{digits}f} to {ci[1]:+.{digits}f}"


def diff_text(d: dict[str, Any] | None, digits: int = 4, *, mark: bool = False) -> str:
    """``+0.0120 (+0.0040 to +0.0200)``: a paired difference with the interval a table shows."""
    if d is None:
        return "–"
    ci = interval_text(d, digits)
    body = difference_text(d, digits, mark=mark)
    return body if ci is None else f"{body} ({ci})"
