"""Genome conservation test: does a model find conserved positions more predictable?

Sites are drawn (seeded, an equal number per genome, ACGT positions with at least ``MIN_ALIGNED``
aligned strains, centred windows inside one row) from every genome of the dataset that carries the
conservation columns, in every split but ``train`` (Markov chains and genobench's own models are fitted
on train, so a genome there would be scored by a model that saw it; the build keeps genomes with strains
out of train, see ``data/splits.py``), and scored with the ``imputation`` protocol through
``context.score`` (so any scorer works, cached and sharded). Per genome, per species and pooled: Spearman
between log2 p(true base) and conservation, accuracy and bits by conservation bin; beside the Markov
baseline (same statistics), a codon-position baseline (1st/2nd > non-coding > 3rd, from the ``cds`` column,
or from long ORFs where a genome has no annotation) and chance.

This is within-species polymorphism (a few strains), not phyloP: not comparable with GUANinE's cons30.
``spearman`` is null when undefined: a constant score (chance, a uniform model) has no ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genobench_hf.contract import in_training_data
from genobench_hf.data.conservation import (
    CODON_3,
    CODON_12,
    MIN_ORF_CODONS,
    NON_CODING,
    cds_codon_classes,
    decode_row,
    orf_codon_classes,
)
from genobench_hf.data.conservation import COLUMNS as CONS_COLUMNS
from genobench_hf.errors import ConfigError
from genobench_hf.metrics import nucleotide_metrics, site_scores
from genobench_hf.metrics.conservation import conservation_correlation
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer, SiteScores
from genobench_hf.tasks.base import KINGDOMS, Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.sampling import Window, model_alphabet, quotas, stable_seed

MIN_ALIGNED = 2
SPLITS = ("validation", "test", "rare")  # never train: see the module docstring
NOT_SCORED = "train: the split Markov chains and genobench's models are fitted on"
COLUMNS = (
    "genome_id",
    "contig_id",
    "chunk_start",
    "sequence",
    "species",
    "genetic_code",
    "cds",
    *CONS_COLUMNS,
)
NOTE = (
    "conservation = share of aligned strains of the same species that agree with the reference base "
    "(within-species polymorphism, minimap2 asm alignment), not phyloP: not comparable with GUANinE's cons30"
)
#: codon-position baseline score: an a-priori order of expected constraint
CODON_SCORE = {CODON_12: 2.0, NON_CODING: 1.0, CODON_3: 0.0}
_ACGT = np.zeros(256, dtype=bool)
_ACGT[np.frombuffer(b"ACGT", dtype=np.uint8)] = True


def _fetch(context: Any, dataset: str) -> list[tuple[str, dict[str, Any]]] | str:
    """(split, row) for every row with a conservation track, or a reason why there is none."""
    splits = [s for s in context.store.splits(dataset) if s in SPLITS]
    out = []
    for split in splits:
        try:
            rows = context.store.rows(dataset, split, columns=COLUMNS)
        except ConfigError as exc:
            return f"{dataset} has no conservation columns ({exc}); rebuild the datasets with strains"
        out += [(split, r) for r in rows if r.get(CONS_COLUMNS[1]) is not None]
    if not out:
        return (
            f"no genome of {dataset} outside train has conservation data (no strains of its species in the "
            "corpus, or the dataset was built before genomes with strains were kept out of train)"
        )
    return out


def sample_conserved_sites(
    rows: Sequence[Mapping[str, Any]], *, n_sites: int, window: int, seed: int, dataset: str
) -> tuple[list[Window], np.ndarray]:
    """Centred imputation windows at ACGT sites with >= MIN_ALIGNED aligned strains, and their conservation.

    The quota is shared equally among the genomes that have at least one such site (a species with a
    single strain has none), so the total does not shrink because of them.
    """
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(str(row["genome_id"]), []).append(i)
    half = window // 2
    pools: dict[str, tuple[list[int], list[str], list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]] = {}
    for genome_id, members in groups.items():
        idx = sorted(members, key=lambda i: (str(rows[i].get("contig_id", "")), int(rows[i]["chunk_start"])))
        seqs, tracks, cands = [], [], []
        for i in idx:
            seq = model_alphabet(str(rows[i]["sequence"]))
            aligned, agree = decode_row(rows[i])  # type: ignore[misc]
            ok = _ACGT[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)] & (aligned >= MIN_ALIGNED)
            ok[:half] = False
            ok[max(0, len(seq) - (window - half) + 1) :] = False
            seqs.append(seq)
            tracks.append((aligned, agree))
            cands.append(np.flatnonzero(ok))
        if any(c.size for c in cands):
            pools[genome_id] = (idx, seqs, tracks, cands)
    windows: list[Window] = []
    cons: list[float] = []
    for genome_id, n in quotas(list(pools), n_sites).items():
        idx, seqs, tracks, cands = pools[genome_id]
        sizes = np.array([c.size for c in cands], dtype=np.int64)
        rng = np.random.default_rng(stable_seed(seed, "conservation", dataset, genome_id))
        picks = np.sort(rng.choice(int(sizes.sum()), size=min(n, int(sizes.sum())), replace=False))
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        which = np.searchsorted(offsets, picks, side="right") - 1
        for r, d in zip(which.tolist(), picks.tolist(), strict=True):
            pos = int(cands[r][d - offsets[r]])
            start = pos - half
            win = seqs[r][start : start + window]
            windows.append(Window.make(genome_id, idx[r], start, win, (half,)))
            aligned, agree = tracks[r]
            cons.append(int(agree[pos]) / int(aligned[pos]))
    return windows, np.asarray(cons, dtype=np.float64)


def codon_scores(
    rows: Sequence[Mapping[str, Any]], windows: Sequence[Window]
) -> tuple[np.ndarray, dict[str, str]]:
    """Codon class per site (from ``cds``, else long ORFs per genome) and the source used per genome."""
    annotated = {str(r["genome_id"]) for r in rows if r.get("cds")}
    classes: dict[int, np.ndarray] = {}
    out = np.zeros(len(windows), dtype=np.int8)
    for k, w in enumerate(windows):
        if w.row not in classes:
            row = rows[w.row]
            seq = str(row["sequence"])
            if w.genome_id in annotated:
                classes[w.row] = cds_codon_classes(row.get("cds") or [], int(row["chunk_start"]), len(seq))
            else:
                classes[w.row] = orf_codon_classes(seq, int(row.get("genetic_code") or 11))
        out[k] = classes[w.row][w.start + w.sites[0]]
    sources = {
        g: ("cds" if g in annotated else f"orf>={MIN_ORF_CODONS}codons")
        for g in {w.genome_id for w in windows}
    }
    return out, sources


def _model_stats(probs: np.ndarray, targets: np.ndarray, cons: np.ndarray, *, n_bootstrap: int = 0,
                 seed: int = 0) -> dict[str, Any]:  # fmt: skip
    s = site_scores(probs, targets)
    corr = conservation_correlation(-s["bits"], cons, correct=s["correct"], bits=s["bits"])
    full = nucleotide_metrics(probs, targets, n_bootstrap=n_bootstrap, seed=seed)
    out = {"n_sites": int(targets.size), "spearman": corr["spearman"]}
    out |= {k: full[k] for k in ("accuracy", "bits_per_nt", "gain_over_chance_bits")}
    if n_bootstrap:
        out["ci"] = full["ci"]
    return out | {"accuracy_by_conservation": corr["accuracy_by_conservation"]}


def _grouped(labels: np.ndarray, fn: Any) -> dict[str, Any]:
    return {str(g): fn(labels == g) for g in sorted(set(labels.tolist()))}


def _codon_baseline(
    classes: np.ndarray, cons: np.ndarray, genomes: np.ndarray, sources: dict[str, str]
) -> dict[str, Any]:
    score = np.vectorize(CODON_SCORE.get, otypes=[np.float64])(classes)

    def stats(mask: np.ndarray) -> dict[str, Any]:
        by_class = {}
        for name, c in (("codon_1_2", CODON_12), ("non_coding", NON_CODING), ("codon_3", CODON_3)):
            m = mask & (classes == c)
            by_class[name] = {
                "n": int(m.sum()),
                "mean_conservation": float(cons[m].mean()) if m.any() else None,
            }
        return {
            "spearman": conservation_correlation(score[mask], cons[mask])["spearman"],
            "by_class": by_class,
        }

    return stats(np.ones(cons.size, dtype=bool)) | {
        "score": "codon position 1/2 = 2, non-coding = 1, codon position 3 = 0",
        "source": sources,
        "by_genome": _grouped(genomes, stats),
    }


def _coverage(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Share of the genome's positions with >= 1 aligned strain, and of those, the share at 1.0."""
    tracks = [t for t in map(decode_row, rows) if t is not None]
    aligned = np.concatenate([a for a, _ in tracks])
    agree = np.concatenate([g for _, g in tracks])
    covered = aligned > 0
    share = float((agree[covered] == aligned[covered]).mean()) if covered.any() else None
    return {"positions": int(aligned.size), "coverage": float(covered.mean()), "share_conserved": share}


