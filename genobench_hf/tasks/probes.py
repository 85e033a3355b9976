"""Probe tasks ``aa_probe`` (amino acid of the codon, codon position) and ``cds_probe`` (coding vs
non-coding, reading frame/strand): linear probes on every layer's per-nucleotide states, with controls.

Both tasks share this body; they differ only in their :class:`ProbeSpec`. Per dataset: annotated genomes
of the evaluated split (all splits when it has fewer than two), held out by genome; ``probe_nucleotides``
class-balanced nucleotides (default 20,000; DESIGN.md), each in its own centred window of ``--window``
nt; states of every layer (at most ``probe_max_layers``, evenly spaced, first and last kept); an L2
logistic probe per layer (:func:`genobench_hf.probes.fit_probe`). Controls: a probe on one-hot windows of
+-``probe_onehot_flank`` nt (no LM), the same probes on a randomly initialised copy of the model
(``model.__class__(model.config)``, seeded), and shuffled training labels on the best layer (Hewitt &
Liang's control: accuracy should fall to chance; ``selectivity`` = best accuracy - control accuracy).
Knobs are ``TaskConfig.extra`` keys named ``probe_*``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from genobench_hf import progress
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.metrics.probes import neuron_selectivity, probe_scores
from genobench_hf.probes import (
    AA_CLASSES,
    FRAME_CLASSES,
    RowLabels,
    Sample,
    fit_probe,
    onehot_features,
    row_labels,
    sample_windows,
    split_genomes,
)
from genobench_hf.representations import Layer, find_layers, nucleotide_states, select_layers
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer
from genobench_hf.tasks.base import Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.sampling import stable_seed

COLUMNS = ("genome_id", "sequence", "chunk_start", "genetic_code", "cds")
SPLITS = ("train", "validation", "test", "rare")
DEFAULTS: dict[str, Any] = {
    "probe_nucleotides": 20_000,
    "probe_test_fraction": 0.3,
    "probe_layers": None,
    "probe_max_layers": 16,
    "probe_onehot_flank": 16,
    "probe_random_init": True,
}


@dataclass(frozen=True)
class ProbeSpec:
    """What one probe task predicts: sampling classes and quotas, the main and auxiliary labels."""

    name: str
    classes: tuple[str, ...]  # main label names
    aux_name: str
    aux_classes: tuple[str, ...]
    sample_from: Callable[[RowLabels], np.ndarray]  # per-position class used for balanced sampling
    quotas: Callable[[int], dict[int, int]]
    main: Callable[[np.ndarray], np.ndarray]  # sampled class -> main label
    aux: Callable[[np.ndarray], np.ndarray]  # frame class -> auxiliary label
    binary: bool


def _frame_of(labels: dict[int, RowLabels], sample: Sample) -> np.ndarray:
    return np.array([labels[r].frame[p] for r, p in zip(sample.rows, sample.positions, strict=True)])


AA_SPEC = ProbeSpec(
    "aa", tuple(AA_CLASSES), "codon_position", ("1", "2", "3"),
    sample_from=lambda lab: lab.aa, quotas=lambda n: dict.fromkeys(range(21), n // 21),
    main=lambda c: c, aux=lambda frame: (frame - 1) % 3, binary=False,
)  # fmt: skip
CDS_SPEC = ProbeSpec(
    "cds", ("non_coding", "coding"), "frame_strand", FRAME_CLASSES,
    sample_from=lambda lab: lab.frame, quotas=lambda n: {0: n // 2, **dict.fromkeys(range(1, 7), n // 12)},
    main=lambda c: (c > 0).astype(np.int64), aux=lambda frame: frame.astype(np.int64), binary=True,
)  # fmt: skip


def _groups(frame: np.ndarray) -> list[str]:
    return ["non_coding" if f == 0 else str((int(f) - 1) % 3 + 1) for f in frame]


def settings(context: Any) -> dict[str, Any]:
    """The ``probe_*`` knobs (TaskConfig.extra over DEFAULTS); ``--limit`` caps the sample."""
    cfg = context.config.task
    out = DEFAULTS | {k: v for k, v in cfg.extra.items() if k in DEFAULTS}
    unknown = sorted(k for k in cfg.extra if k.startswith("probe_") and k not in DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown probe option(s) {unknown}; known: {sorted(DEFAULTS)}")
    if cfg.limit:
        out["probe_nucleotides"] = min(int(out["probe_nucleotides"]), max(cfg.limit, 100))
    if int(out["probe_nucleotides"]) < 100:
        raise ConfigError(f"probe_nucleotides must be >= 100, got {out['probe_nucleotides']}")
    return out


def annotated_rows(context: Any, dataset: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of annotated genomes of the evaluated split; all splits when it holds fewer than two."""
    store = getattr(context, "store", None)

    def fetch(split: str) -> list[dict[str, Any]]:
        rows = (
            store.rows(dataset, split, columns=COLUMNS) if store is not None else context.rows(dataset, split)
        )
        annotated = {r["genome_id"] for r in rows if r.get("cds")}
        return [r for r in rows if r["genome_id"] in annotated]

    split = context.config.task.split
    rows = fetch(split)
    if len({r["genome_id"] for r in rows}) >= 2:
        return rows, [split]
    splits = store.splits(dataset) if store is not None and hasattr(store, "splits") else list(SPLITS)
    return [r for s in splits for r in fetch(s)], list(splits)


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


