"""Neuron importance by deletion: how much does imputation suffer when one neuron (or the top k) is ablated?

Per dataset: a fixed seeded sample of ``importance_sites`` single-site ``imputation`` windows (default 128,
the same sampler as the imputation task, so the same kind of sites); one layer of
:func:`~genobench_hf.representations.module_layers` (``importance_layer``: a name or index; default the
middle one); its channels ablated one at a time (``importance_mode`` zero or mean, see
:mod:`genobench_hf.ablation`), at most ``importance_max_neurons`` of them (default 256, a seeded subset
beyond that), then the most important first in groups of ``importance_fractions`` of the evaluated
neurons. Each condition re-scores the same sites by calling the scorer directly (``scorer.score``), never
through ``context.score``, whose cache does not know about the hooks. Importance = increase in bits/nt;
summaries (Gini, neurons carrying half the effect) come from :mod:`genobench_hf.metrics.probes`.

Cost = (1 + neurons + fractions) scorings of the sample: ~42 passes of 128 windows for a 32-channel model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genobench_hf import progress
from genobench_hf.ablation import MODES, channel_means, group_effects, n_channels, single_effects
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.metrics import site_scores
from genobench_hf.metrics.probes import importance_summary
from genobench_hf.representations import module_layers, select_layers
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer, ScoreRequest
from genobench_hf.tasks.base import Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.sampling import sample_sites, stable_seed

PROTOCOL = "imputation"
DEFAULTS: dict[str, Any] = {
    "importance_sites": 128,
    "importance_layer": None,
    "importance_mode": "zero",
    "importance_max_neurons": 256,
    "importance_fractions": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
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


def measure_fn(scorer: Scorer, requests: list[ScoreRequest], batch_size: int) -> Any:
    """A closure scoring ``requests`` afresh: accuracy and bits/nt (metrics' ``site_scores``)."""
    targets = np.concatenate([r.targets for r in requests]).astype(np.int64)

    def measure() -> dict[str, float]:
        probs = np.concatenate([s.probs for s in scorer.score(requests, batch_size)])
        scores = site_scores(probs, targets)
        return {"accuracy": float(scores["correct"].mean()), "bits_per_nt": float(scores["bits"].mean())}

    return measure


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
        default_datasets=("PRO", "EUK", "VIR"),
    )

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        loaded = getattr(scorer, "loaded", None) or getattr(getattr(context, "models", None), "loaded", None)
        if loaded is None:
            return skipped("neuron ablation needs a neural model (the Markov baseline has no neurons)")
        reason = scorer.skip_reason(PROTOCOL)  # type: ignore[arg-type]
        if reason:
            return skipped(reason)
        opts = settings(context)
        cfg = context.config
        rows = context.rows(dataset, cfg.task.split)
        windows = sample_sites(
            rows, n_sites=int(opts["importance_sites"]), window=cfg.task.window, seed=cfg.task.seed,
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
        requests = [ScoreRequest(w.window, w.sites, PROTOCOL, w.targets) for w in windows]  # type: ignore[arg-type]
        measure = measure_fn(scorer, requests, cfg.batch_size)
        width = n_channels(loaded, layer, kind)
        channels = list(range(width))
        cap = int(opts["importance_max_neurons"])
        if width > cap:
            rng = np.random.default_rng(stable_seed(cfg.task.seed, "importance_neurons", dataset))
            channels = sorted(rng.choice(width, size=cap, replace=False).tolist())
        mode = opts["importance_mode"]
        means = channel_means(loaded, layer, [w.window for w in windows], batch_size=cfg.batch_size, kind=kind) if mode == "mean" else None  # fmt: skip
        baseline = measure()
        bar = progress.work(len(channels), "neuron", note="neurons ablated one by one",
                            enabled=bool(getattr(cfg, "show_progress", False)))  # fmt: skip
        single = single_effects(loaded.model, layer, channels, measure, mode=mode, means=means,
                                progress=bar.update)  # fmt: skip
        summary = importance_summary(baseline, single, channels)
        curve = group_effects(loaded.model, layer, summary["ranking"], opts["importance_fractions"], measure,
                              mode=mode, means=means)  # fmt: skip
        return {
            "layer": layer.name,
            "layer_index": layer.index,
            "layers": [x.name for x in layers],
            "n_neurons": width,
            "n_evaluated": len(channels),
            "ablation": mode,
            "n_sites": len(requests),
            "window": cfg.task.window,
            "baseline": baseline,
            "per_neuron": summary["per_neuron"],
            "ranking": summary["ranking"],
            "half_effect_neurons": summary["half_effect_neurons"],
            "gini": summary["gini"],
            "total_delta_bits": summary["total_delta_bits"],
            "curve": curve,
            "split": cfg.task.split,
        }
