"""Transferability and rare-species tests, both built on the ``imputation`` protocol.

* ``transfer``: imputation on the test split of every dataset by models trained on each kingdom. For the
  Markov baseline the runner fits one chain per kingdom, so the whole matrix (train PRO/EUK/VIR x test
  datasets) comes from one run; a neural model gives its own row, labelled by the kingdom it was trained on
  (``genobench_trained_on`` in its config, a registry entry) or ``unknown`` for external models. Trained
  baselines' rows are merged into one matrix by :func:`merge_transfer_rows`. Summaries are computed on the
  gain over chance (2 - bits), never on raw bits.
* ``rare_species``: imputation on the ``rare`` split against the common ``test`` split of the same
  dataset; the gap is reported on the gain over chance.
"""

from __future__ import annotations

from typing import Any

from genobench_hf.metrics import rare_gap, transfer_summary
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer
from genobench_hf.tasks.base import DATASET_NAMES, KINGDOMS, Task, TaskMetadata, kingdom_of, register_task
from genobench_hf.tasks.imputation import BASELINE_KEYS, Imputation

CELL_KEYS = ("n_scored", "accuracy", "bits_per_nt", "gain_over_chance_bits", "ci", "gain_draws")
#: bootstrap draws kept per cell: enough for 95% intervals of gaps and ratios, small in the JSON
N_DRAWS = 200


def _cell(metrics: dict[str, Any]) -> dict[str, Any]:
    return metrics if "skipped" in metrics else {k: metrics[k] for k in CELL_KEYS if k in metrics}


def in_domain_map(trains: list[str], tests: list[str]) -> dict[str, list[str] | None]:
    """A kingdom's own datasets (PRO -> PRO, PRO_reads) are in-domain; ``unknown`` training has none."""
    out: dict[str, list[str] | None] = {}
    for train in trains:
        kingdoms = set(train.split("+"))  # registry models trained on several kingdoms: "EUK+PRO"
        # a known kingdom whose own datasets were not evaluated gets [] (known training, no in-domain cell)
        out[train] = [d for d in tests if kingdom_of(d) in kingdoms] if kingdoms <= set(KINGDOMS) else None
    return out


def matrix_summary(per_dataset: dict[str, Any]) -> dict[str, Any]:
    """``transfer_summary`` of ``results["transfer"]`` (skipped cells left out)."""
    matrix: dict[str, dict[str, float]] = {}
    draws: dict[str, dict[str, Any]] = {}
    for test, entry in per_dataset.items():
        for train, cell in entry.get("by_train", {}).items():
            if "bits_per_nt" in cell:
                matrix.setdefault(train, {})[test] = cell["bits_per_nt"]
                if cell.get("gain_draws") is not None:
                    draws.setdefault(train, {})[test] = cell["gain_draws"]
    if not matrix:
        return {"skipped": "no transfer cell was scored"}
    tests = sorted({t for row in matrix.values() for t in row})
    return transfer_summary(matrix, in_domain=in_domain_map(sorted(matrix), tests), draws=draws or None)


def merge_transfer_rows(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge the ``transfer`` results of several runs (one row each) into one matrix and its summary."""
    merged: dict[str, Any] = {}
    for doc in docs:
        for test, entry in doc["results"].get("transfer", {}).items():
            if "by_train" in entry:
                merged.setdefault(test, {"by_train": {}})["by_train"].update(entry["by_train"])
    return {"results": merged, "summary": matrix_summary(merged)}


@register_task
class Transfer(Task):
    metadata = TaskMetadata(
        name="transfer",
        description="Imputation on every dataset's test split by models trained on each kingdom; "
        "summary = off-diagonal vs in-domain gain over chance.",
        category="transfer",
        protocol="imputation",
        main_score="bits_per_nt",
        higher_is_better=False,
        report="section",
    )

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        split = context.config.task.split
        rows: dict[str, Any] = {}
        for train, row_scorer in context.models.transfer_rows(dataset).items():
            rows[train] = _cell(
                Imputation().score_split(row_scorer, dataset, context, split, with_baselines=False,
                                         draws=N_DRAWS, record=False)
            )  # fmt: skip
            rows[train]["model"] = row_scorer.name
        return {"split": split, "by_train": rows}

    def summarise(self, per_dataset: dict[str, Any]) -> dict[str, Any]:
        return matrix_summary(per_dataset)


@register_task
class RareSpecies(Task):
    metadata = TaskMetadata(
        name="rare_species",
        description="Imputation on genomes of phyla with a single genus in the corpus (split 'rare') vs the "
        "common test taxa; gap and ratio on the gain over chance.",
        category="transfer",
        protocol="imputation",
        main_score="gain_gap_bits",
        higher_is_better=False,
        default_datasets=DATASET_NAMES,
    )

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        task = Imputation()
        common = task.score_split(scorer, dataset, context, "test", draws=N_DRAWS, record=False)
        rare = task.score_split(scorer, dataset, context, "rare", draws=N_DRAWS, record=False)
        for name, part in (("test", common), ("rare", rare)):
            if "skipped" in part:
                return skipped(f"{name} split: {part['skipped']}")
        gap = rare_gap(common["bits_per_nt"], rare["bits_per_nt"], common_draws=common.get("gain_draws"),
                       rare_draws=rare.get("gain_draws"))  # fmt: skip
        out: dict[str, Any] = {
            "common": {k: common[k] for k in BASELINE_KEYS},
            "rare": {k: rare[k] for k in BASELINE_KEYS},
            "rare_genomes": sorted(rare.get("per_genome", {})),
            **gap,
            "gain_gap_bits": gap.get("gap"),
            "baselines": {},
        }
        for name, base in common.get("baselines", {}).items():
            other = rare.get("baselines", {}).get(name)
            if other and "bits_per_nt" in base and "bits_per_nt" in other:
                out["baselines"][name] = rare_gap(base["bits_per_nt"], other["bits_per_nt"])
        return out