@register_task
class Conservation(Task):
    metadata = TaskMetadata(
        name="conservation",
        description="Spearman between log p(true base) under imputation and within-species conservation "
        "(strains aligned with minimap2), with accuracy by conservation bin; Markov, codon-position and "
        "chance baselines.",
        category="conservation",
        protocol="imputation",
        main_score="spearman",
        higher_is_better=True,
        default_datasets=KINGDOMS,
        reference="DESIGN.md 'Other defaults: Conservation'; not GUANinE cons30 (phyloP)",
        report="section",
    )

    def _score(
        self, context: Any, key: str, dataset: str, windows: list[Window], scorer: Scorer
    ) -> np.ndarray:
        scores: list[SiteScores] = context.score(key, dataset, windows, "imputation", scorer)
        return np.concatenate([s.probs for s in scores], axis=0)

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        if is_reads(dataset):
            return skipped("conservation is defined on genome positions; read datasets are not scored")
        reason = scorer.skip_reason("imputation")
        if reason:
            return skipped(reason)
        fetched = _fetch(context, dataset)
        if isinstance(fetched, str):
            return skipped(fetched)
        splits = {str(r["genome_id"]): s for s, r in fetched}
        rows = [r for _, r in fetched]
        cfg = context.config.task
        windows, cons = sample_conserved_sites(
            rows, n_sites=cfg.sites_per_dataset, window=cfg.window, seed=cfg.seed, dataset=dataset
        )
        if not windows:
            return skipped(f"no ACGT site with >= {MIN_ALIGNED} aligned strains and a {cfg.window} nt window")
        targets = np.array([w.targets[0] for w in windows], dtype=np.int64)
        genomes = np.array([w.genome_id for w in windows])
        species_of = {str(r["genome_id"]): str(r.get("species", "-")) for r in rows}
        species = np.array([species_of[g] for g in genomes.tolist()])
        probs = self._score(context, self.metadata.name, dataset, windows, scorer)

        def per(mask: np.ndarray) -> dict[str, Any]:
            return _model_stats(probs[mask], targets[mask], cons[mask])

        out: dict[str, Any] = {"note": NOTE, "protocol": "imputation", "window": cfg.window,
                               "min_aligned": MIN_ALIGNED, "n_genomes": len(set(genomes.tolist())),
                               "genomes_scored": {g: splits[g] for g in sorted(set(genomes.tolist()))},
                               "splits_not_scored": NOT_SCORED}  # fmt: skip
        out |= _model_stats(probs, targets, cons, n_bootstrap=cfg.n_bootstrap, seed=cfg.seed)
        out["by_genome"] = _grouped(genomes, per)
        for g, entry in out["by_genome"].items():
            first = next(r for r in rows if str(r["genome_id"]) == g)
            entry |= _coverage([r for r in rows if str(r["genome_id"]) == g])
            entry |= {"species": species_of[g], "split": splits[g], "in_training": in_training_data(scorer, splits[g]),
                      "strains": list(first.get("conservation_strains") or [])}  # fmt: skip
        out["by_species"] = _grouped(species, per)
        excluded = sorted(set(splits) - set(out["by_genome"]))
        if excluded:  # e.g. a species with a single strain: no site has n_aligned >= MIN_ALIGNED
            out["excluded_genomes"] = {
                g: f"no ACGT site with >= {MIN_ALIGNED} aligned strains" for g in excluded
            }
        classes, sources = codon_scores(rows, windows)
        out["baselines"] = {
            "chance": {"spearman": None, "accuracy": 0.25, "bits_per_nt": 2.0, "gain_over_chance_bits": 0.0},
            "codon_position": _codon_baseline(classes, cons, genomes, sources),
        }
        for name, baseline in context.baselines(dataset).items():
            if baseline is scorer or baseline.skip_reason("imputation") is not None:
                continue
            bprobs = self._score(context, f"{self.metadata.name}@{name}", dataset, windows, baseline)
            entry = _model_stats(bprobs, targets, cons) | {"model": baseline.name}
            entry["by_genome"] = {
                g: {k: v for k, v in _model_stats(bprobs[m], targets[m], cons[m]).items()
                    if k != "accuracy_by_conservation"} | {"in_training": in_training_data(baseline, splits[g])}
                for g, m in ((g, genomes == g) for g in sorted(set(genomes.tolist())))
            }  # fmt: skip
            out["baselines"][name] = entry
        return out