class ProbeSuite:
    """One dataset's probes: the sample, the splits, and a probe per layer (+ controls)."""

    def __init__(self, spec: ProbeSpec, rows: list[dict[str, Any]], opts: dict[str, Any], *, seed: int,
                 dataset: str, window: int, batch_size: int, progress: bool) -> None:  # fmt: skip
        self.spec, self.rows, self.opts, self.seed = spec, rows, opts, seed
        self.window, self.batch_size, self.progress = window, batch_size, progress
        labels = {i: row_labels(r) for i, r in enumerate(rows)}
        self.genes_dropped = sum(lab.genes_dropped for lab in labels.values())
        self.train_genomes, self.test_genomes = split_genomes(
            [r["genome_id"] for r in rows], test_fraction=float(opts["probe_test_fraction"]), seed=seed,
            dataset=dataset,
        )  # fmt: skip
        n = int(opts["probe_nucleotides"])
        n_test = round(n * float(opts["probe_test_fraction"]))
        parts = []
        for side, genomes, size in (
            ("train", self.train_genomes, n - n_test),
            ("test", self.test_genomes, n_test),
        ):
            keep = {i: spec.sample_from(labels[i]) for i, r in enumerate(rows) if r["genome_id"] in genomes}
            parts.append(sample_windows(rows, keep, spec.quotas(size), window=window, seed=seed,
                                        key=f"{dataset}/{spec.name}/{side}"))  # fmt: skip
        self.train, self.test = parts
        if len(self.train) == 0 or len(self.test) == 0:
            raise ConfigError("no labelled nucleotides with a full window on one side of the genome split")
        self.frame_train, self.frame_test = _frame_of(labels, self.train), _frame_of(labels, self.test)
        self.y_train, self.y_test = spec.main(self.train.labels), spec.main(self.test.labels)
        self.windows = self.train.texts(rows, window) + self.test.texts(rows, window)
        self.offsets = self.train.offsets() + self.test.offsets()

    # -- features --------------------------------------------------------------------------------
    def states(self, loaded: Any, layers: Sequence[Layer], kind: Any, desc: str) -> dict[str, np.ndarray]:
        bar = progress.work(len(self.windows), "win", note=desc, enabled=bool(self.progress))
        return nucleotide_states(loaded, self.windows, self.offsets, layers=layers, kind=kind,
                                 batch_size=self.batch_size, progress=bar.update)  # fmt: skip

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[: len(self.train)], x[len(self.train) :]

    # -- probes ----------------------------------------------------------------------------------
    def probe(
        self, x: np.ndarray, *, aux: bool = True, neurons: bool = True, shuffle: bool = False
    ) -> dict[str, Any]:
        """Probe scores on the held-out genomes for the features ``x`` (train rows first)."""
        xtr, xte = self._split(x)
        y = self.y_train
        if shuffle:
            y = np.random.default_rng(stable_seed(self.seed, "shuffled_labels", self.spec.name)).permutation(
                y
            )
        fit = fit_probe(xtr, y, self.train.genomes, xte, seed=self.seed)
        pos = fit.proba[:, list(fit.classes).index(1)] if self.spec.binary and 1 in fit.classes else None
        scores = probe_scores(
            self.y_test, fit.predictions, positive_scores=pos, groups=_groups(self.frame_test)
        )
        out: dict[str, Any] = {k: scores[k] for k in ("accuracy", "macro_f1", "auroc") if k in scores}
        out["C"] = fit.C
        out["by_codon_position"] = scores["by_group"]
        if aux:
            a = fit_probe(xtr, self.spec.aux(self.frame_train), self.train.genomes, xte, seed=self.seed)
            aux_scores = probe_scores(self.spec.aux(self.frame_test), a.predictions)
            out[self.spec.aux_name] = {"accuracy": aux_scores["accuracy"], "macro_f1": aux_scores["macro_f1"]}
        if neurons:
            names = list(self.spec.classes)
            sel = neuron_selectivity(xte, self.y_test, class_names=names)
            out["n_selective_neurons"] = sel["n_selective_neurons"]
            out["n_neurons"] = sel["n_neurons"]
            out["best_neuron"] = sel["best_neuron"]
        return out

    def by_layer(
        self, states: dict[str, np.ndarray], layers: Sequence[Layer], **kw: Any
    ) -> list[dict[str, Any]]:
        return [
            {"layer": layer.name, "index": layer.index, **self.probe(states[layer.name], **kw)}
            for layer in layers
        ]

    def run(self, loaded: Any, kind: Any = None) -> dict[str, Any]:
        layers = find_layers(loaded, kind)
        wanted = self.opts["probe_layers"]
        if wanted is not None:
            names = [w.strip() for w in wanted.split(",")] if isinstance(wanted, str) else list(wanted)
            layers = select_layers(layers, [int(w) if str(w).lstrip("-").isdigit() else w for w in names])
        layers = evenly(layers, int(self.opts["probe_max_layers"]))
        states = self.states(loaded, layers, kind, f"{self.spec.name}_probe states")
        rows = self.by_layer(states, layers)
        best = max(rows, key=lambda r: r["accuracy"])
        onehot = onehot_features(self.windows, self.offsets, int(self.opts["probe_onehot_flank"]))
        controls: dict[str, Any] = {
            "onehot": {"flank": int(self.opts["probe_onehot_flank"]), **self.probe(onehot)},
            "shuffled_labels": {"layer": best["layer"], **self.probe(states[best["layer"]], aux=False,
                                                                      neurons=False, shuffle=True)},
        }  # fmt: skip
        controls["shuffled_labels"]["selectivity"] = (
            best["accuracy"] - controls["shuffled_labels"]["accuracy"]
        )
        del states
        controls["random_init"] = self._random_init(loaded, layers, kind)
        return {
            "by_layer": rows,
            "best_layer": best["layer"],
            "best_index": best["index"],
            "accuracy": best["accuracy"],
            "chance": float(np.max(np.bincount(self.y_test)) / len(self.y_test)),
            "classes": list(self.spec.classes),
            "controls": controls,
            "n_train": len(self.train),
            "n_test": len(self.test),
            "genomes": {"train": self.train_genomes, "test": self.test_genomes},
            "genes_dropped_overlap": self.genes_dropped,
            "window": self.window,
            "probe": "L2 logistic regression, C by genome-grouped cross-validation (LogisticRegressionCV)",
        }

    def _random_init(self, loaded: Any, layers: Sequence[Layer], kind: Any) -> dict[str, Any]:
        if not self.opts["probe_random_init"]:
            return skipped("probe_random_init is off")
        try:
            fresh = random_init_copy(loaded, stable_seed(self.seed, "random_init"))
        except Exception as exc:  # any constructor failure of third-party code: report, do not crash
            return skipped(f"cannot build a randomly initialised copy: {type(exc).__name__}: {exc}")
        states = self.states(fresh, layers, kind, f"{self.spec.name}_probe random-init states")
        rows = self.by_layer(states, layers, aux=False)
        best = max(rows, key=lambda r: r["accuracy"])
        return {"by_layer": rows, "accuracy": best["accuracy"], "best_layer": best["layer"]}


