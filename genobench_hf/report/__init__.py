"""``genobench report``: results files -> a self-contained HTML report, a Markdown summary and figures.

Every number shown is read from the results files (each cell keeps its file and JSON path); the report
computes nothing that a results file does not already hold, apart from labelled presentational values and
the paired comparisons (rank groups, paired intervals) that :mod:`genobench_hf.report.rankings` computes
with :mod:`genobench_hf.compare` from the per-site records the files reference (checksum-verified).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genobench_hf.outputs import atomic_write_text
from genobench_hf.protocol import warn_differences
from genobench_hf.report.collect import Run, load_runs, protocol_notes


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    figures: list[Path]


def build_report(
    results: Sequence[str | Path], out_dir: str | Path, *, title: str = "genobench report"
) -> ReportFiles:
    """Write ``report.html``, ``report.md`` and ``figures/*.svg`` into ``out_dir``."""
    from genobench_hf.report.figures import build_figures
    from genobench_hf.report.html import render_html
    from genobench_hf.report.markdown import render_markdown
    from genobench_hf.report.sections import build_sections

    runs = load_runs(results)
    warn_differences(protocol_notes(runs), "the results in this report")
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures = build_figures(runs)
    written = []
    for fig in figures.values():
        path = fig_dir / f"{fig.name}.svg"
        atomic_write_text(path, fig.svg)  # a full disk leaves the old file, never half a new one
        written.append(path)
    sections = build_sections(runs, figures)
    html = out / "report.html"
    atomic_write_text(html, render_html(runs, sections, title))
    md = out / "report.md"
    atomic_write_text(md, render_markdown(runs, sections, title))
    return ReportFiles(html, md, written)


__all__ = ["ReportFiles", "Run", "build_report", "load_runs"]
