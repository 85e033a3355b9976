"""Tables of the detail sections: efficiency, transfer summary, conservation, probes, skipped entries and
provenance (the leaderboard and per-task tables are in tables.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genobench_hf.report.collect import Run, entries, fmt, is_skipped, number
from genobench_hf.report.tables import Cell, Column, Row, Table, mark_best, ratio_cell, value_cell

EFFICIENCY_KEYS = [
    ("nucleotides_per_second", "nt/s", True, 0),
    ("ms_per_kb", "ms per kb", False, 2),
    ("peak_memory_mb", "peak memory (MB)", False, 0),
    ("price_per_device_hour", "USD per device-hour", None, 2),
    ("cost_per_million_nt", "USD per Mnt", False, 4),
]
#: shown with significant figures: a cost of a few thousandths of a dollar must not read as 0.0000
SIGNIFICANT_KEYS = {"cost_per_million_nt": 3}


def efficiency_table(runs: Sequence[Run]) -> Table | None:
    """Throughput, memory and cost: the efficiency task's entries, else the run's own timing."""
    columns = [Column(label, "", hi) for _, label, hi, _ in EFFICIENCY_KEYS]
    rows: list[Row] = []
    for run in runs:
        sources: list[tuple[str, dict[str, Any], tuple[str, ...]]] = []
        eff = run.results.get("efficiency") or {}
        for dataset, entry in eff.items():
            if isinstance(entry, dict):
                sources.append((f"efficiency task, {dataset}", entry, ("results", "efficiency", dataset)))
        if not sources and run.doc.get("timing"):
            sources.append(("whole run (timing)", run.doc["timing"], ("timing",)))
        for scope, entry, path in sources:
            if is_skipped(entry):
                rows.append(
                    Row(
                        run.label, [], href=f"#{run.anchor}", skipped=str(entry["skipped"]), lead=[scope, "–"]
                    )
                )
                continue
            cells = [
                value_cell(entry, key, run.source(*path, key), d, SIGNIFICANT_KEYS.get(key))
                for key, _, _, d in EFFICIENCY_KEYS
            ]
            speed = number(entry.get("nucleotides_per_second"))
            if cells[1].value is None and speed:
                cells[1] = Cell(
                    fmt(1e6 / speed, 2),
                    1e6 / speed,
                    None,
                    run.source(*path, "nucleotides_per_second") + " (1e6 / nt/s)",
                )
            device = str(entry.get("device") or (run.doc.get("environment") or {}).get("device") or "–")
            rows.append(Row(run.label, cells, href=f"#{run.anchor}", lead=[scope, device]))
    if not rows:
        return None
    table = Table("efficiency", columns, rows, lead_labels=["measured by", "device"])
    mark_best(table)
    return table


def transfer_table(runs: Sequence[Run]) -> Table | None:
    """The transfer summaries (gain over chance in-domain vs off-diagonal, the gap and the ratio, each with
    its 95% bootstrap interval); a ratio that cannot be read (undefined in many resamples, or too wide) is
    marked "unstable": read the gap instead."""
    specs = [
        ("in_domain_gain", "in-domain gain (bits)", True),
        ("off_diagonal_gain", "off-diagonal gain (bits)", True),
        ("gap", "gap off − in (bits)", None),
        ("ratio", "off / in", True),
        ("mean_gain", "mean gain (bits)", True),
    ]
    rows = []
    for run in runs:
        summary = run.summaries.get("transfer")
        if not isinstance(summary, dict) or is_skipped(summary):
            continue
        cells = [
            (ratio_cell if k == "ratio" else value_cell)(summary, k, run.source("summaries", "transfer", k))
            for k, _, _ in specs
        ]
        rows.append(Row(run.label, cells, href=f"#{run.anchor}"))
    if not rows:
        return None
    table = Table("transfer-summary", [Column(label, "", hi) for _, label, hi in specs], rows)
    mark_best(table)
    return table


def conservation_table(runs: Sequence[Run]) -> Table | None:
    rows = []
    for run, dataset, entry in entries(runs, "conservation"):
        if is_skipped(entry):
            rows.append(
                Row(run.label, [], href=f"#{run.anchor}", skipped=str(entry["skipped"]), lead=[dataset])
            )
            continue
        bins = entry.get("accuracy_by_conservation") or []
        n = sum(int(b.get("n") or 0) for b in bins)
        src = run.source("results", "conservation", dataset, "spearman")
        cells = [
            Cell(fmt(n, 0), float(n)),
            Cell(fmt(entry.get("spearman")), number(entry.get("spearman")), None, src),
        ]
        rows.append(Row(run.label, cells, href=f"#{run.anchor}", lead=[dataset]))
    if not rows:
        return None
    return Table(
        "conservation", [Column("sites"), Column("Spearman ρ", "", True)], rows, lead_labels=["dataset"]
    )


def _interval_cell(diff: Any, src: str) -> Cell:
    """A paired difference with its interval; ``*`` when the interval excludes 0 (the paired verdict)."""
    if not isinstance(diff, dict) or diff.get("difference") is None:
        return Cell("–", None, None, src)
    ci = diff.get("cluster_ci") or diff.get("ci")
    mark = (
        "*"
        if (diff.get("cluster_excludes_zero") if diff.get("cluster_ci") else diff.get("excludes_zero"))
        else ""
    )
    text = f"{diff['difference']:+.3f}{mark}"
    return Cell(text, number(diff["difference"]), f"{ci[0]:+.3f}–{ci[1]:+.3f}" if ci else None, src)


def probe_table(runs: Sequence[Run]) -> Table | None:
    """Per model and probe: the layer chosen on validation genomes, its test accuracy and balanced accuracy
    with chance, the controls, and the paired differences to them (interval over genomes when there are
    >= 3 test genomes, else over nucleotides; ``*`` = the interval excludes 0)."""
    rows = []
    for task in ("aa_probe", "cds_probe"):
        for run, dataset, entry in entries(runs, task):
            if is_skipped(entry):
                rows.append(Row(run.label, [], href=f"#{run.anchor}", skipped=str(entry["skipped"]),
                                lead=[task, dataset]))  # fmt: skip
                continue
            src = run.source("results", task, dataset)
            controls, comps = entry.get("controls") or {}, entry.get("comparisons") or {}
            onehot, rand = controls.get("onehot") or {}, controls.get("random_init") or {}
            ctrl = controls.get("control_task") or {}
            sel = ctrl.get("selectivity")
            spread = ctrl.get("selectivity_range")
            cells = [
                Cell(str(entry.get("best_layer", "–")), None, None, src),
                Cell(fmt(entry.get("accuracy")), number(entry.get("accuracy")), None, src),
                Cell(fmt(entry.get("balanced_accuracy")), number(entry.get("balanced_accuracy")), None, src),
                Cell(fmt(entry.get("chance_balanced_accuracy")), None, None, src),
                Cell(fmt(onehot.get("accuracy")), number(onehot.get("accuracy")), None, src),
                _interval_cell(comps.get("model_minus_onehot"), src),
                Cell(fmt(rand.get("accuracy")), number(rand.get("accuracy")), None, src),
                _interval_cell(comps.get("model_minus_random_init"), src),
                Cell(fmt(sel), number(sel), f"{spread[0]:.3f}–{spread[1]:.3f}" if spread else None, src),
                Cell(str(len((entry.get("genomes") or {}).get("test") or [])), None, None, src),
            ]
            rows.append(Row(run.label, cells, href=f"#{run.anchor}", lead=[task, dataset]))
    if not rows:
        return None
    columns = [
        Column("layer (chosen on validation)"), Column("accuracy", "", True), Column("balanced acc.", "", True),
        Column("chance (balanced)"), Column("one-hot"), Column("model − one-hot (paired)"),
        Column("random init"), Column("model − random init (paired)"),
        Column("control-task selectivity (range over seeds)"), Column("test genomes"),
    ]  # fmt: skip
    return Table("probes", columns, rows, lead_labels=["probe", "dataset"])


def skipped_entries(runs: Sequence[Run]) -> list[tuple[str, str, str, str]]:
    """(model, task, dataset, reason) of every skipped entry, for one compact list."""
    out = []
    for run in runs:
        for task, per in run.results.items():
            for dataset, entry in (per or {}).items():
                if is_skipped(entry):
                    out.append((run.label, task, dataset, str(entry["skipped"])))
    return out


def provenance(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """What produced each file: model + revision, dataset fingerprints, versions, schema."""
    out = []
    for run in runs:
        cfg, env = run.config, run.doc.get("environment") or {}
        out.append(
            {
                "anchor": run.anchor,
                "label": run.label,
                "file": run.path.name,
                "sha256": run.sha256,
                "schema_version": run.doc.get("schema_version"),
                "model": cfg.get("model"),
                "revision": cfg.get("revision"),
                "fingerprint": cfg.get("model_fingerprint"),
                "kind": " / ".join(str(cfg[k]) for k in ("model_kind", "tokenizer_kind") if cfg.get(k)),
                "settings": {
                    k: cfg[k]
                    for k in ("window", "n_sites", "seed", "split", "dtype", "world_size")
                    if k in cfg
                },
                "datasets": cfg.get("dataset_fingerprints") or {},
                "genobench": env.get("genobench"),
                "python": env.get("python"),
                "device": env.get("device"),
                "platform": env.get("platform"),
                "packages": {k: v for k, v in (env.get("packages") or {}).items() if v},
                "wall_seconds": number((run.doc.get("timing") or {}).get("wall_seconds")),
                "note": cfg.get("fixture_note"),
            }
        )
    return out
