"""Probe tasks ``aa_probe`` (amino acid of the codon, codon position) and ``cds_probe`` (coding vs
non-coding, reading frame/strand): linear probes on every layer's per-nucleotide states, with controls.

Both tasks share one body (:class:`genobench_hf.tasks.probe_suite.ProbeSuite`, which documents the genome
split, layer selection on validation genomes, the controls and the paired intervals); they differ only
in their :class:`ProbeSpec`. Per dataset: the annotated genomes of every split (test genomes outside the
LM train split), ``probe_nucleotides`` class-balanced nucleotides (default 20,000; DESIGN.md), each in
its own centred window of ``--window`` nt; states of every layer (at most ``probe_max_layers``, evenly
spaced, first and last kept). Knobs are ``TaskConfig.extra`` keys named ``probe_*``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.probes import AA_CLASSES, FRAME_CLASSES, RowLabels
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer
from genobench_hf.tasks.base import KINGDOMS, Task, TaskMetadata, is_reads, register_task
from genobench_hf.tasks.probe_suite import ProbeSuite

COLUMNS = ("genome_id", "sequence", "chunk_start", "genetic_code", "cds")
DEFAULTS: dict[str, Any] = {
    "probe_nucleotides": 20_000,
    "probe_test_fraction": 0.3,
    "probe_validation_fraction": 0.15,
    "probe_layers": None,
    "probe_max_layers": 16,
    "probe_onehot_flanks": (4, 8, 16),
    "probe_control_seeds": 5,
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


def settings(context: Any) -> dict[str, Any]:
    """The ``probe_*`` knobs (TaskConfig.extra over DEFAULTS); ``--limit`` caps the sample."""
    cfg = context.config.task
    out = DEFAULTS | {k: v for k, v in cfg.extra.items() if k in DEFAULTS}
    unknown = sorted(k for k in cfg.extra if k.startswith("probe_") and k not in DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown probe option(s) {unknown}; known: {sorted(DEFAULTS)}")
    if cfg.limit:
        out["probe_nucleotides"] = min(int(out["probe_nucleotides"]), max(cfg.limit, 100))
    flanks = out["probe_onehot_flanks"]
    out["probe_onehot_flanks"] = tuple(
        int(f) for f in (flanks.split(",") if isinstance(flanks, str) else flanks)
    )
    if int(out["probe_nucleotides"]) < 100:
        raise ConfigError(f"probe_nucleotides must be >= 100, got {out['probe_nucleotides']}")
    return out


def annotated_rows(context: Any, dataset: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the annotated genomes of every split, each tagged with its ``split`` (the probe tests on
    genomes outside the LM train split and may fit on the others)."""
    splits = context.store.splits(dataset)
    out = []
    for split in splits:
        rows = context.store.rows(dataset, split, columns=COLUMNS)
        annotated = {r["genome_id"] for r in rows if r.get("cds")}
        out += [dict(r, split=split) for r in rows if r["genome_id"] in annotated]
    return out, list(splits)


class ProbeTask(Task):
    """Shared body of the probe tasks (see the module docstring)."""

    spec: ClassVar[ProbeSpec]

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        loaded = context.encoder
        if loaded is None:
            return skipped("probes need a neural model with hidden states (the Markov baseline has none)")
        if is_reads(dataset):
            return skipped("read datasets carry no CDS annotation; probes run on PRO, EUK and VIR")
        opts = settings(context)
        rows, splits = annotated_rows(context, dataset)
        genomes = sorted({r["genome_id"] for r in rows})
        if len(genomes) < 3:
            return skipped(
                f"{dataset} has {len(genomes)} annotated genome(s); probes need 3 "
                "(train, validation and test genomes)"
            )
        cfg = context.config
        try:
            suite = ProbeSuite(self.spec, rows, opts, seed=cfg.task.seed, dataset=dataset,
                               window=cfg.task.window, batch_size=cfg.batch_size,
                               progress=bool(getattr(cfg, "show_progress", False)),
                               causal=getattr(loaded, "model_kind", None) == "causal")  # fmt: skip
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
        default_datasets=KINGDOMS,
        report="section",
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
        default_datasets=KINGDOMS,
        report="section",
    )
