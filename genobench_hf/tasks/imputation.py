"""Imputation test 1: single hidden nucleotides under the three protocols of DESIGN.md.

The three tasks differ only in their protocol and in how windows are cut; sampling, scoring, baselines and
metrics are shared here so that no formula or loop is written twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genobench_hf.metrics import nucleotide_metrics, site_scores
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer, SiteScores
from genobench_hf.scoring.frames import frame_summary
from genobench_hf.tasks.base import Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.sampling import Window, sample_dense_windows, sample_sites, stable_seed

#: the few numbers of a baseline that a report shows beside the model
BASELINE_KEYS = ("n_scored", "accuracy", "bits_per_nt", "gain_over_chance_bits", "ece")


def site_metrics(
    windows: list[Window], scores: list[SiteScores], *, n_bootstrap: int, seed: int
) -> dict[str, Any]:
    """Flatten per-window scores into per-site arrays and compute the shared metrics.

    A site covered by no token (its probabilities carry no information) is left out and counted
    (``n_uncovered``); the frame offsets of the others are recorded (``frame_offsets``)."""
    covered, frames = frame_summary(scores)
    if not covered.any():
        return skipped(f"none of the {covered.size} sites is covered by a token of the model") | frames
    probs = np.concatenate([s.probs for s in scores], axis=0)[covered]
    mass = np.concatenate([s.mass_outside for s in scores], axis=0)[covered]
    targets = np.array([t for w in windows for t in w.targets], dtype=np.int64)[covered]
    genome_ids = np.array([w.genome_id for w in windows for _ in w.sites], dtype=object)[covered].tolist()
    gc = np.array([w.gc for w in windows for _ in w.sites], dtype=np.float64)[covered]
    has_mass = bool(np.isfinite(mass).any())
    out = nucleotide_metrics(
        probs,
        targets,
        genome_ids=genome_ids,
        gc=gc,
        mass_outside=mass if has_mass else None,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    out["scoring_path"] = sorted({s.path for s in scores})
    out["approximate"] = any(s.approximate for s in scores)
    out["n_windows"] = len(windows)
    return out | frames


def gain_draws(bits: np.ndarray, n_draws: int, seed: int) -> list[float]:
    """Bootstrap draws of the mean gain over chance (2 - bits) over sites: ``n_draws`` resamples whose
    indices depend only on ``seed`` and the number of sites, so every model scored on the same sites
    gets the same resamples (paired draws: what gaps and ratios between rows are bootstrapped on)."""
    idx = np.random.default_rng(seed).integers(0, len(bits), size=(n_draws, len(bits)))
    return [round(float(v), 6) for v in 2.0 - np.asarray(bits, dtype=np.float64)[idx].mean(axis=1)]


class SiteTask(Task):
    """Shared body of the single-nucleotide tasks: sample, score (model + baselines), summarise."""

    def windows(self, rows: list[dict[str, Any]], dataset: str, context: Any) -> list[Window]:
        cfg = context.config.task
        return sample_sites(
            rows,
            n_sites=cfg.sites_per_dataset,
            window=cfg.window,
            seed=cfg.seed,
            dataset=dataset,
            reads=is_reads(dataset),
            protocol=str(self.metadata.protocol),
        )

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        return self.score_split(scorer, dataset, context, context.config.task.split)

    def score_split(
        self, scorer: Scorer, dataset: str, context: Any, split: str, *, with_baselines: bool = True,
        draws: int = 0, record: bool = True,
    ) -> dict[str, Any]:  # fmt: skip
        """Metrics of ``scorer`` on sites sampled from one split (other tasks reuse this, e.g. rare species);
        ``draws`` > 0 adds ``gain_draws`` (:func:`gain_draws`, seeded by dataset and split); ``record``
        logs the model's per-site records (genobench_hf.site_records) when the context keeps them."""
        protocol = str(self.metadata.protocol)
        reason = scorer.skip_reason(protocol)  # type: ignore[arg-type]
        if reason:
            return skipped(reason)
        cfg = context.config.task
        rows = context.rows(dataset, split)
        if not rows:
            return skipped(f"dataset {dataset} has no rows in split {split!r}")
        windows = self.windows(rows, dataset, context)
        if not windows:
            return skipped(f"no scorable windows of {cfg.window} nt in {dataset}/{split}")
        key = f"{self.metadata.name}.{split}"
        scores = context.score(key, dataset, windows, protocol, scorer)
        if record:
            context.record_sites(self.metadata.name, dataset, split, windows, scores, rows)
        out = site_metrics(windows, scores, n_bootstrap=cfg.n_bootstrap, seed=cfg.seed)
        if draws:
            probs = np.concatenate([s.probs for s in scores], axis=0)
            targets = np.array([t for w in windows for t in w.targets], dtype=np.int64)
            bits = site_scores(probs, targets)["bits"]
            out["gain_draws"] = gain_draws(bits, draws, stable_seed(cfg.seed, "gain_draws", dataset, split))
        out["split"] = split
        out["window"] = cfg.window
        out["baselines"] = {"chance": {"accuracy": 0.25, "bits_per_nt": 2.0, "gain_over_chance_bits": 0.0}}
        for name, baseline in (context.baselines(dataset) if with_baselines else {}).items():
            if baseline is scorer or baseline.skip_reason(protocol) is not None:  # type: ignore[arg-type]
                continue
            base_scores = context.score(f"{key}@{name}", dataset, windows, protocol, baseline)
            full = site_metrics(windows, base_scores, n_bootstrap=0, seed=cfg.seed)
            out["baselines"][name] = {k: full[k] for k in BASELINE_KEYS} | {"model": baseline.name}
        return out


@register_task
class Imputation(SiteTask):
    metadata = TaskMetadata(
        name="imputation",
        description="One hidden nucleotide at the centre of a fixed window; p(x_i | rest of window), "
        "two-sided for every model kind.",
        category="imputation",
        protocol="imputation",
        main_score="bits_per_nt",
        higher_is_better=False,
    )


@register_task
class NextNucleotide(SiteTask):
    metadata = TaskMetadata(
        name="next_nucleotide",
        description="Left context only: p(x_i | x_<i) over the window ending at the site "
        "(the quantity of compression and of the Markov anchor).",
        category="imputation",
        protocol="next_nucleotide",
        main_score="bits_per_nt",
        higher_is_better=False,
    )


@register_task
class ImputationDense(SiteTask):
    metadata = TaskMetadata(
        name="imputation_dense",
        description="A mask rate r hides a set S of sites per window at once; p(x_i | x_-S). Masked LMs "
        "with single-nucleotide or fixed-frame k-mer tokens only; skipped elsewhere.",
        category="imputation",
        protocol="imputation_dense",
        main_score="bits_per_nt",
        higher_is_better=False,
    )

    def windows(self, rows: list[dict[str, Any]], dataset: str, context: Any) -> list[Window]:
        cfg = context.config.task
        return sample_dense_windows(
            rows,
            n_sites=cfg.sites_per_dataset,
            window=cfg.window,
            mask_rate=cfg.mask_rate,
            seed=cfg.seed,
            dataset=dataset,
            reads=is_reads(dataset),
        )
