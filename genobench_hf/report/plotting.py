"""Shared plotting style and helpers of the report figures (matplotlib -> SVG text).

Readable in print and for colour-blind readers: the Okabe–Ito palette, and every model also differs by
marker and line style (bars by hatching), so no figure relies on colour alone. SVG ids are prefixed per
figure so several figures can share one HTML page; output is deterministic for the same input.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from genobench_hf.report.collect import Run, entries

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
GLYPHS = ("●", "■", "▲", "◆", "▼", "✚", "✖", "★")  # the markers, for text keyed to a model
MIN_BIN_SITES = 10  # reliability bins with fewer sites are too noisy to draw
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
GREY = "#555555"
RC = {
    "svg.fonttype": "none",  # text stays text: crisp, searchable, small
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "savefig.bbox": "tight",
}


@dataclass
class Figure:
    name: str  # file stem under figures/
    title: str
    svg: str
    caption: str


def style(i: int) -> dict[str, Any]:
    """Colour + marker + line style of the i-th model (cycled), for line plots."""
    return {
        "color": OKABE_ITO[i % len(OKABE_ITO)],
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
        "markersize": 4.5,
        "linewidth": 1.6,
    }


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def grid(n: int, width: float = 3.1, height: float = 2.6, max_cols: int = 4) -> tuple[Any, list[Any]]:
    plt = pyplot()
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def to_svg(fig: Any, name: str) -> str:
    plt = pyplot()
    buf = io.StringIO()
    with plt.rc_context({"svg.hashsalt": f"genobench-{name}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "genobench"})
    plt.close(fig)
    text = buf.getvalue()
    return prefix_ids(text[text.index("<svg") :], name)


def prefix_ids(svg: str, prefix: str) -> str:
    """Prefix every id and its references, so that figures inlined in one page never share an id."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if not ids:
        return svg

    def ref(match: re.Match[str]) -> str:
        name = match.group(2)
        return f"{match.group(1)}{prefix}-{name}" if name in ids else match.group(0)

    svg = re.sub(r'(\bid=")([^"]+)', lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
    return re.sub(r"((?:href=\"|url\()#)([^\")]+)", ref, svg)


def legend(fig: Any, axes: Sequence[Any]) -> None:
    """One legend for the whole figure, below the panels, from the first panel that has entries."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), bbox_to_anchor=(0.5, -0.02))
        fig.tight_layout(rect=(0, 0.1 if len(labels) <= 4 else 0.16, 1, 1))
    else:
        fig.tight_layout()


def site_task(runs: Sequence[Run], key: str) -> str | None:
    """The first nucleotide task whose entries carry ``key`` (imputation before the others)."""
    for task in ("imputation", "next_nucleotide", "imputation_dense"):
        if any(key in e for _, _, e in entries(runs, task)):
            return task
    return None


def shown_bins(bins: Sequence[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """(accuracy, lower, upper) per bin for a plot: NaN below MIN_BIN_SITES sites, else the accuracy with its
    Wilson 95 % interval computed from n and accuracy (presentational: the file holds n, not an interval)."""
    out = []
    for b in bins:
        n, acc = int(b.get("n") or 0), b.get("accuracy")
        if n < MIN_BIN_SITES or not isinstance(acc, int | float):
            out.append((math.nan, math.nan, math.nan))
            continue
        z = 1.959963984540054
        centre = (acc + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(acc * (1 - acc) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        out.append((float(acc), centre - half, centre + half))
    return out


def bin_ticks(bin_lists: Sequence[Sequence[dict[str, Any]]]) -> list[str]:
    """Tick labels "lower–upper" with the bin's n below (a range when the files disagree on n)."""
    longest = max(bin_lists, key=len)
    ticks = []
    for k, b in enumerate(longest):
        ns = sorted({int(bins[k].get("n") or 0) for bins in bin_lists if k < len(bins)})
        n = f"{ns[0]:,}" if len(ns) == 1 else f"{ns[0]:,}–{ns[-1]:,}"
        ticks.append(f"{b['lower']:.2g}–{b['upper']:.2g}\nn={n}")
    return ticks
