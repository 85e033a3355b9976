"""Neuron importance by deletion: how much does imputation suffer when one neuron (or a group) is ablated?

Per dataset: a seeded sample of ``2 * importance_sites`` single-site ``imputation`` windows (the same
sampler as the imputation task), split into a **ranking** half and a **held-out** half. One layer of
:func:`~genobench_hf.representations.module_layers` (``importance_layer``: a name or index; default the
middle one); its channels are ablated one at a time (``importance_mode`` zero or mean, see
:mod:`genobench_hf.ablation`) on the ranking sites, at most ``importance_max_neurons`` of them (a seeded
subset beyond that). Why the rest:

* the curve (most important first, in groups of ``importance_fractions``) is scored on the held-out sites,
  so a ranking is not judged on the sites that produced it (``curve_ranking_sites`` shows the optimistic
  in-sample curve beside it);
* a random-subset curve (``importance_random_draws`` draws per fraction, held-out sites) is the baseline a
  real ranking must beat;
* per-neuron effects are noisy: ``split_half`` gives the correlation of effects measured on two halves of
  the ranking sites (and its Spearman-Brown reliability), and ``null`` the Gini and half-effect count that
  measurement noise of that size alone produces (noise sd from the halves' differences).

Each condition re-scores the sites by calling the scorer directly (``scorer.score``), never through
``context.score``, whose cache does not know about the hooks. Importance = increase in bits/nt.
Cost = (2 + neurons + fractions * (1 + random draws)) scorings of ``importance_sites`` windows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from genobench_hf import progress
from genobench_hf.ablation import MODES, ablate, channel_means, group_effects, n_channels, single_effects
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.metrics import site_scores
from genobench_hf.metrics.probes import importance_null, importance_summary, split_half_reliability
from genobench_hf.representations import module_layers, select_layers
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer, ScoreRequest
from genobench_hf.tasks.base import KINGDOMS, Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.sampling import sample_sites, stable_seed

PROTOCOL = "imputation"
DEFAULTS: dict[str, Any] = {
    "importance_sites": 128,
    "importance_layer": None,
    "importance_mode": "zero",
    "importance_max_neurons": 256,
    "importance_fractions": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    "importance_random_draws": 5,
}


def settings(context: Any) -> dict[str, Any]:
    """The ``importance_*`` knobs (TaskConfig.extra over DEFAULTS), checked."""
    cfg = context.config.task
    unknown = sorted(k for k in cfg.extra if k.startswith("importance_") and k not in DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown neuron importance option(s) {unknown}; known: {sorted(DEFAULTS)}")
    out = DEFAULTS | {k: v for k, v in cfg.extra.items() if k in DEFAULTS}
    if out["importance_mode"] not in MODES:
        raise ConfigError(f"importance_mode must be zero or mean, not {out['importance_mode']!r}")
    if cfg.limit:
        out["importance_sites"] = min(int(out["importance_sites"]), cfg.limit)
    if int(out["importance_sites"]) < 1 or int(out["importance_max_neurons"]) < 1:
        raise ConfigError("importance_sites and importance_max_neurons must be >= 1")
    return out


def measure_fn(
    scorer: Scorer, requests: list[ScoreRequest], batch_size: int, record: list[np.ndarray] | None = None
) -> Any:
    """A closure scoring ``requests`` afresh: accuracy and bits/nt (metrics' ``site_scores``); with
    ``record``, each call also appends its per-site bits there (for split-half estimates)."""
    targets = np.concatenate([r.targets for r in requests]).astype(np.int64)

    def measure() -> dict[str, float]:
        probs = np.concatenate([s.probs for s in scorer.score(requests, batch_size)])
        scores = site_scores(probs, targets)
        if record is not None:
            record.append(scores["bits"])
        return {"accuracy": float(scores["correct"].mean()), "bits_per_nt": float(scores["bits"].mean())}

    return measure


def random_curve(
    loaded: Any, layer: Any, channels: list[int], fractions: Any, measure: Any, baseline: dict[str, Any], *,
    draws: int, seed: int, mode: str, means: Any,
) -> list[dict[str, Any]]:  # fmt: skip
    """Bits lost when ``ceil(f * n)`` random channels are ablated, ``draws`` seeded draws per fraction."""
    rng = np.random.default_rng(seed)
    out = []
    for f in fractions:
        k = min(len(channels), int(np.ceil(float(f) * len(channels) - 1e-9)))
        deltas = []
        for _ in range(draws if 0 < k < len(channels) else 1):
            pick = rng.choice(channels, size=k, replace=False).tolist() if k else []
            with ablate(loaded.model, layer, pick, mode=mode, means=means):
                deltas.append(measure()["bits_per_nt"] - baseline["bits_per_nt"])
        d = np.array(deltas)
        out.append({"fraction": float(f), "n_ablated": k, "draws": len(deltas), "delta_bits_mean": float(d.mean()),
                    "delta_bits_min": float(d.min()), "delta_bits_max": float(d.max())})  # fmt: skip
    return out


@register_task
class NeuronImportance(Task):
    metadata = TaskMetadata(
        name="neuron_importance",
        description="Drop in imputation accuracy and bits/nt when single neurons of one layer (then the "
        "most important groups) are zeroed or mean-replaced via forward hooks; Gini and the number of "
        "neurons carrying half the effect.",
        category="representation",
        protocol=PROTOCOL,
        main_score="half_effect_neurons",
        higher_is_better=True,
        default_datasets=KINGDOMS,
        report="section",
    )

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        loaded = context.encoder
        if loaded is None:
            return skipped("neuron ablation needs a neural model (the Markov baseline has no neurons)")
        reason = scorer.skip_reason(PROTOCOL)  # type: ignore[arg-type]
        if reason:
            return skipped(reason)
        opts = settings(context)
        cfg = context.config
        rows = context.rows(dataset, cfg.task.split)
        windows = sample_sites(
            rows, n_sites=2 * int(opts["importance_sites"]), window=cfg.task.window, seed=cfg.task.seed,
            dataset=dataset, reads=is_reads(dataset), protocol=PROTOCOL,
        )  # fmt: skip
        if not windows:
            return skipped(f"no scorable windows of {cfg.task.window} nt in {dataset}/{cfg.task.split}")
        kind = getattr(scorer, "kind", None)
        try:
            layers = module_layers(loaded, kind)
        except ModelError as exc:
            return skipped(f"no accessible layers: {exc}")
        wanted = opts["importance_layer"]
        layer = layers[len(layers) // 2] if wanted is None else select_layers(layers, [wanted])[0]
        order = np.random.default_rng(stable_seed(cfg.task.seed, "importance_halves", dataset)).permutation(
            len(windows)
        )
        rank_w = [windows[i] for i in sorted(order[: len(windows) // 2])]
        held_w = [windows[i] for i in sorted(order[len(windows) // 2 :])]
        if not rank_w or not held_w:
            return skipped(f"neuron importance needs >= 2 scorable windows in {dataset}/{cfg.task.split}")
        # frames drawn from the window text (frame_seed None), as this task has always scored its sites
        as_requests = lambda ws: [replace(w, protocol=PROTOCOL, frame_seed=None) for w in ws]  # noqa: E731
        site_bits: list[np.ndarray] = []  # per-site bits of each ranking-site measurement, in call order
        measure = measure_fn(scorer, as_requests(rank_w), cfg.batch_size, record=site_bits)
        measure_held = measure_fn(scorer, as_requests(held_w), cfg.batch_size)
        width = n_channels(loaded, layer, kind)
        channels = list(range(width))
        cap = int(opts["importance_max_neurons"])
        if width > cap:
            rng = np.random.default_rng(stable_seed(cfg.task.seed, "importance_neurons", dataset))
            channels = sorted(rng.choice(width, size=cap, replace=False).tolist())
        mode = opts["importance_mode"]
        means = channel_means(loaded, layer, [w.window for w in rank_w], batch_size=cfg.batch_size, kind=kind) if mode == "mean" else None  # fmt: skip
        baseline, baseline_held = measure(), measure_held()
        bar = progress.work(len(channels), "neuron", note="neurons ablated one by one",
                            enabled=bool(getattr(cfg, "show_progress", False)))  # fmt: skip
        single = single_effects(loaded.model, layer, channels, measure, mode=mode, means=means,
                                progress=bar.update)  # fmt: skip
        summary = importance_summary(baseline, single, channels)
        halves = np.arange(len(site_bits[0])) % 2 == 0
        effects = np.array(site_bits[1 : 1 + len(channels)]) - site_bits[0]  # (neurons, sites)
        first, second = effects[:, halves].mean(axis=1), effects[:, ~halves].mean(axis=1)
        noise_sd = float(np.std(first - second) / 2) if len(channels) > 1 else 0.0
        fractions = opts["importance_fractions"]
        curve = group_effects(loaded.model, layer, summary["ranking"], fractions, measure_held, mode=mode,
                              means=means)  # fmt: skip
        in_sample = group_effects(loaded.model, layer, summary["ranking"], fractions, measure, mode=mode,
                                  means=means)  # fmt: skip
        rand = random_curve(loaded, layer, channels, fractions, measure_held, baseline_held,
                            draws=int(opts["importance_random_draws"]), mode=mode, means=means,
                            seed=stable_seed(cfg.task.seed, "importance_random", dataset))  # fmt: skip
        reliability = (
            split_half_reliability(first, second)
            if len(channels) >= 3
            else {"r": None, "spearman_brown": None}
        )
        return {
            "layer": layer.name,
            "layer_index": layer.index,
            "layers": [x.name for x in layers],
            "n_neurons": width,
            "n_evaluated": len(channels),
            "ablation": mode,
            "n_sites": len(rank_w),
            "n_sites_held_out": len(held_w),
            "window": cfg.task.window,
            "baseline": baseline,
            "baseline_held_out": baseline_held,
            "per_neuron": summary["per_neuron"],
            "ranking": summary["ranking"],
            "half_effect_neurons": summary["half_effect_neurons"],
            "gini": summary["gini"],
            "total_delta_bits": summary["total_delta_bits"],
            "split_half": reliability,
            "null": importance_null(
                noise_sd, len(channels), seed=stable_seed(cfg.task.seed, "importance_null")
            ),
            "curve": curve,
            "curve_sites": "held-out (not the sites that ranked the neurons)",
            "curve_ranking_sites": in_sample,
            "random_curve": rand,
            "split": cfg.task.split,
        }
