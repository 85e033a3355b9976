"""Hub ``model-index`` entries from a results file, written into a model card's YAML front matter.

One result per evaluated (task, dataset): the task's main score, plus ``accuracy`` and ``bits_per_nt`` when
the entry holds them as numbers. Each result carries the protocol that decides its number
(``dataset.args``: window, sites, seed, split, frame rule, ...; ``dataset.revision`` is the data
fingerprint), and the export flags a protocol other than genobench's default, since the Hub shows these
results beside other models'. Skipped entries, and entries whose scores are all nested (probe curves,
transfer matrices), are left out and reported as omitted. Values are copied from the results file, never
recomputed.

The card is built with ``huggingface_hub``'s ``ModelCard``/``ModelCardData``/``EvalResult``: other metadata
and the Markdown body are kept, earlier genobench results are replaced and results from other sources are
kept. The card is written to a temporary file, parsed back and checked (``ModelCard.validate`` needs the
network, so it is not called) before it replaces the original.

``EvalResult`` only writes a ``source`` block when a URL is known (``source_name`` without ``source_url`` is
refused), and genobench has no canonical URL for a results file, so no ``source`` is written. genobench
results are recognised instead by their shape: a known task name on a genobench dataset
(``dataset.name`` = the dataset, ``dataset.type`` = that name or ``ORG/genobench-<name>``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from genobench_hf.errors import InputError
from genobench_hf.outcomes import task_info
from genobench_hf.protocol import default_protocol, differences, held_tasks, protocol_of, task_view
from genobench_hf.results import load_results

SOURCE_NAME = "genobench"
#: metrics copied besides the main score, when present as numbers
EXTRA_METRICS = ("accuracy", "bits_per_nt")
#: results-file key -> (model-index metric type, human-readable name)
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "bits_per_nt": ("bits_per_nucleotide", "bits per nucleotide"),
    "accuracy": ("accuracy", "accuracy"),
    "identity": ("identity", "span identity"),
    "spearman": ("spearman", "Spearman correlation"),
    "nucleotides_per_second": ("nucleotides_per_second", "nucleotides per second"),
    "gain_gap_bits": ("gain_gap_bits", "gain gap (bits)"),
    "half_effect_neurons": ("half_effect_neurons", "neurons for half the effect"),
}
#: genobench tasks that are Hub pipeline tasks; the others get a ``genobench-<task>`` type
PIPELINE_TASK_TYPES = {"imputation": "fill-mask", "next_nucleotide": "text-generation"}


@dataclass(frozen=True)
class Omitted:
    task: str
    dataset: str
    reason: str


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if value == value else None  # NaN is None


def _task_metadata() -> dict[str, Any]:
    """The built-in tasks by name: which rows of an existing card are genobench's (to replace them)."""
    from genobench_hf.tasks import available_tasks  # importing the package registers the tasks

    return available_tasks()


def task_type(task: str) -> str:
    """The model-index ``task.type`` of a genobench task.

    ``huggingface_hub`` merges rows with the same (task type, dataset, config, split, revision) into one
    result, so every task needs its own type: the two tasks that are Hub pipeline tasks keep those names
    (masked-site imputation = ``fill-mask``, next-nucleotide prediction = ``text-generation``, whatever
    the model's kind), every other task is ``genobench-<task>``.
    """
    return PIPELINE_TASK_TYPES.get(task) or "genobench-" + task.replace("_", "-")


def dataset_type(dataset: str, dataset_org: str | None) -> str:
    return f"{dataset_org.strip('/')}/genobench-{dataset}" if dataset_org else dataset


def build_eval_results(
    doc: dict[str, Any], *, dataset_org: str | None = None
) -> tuple[list[EvalResult], list[Omitted]]:
    """The ``EvalResult`` rows of a loaded results document, and the entries left out (with why)."""
    config = doc.get("config") or {}
    fingerprints = config.get("dataset_fingerprints") or {}
    protocol = protocol_of(doc)
    rows: list[EvalResult] = []
    omitted: list[Omitted] = []
    for task, per_dataset in (doc.get("results") or {}).items():
        if not isinstance(per_dataset, dict):
            continue
        main = task_info(doc, task).main_score  # as the results file records it: no task registry needed
        keys = ([main] if main is not None else []) + [k for k in EXTRA_METRICS if k != main]
        for dataset, entry in per_dataset.items():
            if not isinstance(entry, dict):
                omitted.append(Omitted(task, dataset, "not a metrics object"))
                continue
            if "skipped" in entry:
                omitted.append(Omitted(task, dataset, f"skipped: {entry['skipped']}"))
                continue
            metrics = [(k, _number(entry.get(k))) for k in keys]
            metrics = [(k, v) for k, v in metrics if v is not None]
            if not metrics:
                what = f"the main score {main!r}" if main is not None else "a score"
                omitted.append(Omitted(task, dataset, f"no number for {what} (nor accuracy, bits_per_nt)"))
                continue
            split = entry.get("split") if isinstance(entry.get("split"), str) else None
            split = split or "test"
            revision = fingerprints.get(dataset)
            args = {k: v for k, v in task_view(protocol, task).items() if v is not None}
            for key, value in metrics:
                metric_type, metric_name = METRIC_LABELS.get(key, (key, key.replace("_", " ")))
                rows.append(
                    EvalResult(
                        task_type=task_type(task),
                        task_name=task,
                        dataset_type=dataset_type(dataset, dataset_org),
                        dataset_name=dataset,
                        dataset_split=split,
                        dataset_revision=str(revision) if revision else None,
                        dataset_args=args,
                        metric_type=metric_type,
                        metric_name=metric_name,
                        metric_value=value,
                    )
                )
    seen: dict[tuple, str] = {}
    for row in rows:  # rows of two tasks under one identifier would be merged into one result
        if seen.setdefault(row.unique_identifier, str(row.task_name)) != row.task_name:
            raise InputError(f"tasks {seen[row.unique_identifier]!r} and {row.task_name!r} map to one result")
    return rows, omitted


