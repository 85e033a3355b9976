"""Tables of the detail sections: efficiency, transfer summary, conservation, probes, skipped entries and
provenance (the leaderboard and per-task tables are in tables.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genobench_hf.report.collect import Run, entries, fmt, is_skipped, number
from genobench_hf.report.tables import Cell, Column, Row, Table, mark_best, value_cell

EFFICIENCY_KEYS = [
    ("nucleotides_per_second", "nt/s", True, 0),
    ("ms_per_kb", "ms per kb", False, 2),
    ("peak_memory_mb", "peak memory (MB)", False, 0),
    ("price_per_device_hour", "USD per device-hour", None, 2),
    ("cost_per_million_nt", "USD per Mnt", False, 4),
]


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
            cells = [value_cell(entry, key, run.source(*path, key), d) for key, _, _, d in EFFICIENCY_KEYS]
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
    """The transfer summaries (gain over chance in-domain vs off-diagonal) of every run that has one."""
    specs = [
        ("in_domain_gain", "in-domain gain (bits)", True),
        ("off_diagonal_gain", "off-diagonal gain (bits)", True),
        ("ratio", "off / in", True),
        ("mean_gain", "mean gain (bits)", True),
    ]
    rows = []
    for run in runs:
        summary = run.summaries.get("transfer")
        if not isinstance(summary, dict) or is_skipped(summary):
            continue
        cells = [
            Cell(fmt(summary.get(k)), number(summary.get(k)), None, run.source("summaries", "transfer", k))
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


def probe_table(runs: Sequence[Run]) -> Table | None:
    """Best layer per model and probe, with the controls (one-hot windows, random-init copy) beside it."""
    controls = sorted(
        {
            c
            for t in ("aa_probe", "cds_probe")
            for _, _, e in entries(runs, t)
            for c in (e.get("controls") or {})
        }
    )
    rows = []
    for task in ("aa_probe", "cds_probe"):
        for run, dataset, entry in entries(runs, task):
            if is_skipped(entry):
                rows.append(
                    Row(
                        run.label,
                        [],
                        href=f"#{run.anchor}",
                        skipped=str(entry["skipped"]),
                        lead=[task, dataset],
                    )
                )
                continue
            layers = [b for b in entry.get("by_layer") or [] if number(b.get("accuracy")) is not None]
            best = max(layers, key=lambda b: b["accuracy"]) if layers else {}
            src = run.source("results", task, dataset, "by_layer")
            cells = [
                Cell(str(best.get("layer", "–")), number(best.get("layer")), None, src),
                Cell(fmt(best.get("accuracy")), number(best.get("accuracy")), None, src),
            ]
            for c in controls:
                ctrl = (entry.get("controls") or {}).get(c)
                value = ctrl.get("accuracy") if isinstance(ctrl, dict) else ctrl
                cells.append(
                    Cell(fmt(value), number(value), None, run.source("results", task, dataset, "controls", c))
                )
            rows.append(Row(run.label, cells, href=f"#{run.anchor}", lead=[task, dataset]))
    if not rows:
        return None
    columns = [Column("best layer"), Column("best accuracy", "", True)] + [
        Column(f"{c} control") for c in controls
    ]
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
