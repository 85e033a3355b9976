"""What a build reports: per-dataset counts, the split report, conservation tracks; the table the CLI prints.

Kept apart from ``build.py`` so that the CLI (``commands/datasets.py``) and ``BuildSummary.table`` share one
printer without ``data`` importing the commands layer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from genobench_hf.data.splits import SPLITS, SplitReport
from genobench_hf.task_config import is_reads


@dataclass
class DatasetSummary:
    name: str
    path: Path
    rows: dict[str, int]
    genomes: int
    bases: int
    cds: int = 0
    translation_failures: int = 0


@dataclass
class BuildSummary:
    out_dir: Path
    source: str
    datasets: list[DatasetSummary]
    report: SplitReport
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bases: int = 0  # nucleotides read (every genome once)
    conservation: bool = True  # False: built with --no-conservation (columns empty)
    tracks: dict[str, dict] = field(default_factory=dict)  # genome id -> track summary (+ "cached")
    conservation_seconds: float = 0.0  # wall time of the strain alignments that were not cached

    def table(self) -> str:
        """The summary the CLI prints (rows per split, bases, genomes, CDS, split report) as text."""
        import io

        buffer = io.StringIO()
        print_summary(self, Console(file=buffer, width=160, color_system=None))
        return buffer.getvalue()


def print_summary(summary: BuildSummary, console: Console | None = None) -> None:
    """Rows per split, bases, genomes and CDS per dataset, the split report and the conservation tracks."""
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"genobench datasets in {summary.out_dir} (from {summary.source})")
    for column in ("dataset", "genomes", "bases", *SPLITS, "CDS", "transl. fail"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for d in summary.datasets:
        cds = (f"{d.cds:,}", f"{d.translation_failures:,}") if not is_reads(d.name) else ("", "")
        table.add_row(d.name, str(d.genomes), f"{d.bases:,}", *(f"{d.rows[s]:,}" for s in SPLITS), *cds)
    console.print(table)
    console.print(summary.report.to_markdown())
    _print_conservation(summary, console)
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    rate = summary.bases / 1e6 / summary.seconds if summary.seconds else 0.0
    console.print(f"built in {summary.seconds:.1f} s ({rate:.1f} Mb/s)")


def _print_conservation(summary: BuildSummary, console: Console) -> None:
    """Per genome with strains: the track's coverage and conservation, and what the alignment cost."""
    if not summary.conservation:
        console.print("conservation: skipped (--no-conservation); the conservation columns are empty")
        return
    if not summary.tracks:
        console.print(
            "conservation: no genome has strains of its species; the conservation columns are empty"
        )
        return
    table = Table(title="conservation tracks (strains aligned to each genome)")
    for column in ("genome", "strains", "coverage", "all strains", "fully conserved", "mean", "time"):
        table.add_column(column, justify="left" if column == "genome" else "right")
    for gid, t in summary.tracks.items():
        values = [t["coverage"], t["coverage_all_strains"], t["share_conserved"], t["mean_conservation"]]
        time_text = "cached" if t["cached"] else f"{t['seconds']:.1f} s"
        table.add_row(
            gid, str(len(t["strains"])), *("n/a" if v is None else f"{v:.3f}" for v in values), time_text
        )
    console.print(table)
    console.print(f"strain alignment: {summary.conservation_seconds:.1f} s (not cached)")
