"""One dataset's linear probes: the genome split, the balanced samples, a probe per layer, and controls.

Why each piece (the Tang & Koo question "is the model better than one-hot?" rests on them):

* Genomes are split three ways (:func:`genobench_hf.probes.split_genomes`): test genomes lie outside the
  dataset's LM train split; the **validation** genomes choose the layer, and the one-hot control's flank,
  so no choice is made on the test genomes and model and controls get the same selection.
* Controls on the test genomes: one-hot windows (left-only for causal models, whose state has seen only
  the left; the two-sided one is reported beside it), a randomly initialised copy (its own layer chosen on
  validation), and Hewitt & Liang's **control task** on the chosen layer over ``probe_control_seeds``
  seeds: every input type (codon for ``aa``, centred 3-mer for ``cds``) gets a fixed random label;
  ``selectivity`` = accuracy - control-task accuracy, with its spread over seeds.
* Paired bootstrap intervals (:func:`genobench_hf.metrics.paired.paired_difference`) on the same held-out
  nucleotides for model - one-hot and model - random-init, over nucleotides and, with >= 3 test genomes,
  over genomes.
* Every probe reports accuracy, balanced accuracy and macro-F1 with its chance levels (majority share;
  1/K for balanced accuracy), auxiliary probes included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from genobench_hf.errors import ConfigError
from genobench_hf.metrics.paired import paired_difference
from genobench_hf.metrics.probes import neuron_selectivity, probe_scores
from genobench_hf.probes import (
    control_task_labels,
    fit_probe,
    input_types,
    onehot_features,
    row_labels,
    sample_windows,
    split_genomes,
)
from genobench_hf.representations import Layer, find_layers, nucleotide_states, select_layers
from genobench_hf.results import skipped
from genobench_hf.tasks.sampling import stable_seed

SIDES = ("train", "validation", "test")
_SCORES = ("accuracy", "balanced_accuracy", "macro_f1", "auroc", "majority_share", "chance_balanced_accuracy")


def random_init_copy(loaded: Any, seed: int) -> Any:
    """The same architecture with fresh weights (``model.__class__(model.config)``, seeded), same device."""
    model = loaded.model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed % 2**63)
        fresh = model.__class__(model.config)
    param = next(model.parameters())
    return dataclasses.replace(loaded, model=fresh.to(device=param.device, dtype=param.dtype).eval())


def evenly(layers: list[Layer], cap: int) -> list[Layer]:
    """At most ``cap`` layers, evenly spaced, first and last kept (bounds cost on deep models)."""
    if cap < 1:
        raise ConfigError(f"probe_max_layers must be >= 1, got {cap}")
    if len(layers) <= cap:
        return layers
    if cap == 1:
        return layers[-1:]
    picks = sorted({round(i * (len(layers) - 1) / (cap - 1)) for i in range(cap)})
    return [layers[i] for i in picks]


def _groups(frame: np.ndarray) -> list[str]:
    return ["non_coding" if f == 0 else str((int(f) - 1) % 3 + 1) for f in frame]


def _pick(rows: Sequence[dict[str, Any]]) -> int:
    """Index of the row with the best validation balanced accuracy (ties: the earliest)."""
    return int(np.argmax([r["validation"]["balanced_accuracy"] for r in rows]))


class ProbeSuite:
    """One dataset's probes (see the module docstring); ``spec`` is the task's :class:`ProbeSpec`."""

    def __init__(self, spec: Any, rows: list[dict[str, Any]], opts: dict[str, Any], *, seed: int,
                 dataset: str, window: int, batch_size: int, progress: bool, causal: bool = False) -> None:  # fmt: skip
        self.spec, self.opts, self.seed, self.causal = spec, opts, seed, causal
        self.window, self.batch_size, self.progress = window, batch_size, progress
        labels = {i: row_labels(r) for i, r in enumerate(rows)}
        self.genes_dropped = sum(lab.genes_dropped for lab in labels.values())
        self.split = split_genomes(
            {r["genome_id"]: str(r.get("split", "test")) for r in rows},
            validation_fraction=float(opts["probe_validation_fraction"]), seed=seed, dataset=dataset,
        )  # fmt: skip
        n = int(opts["probe_nucleotides"])
        n_test = round(n * float(opts["probe_test_fraction"]))
        n_val = round(n * float(opts["probe_validation_fraction"]))
        sizes = {"train": n - n_test - n_val, "validation": n_val, "test": n_test}
        self.parts = {}
        for side in SIDES:
            genomes = set(getattr(self.split, side))
            keep = {i: spec.sample_from(labels[i]) for i, r in enumerate(rows) if r["genome_id"] in genomes}
            self.parts[side] = sample_windows(rows, keep, spec.quotas(sizes[side]), window=window, seed=seed,
                                              key=f"{dataset}/{spec.name}/{side}")  # fmt: skip
            if len(self.parts[side]) == 0:
                raise ConfigError(f"no labelled nucleotides with a full window in the probe {side} genomes")
        self.frame = {
            s: np.array([labels[r].frame[p] for r, p in zip(part.rows, part.positions, strict=True)])
            for s, part in self.parts.items()
        }
        self.y = {s: spec.main(part.labels) for s, part in self.parts.items()}
        self.windows = [t for s in SIDES for t in self.parts[s].texts(rows, window)]
        self.offsets = [o for s in SIDES for o in self.parts[s].offsets()]
        self.n = [len(self.parts[s]) for s in SIDES]
        self.types = input_types(self.windows, self.offsets, np.concatenate([self.frame[s] for s in SIDES]),
                                 codon=spec.name == "aa")  # fmt: skip

    # -- features --------------------------------------------------------------------------------
    def states(self, loaded: Any, layers: Sequence[Layer], kind: Any, desc: str) -> dict[str, np.ndarray]:
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(self.windows), desc=desc, unit="win", leave=False)
        try:
            return nucleotide_states(loaded, self.windows, self.offsets, layers=layers, kind=kind,
                                     batch_size=self.batch_size, progress=bar.update if bar else None)  # fmt: skip
        finally:
            if bar is not None:
                bar.close()

    def _cut(self, x: np.ndarray) -> list[np.ndarray]:
        a, b = self.n[0], self.n[0] + self.n[1]
        return [x[:a], x[a:b], x[b:]]

    # -- probes ----------------------------------------------------------------------------------
    def _fit(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
        """Fit on the train rows of ``x``/``y``; predictions for validation and test."""
        xtr, xva, xte = self._cut(x)
        fit = fit_probe(
            xtr, self._cut(y)[0], self.parts["train"].genomes, np.vstack([xva, xte]), seed=self.seed
        )
        return fit, fit.predictions[: self.n[1]], fit.predictions[self.n[1] :]

    def probe(
        self, x: np.ndarray, *, aux: bool = True, neurons: bool = True
    ) -> tuple[dict[str, Any], np.ndarray]:
        """Scores on the test genomes (and validation, for selection); also the per-item correctness."""
        y = np.concatenate([self.y[s] for s in SIDES])
        fit, p_val, p_test = self._fit(x, y)
        pos = None
        if self.spec.binary and 1 in fit.classes:
            pos = fit.proba[self.n[1] :, list(fit.classes).index(1)]
        scores = probe_scores(self.y["test"], p_test, positive_scores=pos, groups=_groups(self.frame["test"]))
        val = probe_scores(self.y["validation"], p_val)
        out: dict[str, Any] = {k: scores[k] for k in _SCORES if k in scores}
        out["C"] = fit.C
        out["validation"] = {k: val[k] for k in ("accuracy", "balanced_accuracy")}
        out["by_codon_position"] = scores["by_group"]
        if aux:
            frames = np.concatenate([self.frame[s] for s in SIDES])
            _, _, a_test = self._fit(x, self.spec.aux(frames))
            a = probe_scores(self.spec.aux(self.frame["test"]), a_test)
            out[self.spec.aux_name] = {k: a[k] for k in _SCORES if k in a}
        if neurons:
            sel = neuron_selectivity(self._cut(x)[2], self.y["test"], class_names=list(self.spec.classes))
            out |= {k: sel[k] for k in ("n_selective_neurons", "n_neurons", "best_neuron")}
        return out, (p_test == self.y["test"]).astype(np.float64)

    def by_layer(
        self, states: dict[str, np.ndarray], layers: Sequence[Layer], **kw: Any
    ) -> tuple[list, list]:
        rows, correct = [], []
        for layer in layers:
            scores, ok = self.probe(states[layer.name], **kw)
            rows.append({"layer": layer.name, "index": layer.index, **scores})
            correct.append(ok)
        return rows, correct

    def _layers(self, loaded: Any, kind: Any) -> list[Layer]:
        layers = find_layers(loaded, kind)
        wanted = self.opts["probe_layers"]
        if wanted is not None:
            names = [w.strip() for w in wanted.split(",")] if isinstance(wanted, str) else list(wanted)
            layers = select_layers(layers, [int(w) if str(w).lstrip("-").isdigit() else w for w in names])
        return evenly(layers, int(self.opts["probe_max_layers"]))

    def onehot(self) -> tuple[dict[str, Any], np.ndarray]:
        """The one-hot control, its flank chosen on validation; left-only for causal models."""
        flanks = sorted({int(f) for f in self.opts["probe_onehot_flanks"]})
        tried = [
            self.probe(onehot_features(self.windows, self.offsets, f, left_only=self.causal)) for f in flanks
        ]
        k = _pick([t[0] for t in tried])
        out = {"flank": flanks[k], "left_only": self.causal, "flanks_tried": flanks, **tried[k][0]}
        if self.causal:
            two, _ = self.probe(onehot_features(self.windows, self.offsets, flanks[k]), neurons=False)
            out["two_sided"] = {k2: two[k2] for k2 in ("accuracy", "balanced_accuracy")}
        return out, tried[k][1]

    def control_task(self, x: np.ndarray, accuracy: float) -> dict[str, Any]:
        """Hewitt & Liang's control task on the chosen layer, over several seeds."""
        n_seeds = int(self.opts["probe_control_seeds"])
        if n_seeds < 1:
            raise ConfigError(f"probe_control_seeds must be >= 1, got {n_seeds}")
        accs = []
        for s in range(n_seeds):
            labels = control_task_labels(self.types, self.y["train"],
                                         seed=stable_seed(self.seed, "control_task", self.spec.name, str(s)))  # fmt: skip
            _, _, p_test = self._fit(x, labels)
            accs.append(float(np.mean(p_test == self._cut(labels)[2])))
        a = np.array(accs)
        return {
            "kind": "Hewitt & Liang control task: one random label per input type "
            + ("(codon)" if self.spec.name == "aa" else "(centred 3-mer)"),
            "seeds": n_seeds, "accuracies": accs, "accuracy": float(a.mean()), "std": float(a.std()),
            "selectivity": accuracy - float(a.mean()),
            "selectivity_range": [accuracy - float(a.max()), accuracy - float(a.min())],
        }  # fmt: skip

    def run(self, loaded: Any, kind: Any = None) -> dict[str, Any]:
        layers = self._layers(loaded, kind)
        states = self.states(loaded, layers, kind, f"{self.spec.name}_probe states")
        rows, correct = self.by_layer(states, layers)
        k = _pick(rows)
        best = rows[k]
        onehot, onehot_ok = self.onehot()
        controls: dict[str, Any] = {
            "onehot": onehot,
            "control_task": self.control_task(states[best["layer"]], best["accuracy"]),
        }
        del states
        random_init, random_ok = self._random_init(loaded, layers, kind)
        controls["random_init"] = random_init
        genomes = self.parts["test"].genomes
        opts = {"groups": genomes, "seed": stable_seed(self.seed, "probe_paired", self.spec.name)}
        comparisons = {"model_minus_onehot": paired_difference(correct[k], onehot_ok, **opts)}
        if random_ok is not None:
            comparisons["model_minus_random_init"] = paired_difference(correct[k], random_ok, **opts)
        return {
            "by_layer": rows,
            "best_layer": best["layer"],
            "best_index": best["index"],
            "layer_selection": "best validation balanced accuracy (validation genomes, not the test genomes)",
            **{key: best[key] for key in ("accuracy", "balanced_accuracy", "macro_f1")},
            "chance": best["majority_share"],
            "chance_balanced_accuracy": best["chance_balanced_accuracy"],
            "classes": list(self.spec.classes),
            "controls": controls,
            "comparisons": comparisons,
            "n_train": self.n[0],
            "n_validation": self.n[1],
            "n_test": self.n[2],
            "genomes": {side: getattr(self.split, side) for side in SIDES},
            "notes": self.split.notes,
            "genes_dropped_overlap": self.genes_dropped,
            "window": self.window,
            "probe": "L2 logistic regression, C by genome-grouped cross-validation (LogisticRegressionCV)",
        }

    def _random_init(self, loaded: Any, layers: Sequence[Layer], kind: Any) -> tuple[dict[str, Any], Any]:
        if not self.opts["probe_random_init"]:
            return skipped("probe_random_init is off"), None
        try:
            fresh = random_init_copy(loaded, stable_seed(self.seed, "random_init"))
        except Exception as exc:  # any constructor failure of third-party code: report, do not crash
            return skipped(f"cannot build a randomly initialised copy: {type(exc).__name__}: {exc}"), None
        states = self.states(fresh, layers, kind, f"{self.spec.name}_probe random-init states")
        rows, correct = self.by_layer(states, layers, aux=False)
        k = _pick(rows)
        return {"by_layer": rows, "best_layer": rows[k]["layer"],
                **{key: rows[k][key] for key in ("accuracy", "balanced_accuracy")}}, correct[k]  # fmt: skip
