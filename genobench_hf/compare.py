"""``genobench compare``: paired differences between models on the sites they were all scored on.

Why paired: every model is scored on exactly the same sites, so the per-site difference in bits removes
the sites' own difficulty, and its interval is far narrower than two marginal intervals side by side
(which overlap even when one model wins on most sites). For every task x dataset present in all files:
the mean bits and accuracy of each model on the common sites, the paired difference to the reference
model (``markov:auto`` when present, else the first file) and to the best model with 95% bootstrap
intervals (:func:`genobench_hf.metrics.paired.paired_difference`: over sites, conditional on these
genomes; and a cluster bootstrap by genome where the data hold >= 5 genomes), and rank groups: models
whose paired interval against a group's leader includes 0 share its rank. Results whose protocol or data
fingerprint differ are refused, naming the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError
from genobench_hf.metrics.nucleotide import site_scores
from genobench_hf.metrics.paired import paired_difference
from genobench_hf.protocol import doc_differences
from genobench_hf.results import load_results
from genobench_hf.site_records import KEY, read_records

MIN_GENOMES_FOR_CLUSTER = 5
REFERENCE = "markov:auto"


def _label(doc: dict[str, Any], path: Path) -> str:
    return str(doc.get("config", {}).get("model") or path.stem)


def check_comparable(docs: Sequence[tuple[Path, dict[str, Any]]]) -> None:
    """Refuse results whose protocol or data differ (genobench_hf.protocol), naming every difference."""
    lines = doc_differences([(p.name, d) for p, d in docs])
    if lines:
        raise ConfigError("cannot compare these results: " + "; ".join(lines))


def _site_table(path: Path, doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (task, dataset): key tuples -> (bits, credit, genome) of one model."""
    ref = doc.get("site_records")
    if not ref:
        raise ConfigError(f"{path}: no per-site records (results written before they existed); rerun it")
    table = read_records(path, ref).to_pydict()
    probs = np.stack([np.asarray(table[f"p_{b}"], dtype=np.float64) for b in "ACGT"], axis=1)
    truth = np.array(["ACGT".index(b) for b in table["true_base"]], dtype=np.int64)
    scores = site_scores(probs, truth)  # the results' own formula: probability floor, tied credit
    bits, credit = scores["bits"], scores["correct"]
    keys = list(zip(*(table[k] for k in KEY), strict=True))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for i, key in enumerate(keys):
        cell = out.setdefault((key[0], key[1]), {})
        cell[key] = (bits[i], credit[i], table["genome_id"][i])
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
    tables = [_site_table(p, d) for p, d in docs]
    cells = sorted(set.intersection(*(set(t) for t in tables)))
    out: dict[str, Any] = {"models": labels, "files": [str(p) for p, _ in docs], "cells": []}
    for cell in cells:
        common = sorted(set.intersection(*(set(t[cell]) for t in tables)))
        if not common:
            continue
        out["cells"].append(_compare_cell(cell, common, tables, labels, n_bootstrap=n_bootstrap, seed=seed))
    return out


def _compare_cell(cell: tuple[str, str], common: list[Any], tables: list[Any], labels: list[str], *,
                  n_bootstrap: int, seed: int) -> dict[str, Any]:  # fmt: skip
    bits = [np.array([t[cell][k][0] for k in common]) for t in tables]
    credit = [np.array([t[cell][k][1] for k in common]) for t in tables]
    genomes = [tables[0][cell][k][2] for k in common]
    n_genomes = len(set(genomes))
    groups = genomes if n_genomes >= MIN_GENOMES_FOR_CLUSTER else None
    means = [float(b.mean()) for b in bits]
    order = sorted(range(len(labels)), key=lambda i: means[i])
    best = order[0]
    ref = labels.index(REFERENCE) if REFERENCE in labels else 0
    pair = lambda i, j: paired_difference(bits[i], bits[j], groups=groups, n_bootstrap=n_bootstrap, seed=seed)  # noqa: E731
    models = []
    for i, label in enumerate(labels):
        models.append({
            "model": label, "bits_per_nt": means[i], "accuracy": float(credit[i].mean()),
            "vs_reference": pair(i, ref) if i != ref else None,
            "vs_best": pair(i, best) if i != best else None,
            "accuracy_vs_reference": paired_difference(credit[i], credit[ref], groups=groups,
                                                       n_bootstrap=n_bootstrap, seed=seed) if i != ref else None,
            # what reading two marginal intervals side by side would give (for contrast)
            "unpaired_halfwidth_vs_reference": None if i == ref else
            float(1.96 * np.sqrt(bits[i].var() / len(common) + bits[ref].var() / len(common))),
        })  # fmt: skip
    ranks = rank_groups(order, lambda i, j: pair(i, j), use_cluster=groups is not None)
    for i, r in ranks.items():
        models[i]["rank"] = r
    return {
        "task": cell[0], "dataset": cell[1], "n_sites": len(common), "n_genomes": n_genomes,
        "interval": "cluster bootstrap by genome" if groups is not None else
        f"bootstrap over sites (fewer than {MIN_GENOMES_FOR_CLUSTER} genomes: conditional on these genomes)",
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
    """One table per task x dataset: rank, bits, paired difference to the reference and to the best."""
    lines = []
    for cell in result["cells"]:
        lines += [f"### {cell['task']} / {cell['dataset']} (n = {cell['n_sites']} sites, "
                  f"{cell['n_genomes']} genomes; intervals: {cell['interval']})", "",
                  f"| rank | model | bits/nt | Δ vs {cell['reference']} (95% CI) | Δ vs best (95% CI) |",
                  "|--:|:--|--:|--:|--:|"]  # fmt: skip
        for m in sorted(cell["models"], key=lambda m: (m["rank"], m["bits_per_nt"])):
            lines.append(f"| {m['rank']} | {m['model']} | {m['bits_per_nt']:.3f} | {_diff(m['vs_reference'])} | "
                         f"{_diff(m['vs_best'])} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def _diff(d: dict[str, Any] | None) -> str:
    if d is None:
        return "–"
    ci = d["cluster_ci"] or d["ci"]
    return f"{d['difference']:+.4f} ({ci[0]:+.4f} to {ci[1]:+.4f})"
