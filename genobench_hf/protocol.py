"""The protocol of a run, and where two results files were scored under different ones.

A score means something beside another only when both were computed on the same sites in the same way:
the same window, number of sites, seed, split, frame rule and data (dataset fingerprints), and for the
tasks that use them, the mask rate, span settings and task options. The runner records this description in
``config.protocol``; wherever results are put together (the report, ``genobench run``'s merged transfer
rows and its resume, the model-index export) :func:`differences` names what differs, per task, so that
results of other protocols are flagged, never silently ranked side by side.

Files written before the protocol was recorded carry the same settings at the top of ``config``; their
frame rule reads ``"not recorded"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from genobench_hf.scoring.frames import FRAME_RULE  # how fixed-frame tokenizers are framed (one source)
from genobench_hf.task_config import TaskConfig

__all__ = ["FRAME_RULE"]
NOT_RECORDED = "not recorded"
#: the keys every site-scoring task depends on
SITE_KEYS = ("window", "n_sites", "seed", "split", "frame_rule")
SPAN_KEYS = ("span_lengths", "span_flank", "n_spans", "n_genes", "max_gene_length")
#: task -> the ``TaskConfig.extra`` option names (prefixes) it reads
OPTION_PREFIXES = {
    "aa_probe": ("probe_",),
    "cds_probe": ("probe_",),
    "neuron_importance": ("importance_",),
    "efficiency": ("price_per_hour",),
}


def describe(task: TaskConfig, fingerprints: Mapping[str, str]) -> dict[str, Any]:
    """The protocol of a run with these task settings on data with these fingerprints (effective values:
    ``--limit`` caps the sites, spans and genes as the tasks do)."""
    limit = task.limit

    def capped(n: int) -> int:
        return min(n, limit) if limit else n

    return {
        "window": task.window,
        "n_sites": task.sites_per_dataset,
        "seed": task.seed,
        "split": task.split,
        "frame_rule": FRAME_RULE,
        "mask_rate": task.mask_rate,
        "span_lengths": list(task.span_lengths),
        "span_flank": task.span_flank,
        "n_spans": capped(task.n_spans),
        "n_genes": capped(task.n_genes),
        "max_gene_length": task.max_gene_length,
        "n_generations": capped(task.n_generations),
        "limit": limit,
        "options": {k: task.extra[k] for k in sorted(task.extra)},
        "dataset_fingerprints": dict(sorted(fingerprints.items())),
    }


def default_protocol() -> dict[str, Any]:
    """The protocol of ``genobench evaluate`` / ``genobench run`` with default settings (no data)."""
    return describe(TaskConfig(), {})


def protocol_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded protocol of a results document (older files: rebuilt from their ``config``)."""
    config = doc.get("config") or {}
    if isinstance(config.get("protocol"), dict):
        return dict(config["protocol"])
    legacy = {k: config[k] for k in (*SITE_KEYS, "mask_rate", *SPAN_KEYS, "limit") if k in config}
    if "n_sites" in legacy and legacy.get("limit"):
        legacy["n_sites"] = min(legacy["n_sites"], legacy["limit"])
    return legacy | {
        "frame_rule": NOT_RECORDED,
        "dataset_fingerprints": dict(config.get("dataset_fingerprints") or {}),
    }


def relevant_keys(task: str) -> tuple[str, ...]:
    """The protocol keys that decide ``task``'s numbers (unknown tasks: every key)."""
    if task == "span_imputation":
        return ("seed", "split", "frame_rule", *SPAN_KEYS)
    if task in ("aa_probe", "cds_probe", "neuron_importance"):
        return ("seed", "split", "limit", "frame_rule")
    if task == "efficiency":
        return ("window",)
    if task in ("gene_completion", "gene_completion_infill"):
        return ("seed", "split", "limit", "n_generations")
    if task == "imputation_dense":
        return (*SITE_KEYS, "mask_rate")
    if task in ("imputation", "next_nucleotide", "transfer", "rare_species", "conservation"):
        return SITE_KEYS
    return (*SITE_KEYS, "mask_rate", *SPAN_KEYS, "limit")


def task_view(protocol: Mapping[str, Any], task: str, datasets: Iterable[str] = ()) -> dict[str, Any]:
    """What of ``protocol`` matters for ``task``: its keys, its options, the fingerprints of ``datasets``."""
    out = {k: protocol.get(k, NOT_RECORDED) for k in relevant_keys(task)}
    prefixes = OPTION_PREFIXES.get(task, ())
    options = protocol.get("options") or {}
    out |= {f"options.{k}": v for k, v in options.items() if k.startswith(prefixes)}
    prints = protocol.get("dataset_fingerprints") or {}
    out |= {f"data {d}": prints[d] for d in datasets if d in prints}
    return out


def _show(value: Any) -> str:
    return "none" if value is None else str(value)


def differences(items: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Iterable[str]]]]) -> list[str]:
    """One line per protocol key on which results to be put together disagree, naming the tasks, the
    values and the files.

    ``items``: (label, protocol, {task: datasets it holds}). A key is compared among the items that hold
    the task (a dataset fingerprint among those that hold the dataset too); an option one side does not
    set reads "default".
    """
    found: dict[tuple[str, str], list[str]] = {}
    tasks = sorted({t for _, _, held in items for t in held})
    for task in tasks:
        holders = [(label, proto, set(held[task])) for label, proto, held in items if task in held]
        if len(holders) < 2:
            continue
        views = [(label, task_view(proto, task, datasets)) for label, proto, datasets in holders]
        keys = sorted({k for _, view in views for k in view})
        for key in keys:
            by_value: dict[str, list[str]] = {}
            for label, view in views:
                if key in view:
                    by_value.setdefault(_show(view[key]), []).append(label)
                elif key.startswith("options."):  # an option not given is the task's default
                    by_value.setdefault("default", []).append(label)
            if len(by_value) > 1:
                text = "; ".join(f"{v} in {', '.join(labels)}" for v, labels in by_value.items())
                found.setdefault((key, text), []).append(task)
    return [f"{', '.join(ts)}: {key} differs ({text})" for (key, text), ts in found.items()]


def held_tasks(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """{task: datasets with an entry that is not skipped} of a results document."""
    out: dict[str, list[str]] = {}
    for task, per_dataset in (doc.get("results") or {}).items():
        if isinstance(per_dataset, dict):
            names = [d for d, e in per_dataset.items() if isinstance(e, dict) and "skipped" not in e]
            if names:
                out[task] = names
    return out


def doc_differences(docs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """:func:`differences` of labelled results documents."""
    return differences([(label, protocol_of(doc), held_tasks(doc)) for label, doc in docs])


def warn_differences(lines: Sequence[str], where: str) -> None:
    """A visible warning per difference found where results are put together."""
    for line in lines:
        warnings.warn(f"genobench: {where} were scored under different protocols: {line}", stacklevel=2)