class ProbeTask(Task):
    """Shared body of the probe tasks (see the module docstring)."""

    spec: ClassVar[ProbeSpec]

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        loaded = getattr(getattr(context, "models", None), "loaded", None)
        if loaded is None:
            return skipped("probes need a neural model with hidden states (the Markov baseline has none)")
        if is_reads(dataset):
            return skipped("read datasets carry no CDS annotation; probes run on PRO, EUK and VIR")
        opts = settings(context)
        rows, splits = annotated_rows(context, dataset)
        genomes = sorted({r["genome_id"] for r in rows})
        if len(genomes) < 2:
            return skipped(f"{dataset} has {len(genomes)} annotated genome(s); holding out by genome needs 2")
        cfg = context.config
        try:
            suite = ProbeSuite(self.spec, rows, opts, seed=cfg.task.seed, dataset=dataset,
                               window=cfg.task.window, batch_size=cfg.batch_size,
                               progress=bool(getattr(cfg, "show_progress", False)))  # fmt: skip
            out = suite.run(loaded, getattr(scorer, "kind", None))
        except ModelError as exc:
            return skipped(f"no accessible layers: {exc}")
        out["splits"] = splits
        return out


@register_task
class AminoAcidProbe(ProbeTask):
    spec = AA_SPEC
    metadata = TaskMetadata(
        name="aa_probe",
        description="Linear probe from a nucleotide's hidden state (each layer) to the amino acid of its "
        "codon (21 classes) and to codon position, held out by genome; controls: one-hot windows, "
        "random-init copy, shuffled labels; single-neuron selectivity (AUROC >= 0.9).",
        category="representation",
        protocol=None,
        main_score="accuracy",
        higher_is_better=True,
        default_datasets=("PRO", "EUK", "VIR"),
    )


@register_task
class CodingProbe(ProbeTask):
    spec = CDS_SPEC
    metadata = TaskMetadata(
        name="cds_probe",
        description="Linear probe from a nucleotide's hidden state (each layer) to coding vs non-coding "
        "(accuracy, AUROC) and to reading frame/strand, held out by genome, with the same controls.",
        category="representation",
        protocol=None,
        main_score="accuracy",
        higher_is_better=True,
        default_datasets=("PRO", "EUK", "VIR"),
    )