def is_genobench_result(result: EvalResult, task_names: set[str]) -> bool:
    """Whether a model-index row was written by genobench (and is therefore replaced on re-export)."""
    if result.source_name == SOURCE_NAME:
        return True
    name = result.dataset_name
    return (
        result.task_name in task_names
        and isinstance(name, str)
        and (result.dataset_type == name or str(result.dataset_type).endswith(f"/genobench-{name}"))
    )


def _load_card(card_path: Path) -> ModelCard | None:
    if not card_path.is_file():
        return None
    try:
        return ModelCard.load(card_path)
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:  # bad YAML or model-index
        raise InputError(f"cannot parse the model card metadata: {exc}", path=card_path) from exc


@dataclass
class Plan:
    """What an export writes: the updated card, the genobench rows, the foreign rows kept, the omissions."""

    card: ModelCard
    rows: list[EvalResult]
    kept: list[EvalResult]
    omitted: list[Omitted]
    before: ModelCard | None  # the card as it was, None if it is created
    task_names: set[str]
    #: how the file's protocol differs from genobench's default one, which the rows will stand beside
    protocol_notes: list[str]


def _new_card(name: str, rows: list[EvalResult]) -> ModelCard:
    data = ModelCardData(model_name=name, tags=["genobench"], eval_results=rows)
    body = (
        f"\n# {name}\n\nEvaluation results on the genobench DNA language-model benchmark are in the "
        "`model-index` metadata of this card (written by `genobench export-model-index`).\n"
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def plan_export(
    results_path: str | Path,
    card_path: str | Path,
    *,
    model_name: str | None = None,
    dataset_org: str | None = None,
) -> Plan:
    """Everything :func:`export_model_index` writes, computed without writing (``--dry-run``)."""
    doc = load_results(results_path)
    rows, omitted = build_eval_results(doc, dataset_org=dataset_org)
    if not rows:
        raise InputError("no task/dataset entry with a score to export", path=results_path)
    task_names = set(_task_metadata()) | set(doc["results"])
    config_model = (doc.get("config") or {}).get("model")
    before = _load_card(Path(card_path))
    if before is None:
        card, kept = _new_card(model_name or str(config_model or "model"), rows), []
    else:
        card = ModelCard(before.content)  # a copy: ``before`` stays the original for the check
        kept = [r for r in card.data.eval_results or [] if not is_genobench_result(r, task_names)]
        card.data.model_name = model_name or card.data.model_name or str(config_model or "model")
        card.data.eval_results = kept + rows
    held = {t: ds for t, ds in held_tasks(doc).items() if any(r.task_name == t for r in rows)}
    notes = differences(
        [(Path(results_path).name, protocol_of(doc), held), ("the defaults", default_protocol(), held)]
    )
    return Plan(card, rows, kept, omitted, before, task_names, notes)


def _check_written(path: Path, plan: Plan) -> None:
    """Parse the written card back: the rows must come back equal, and everything else unchanged."""
    card = ModelCard.load(path)
    back = card.data.eval_results or []
    ours = [r for r in back if is_genobench_result(r, plan.task_names)]
    theirs = [r for r in back if not is_genobench_result(r, plan.task_names)]
    if not back or ours != plan.rows or theirs != plan.kept:
        raise InputError(
            f"the written model-index does not parse back to the exported results ({len(ours)} of "
            f"{len(plan.rows)} genobench rows, {len(theirs)} of {len(plan.kept)} other rows)",
            path=path,
        )
    if plan.before is not None:
        other = {k: v for k, v in card.data.to_dict().items() if k != "model-index"}
        orig = {k: v for k, v in plan.before.data.to_dict().items() if k != "model-index"}
        if other != orig or card.text != plan.before.text:
            raise InputError("writing the model-index changed other metadata or the card text", path=path)


def export_model_index(
    results_path: str | Path,
    card_path: str | Path,
    *,
    model_name: str | None = None,
    dataset_org: str | None = None,
) -> list[EvalResult]:
    """Write the ``model-index`` of ``results_path`` into the card at ``card_path``; return the rows written.

    The card is created if missing. Earlier genobench rows are replaced, rows of other sources, other
    metadata and the card text are kept. Raises :class:`~genobench_hf.errors.InputError` for a results
    file of another schema version or a card whose metadata does not parse. The new card is written to a
    temporary file and parsed back before it replaces the original.
    """
    card_path = Path(card_path)
    plan = plan_export(results_path, card_path, model_name=model_name, dataset_org=dataset_org)
    card_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{card_path.name}.", suffix=".tmp", dir=card_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        plan.card.save(tmp)
        _check_written(tmp, plan)
        os.chmod(tmp, card_path.stat().st_mode & 0o777 if card_path.exists() else 0o644)
        os.replace(tmp, card_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return plan.rows
