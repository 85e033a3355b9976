"""Report figures with matplotlib, as SVG text (inlined in the HTML, saved for the README gallery).

One function per figure; each returns None when no results file holds its data, so the report can say
the section is missing instead of drawing an empty plot. Style and colour-blind-safe cues: plotting.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from genobench_hf.report.collect import Run, datasets_of, entries, is_skipped, number
from genobench_hf.report.plotting import (
    GLYPHS,
    GREY,
    HATCHES,
    MIN_BIN_SITES,
    OKABE_ITO,
    RC,
    Figure,
    bin_ticks,
    grid,
    legend,
    pyplot,
    shown_bins,
    site_task,
    style,
    to_svg,
)


def calibration(runs: Sequence[Run]) -> Figure | None:
    task = site_task(runs, "reliability")
    if task is None:
        return None
    datasets = [
        d
        for d in datasets_of(runs, task)
        if any(d == ds and "reliability" in e for _, ds, e in entries(runs, task))
    ]
    with pyplot().rc_context(RC):
        fig, axes = grid(len(datasets))
        for ax, dataset in zip(axes, datasets, strict=True):
            ax.plot([0, 1], [0, 1], color=GREY, linewidth=0.9, linestyle=":", label="perfect calibration")
            top = 0.5  # zoom to the confidences models actually reach (DNA models rarely pass 0.7)
            for run in runs:
                bins = [
                    b
                    for b in ((run.results.get(task) or {}).get(dataset) or {}).get("reliability") or []
                    if (b.get("n") or 0) >= MIN_BIN_SITES
                ]
                if bins:
                    top = max(top, *(max(b["mean_confidence"], b["accuracy"]) for b in bins))
                    ece = run.results[task][dataset].get("ece")
                    ax.plot(
                        [b["mean_confidence"] for b in bins],
                        [b["accuracy"] for b in bins],
                        label=run.label,
                        **style(run.index),
                    )
                    if number(ece) is not None:
                        ax.text(
                            0.97,
                            0.04 + 0.085 * (len(runs) - 1 - run.index),
                            f"ECE {GLYPHS[run.index % len(GLYPHS)]} {ece:.3f}",
                            transform=ax.transAxes,
                            ha="right",
                            va="bottom",
                            fontsize=7.5,
                            color=style(run.index)["color"],
                        )
            ax.set(
                title=dataset,
                xlabel="confidence (top-label)",
                ylabel="accuracy",
                xlim=(0.2, min(1.0, top + 0.05)),
                ylim=(0.0, min(1.0, top + 0.05)),
            )
        legend(fig, axes)
        svg = to_svg(fig, "calibration")
    return Figure(
        "calibration",
        f"Calibration ({task})",
        svg,
        f"Reliability diagram of {task}: accuracy against mean confidence per bin (15 equal-width bins; bins with fewer than {MIN_BIN_SITES} sites left out); ECE per model in the corner. On the dotted diagonal a model's confidence means what it says.",
    )


def _category_plot(
    name: str,
    title: str,
    caption: str,
    runs: Sequence[Run],
    task: str,
    key: str,
    xlabel: str,
    ylabel: str,
    chance: float | None,
) -> Figure | None:
    """Per-dataset panels of per-bin accuracy (GC bins, conservation bins), one line per model."""
    datasets = [
        d for d in datasets_of(runs, task) if any(ds == d and key in e for _, ds, e in entries(runs, task))
    ]
    if not datasets:
        return None
    with pyplot().rc_context(RC):
        fig, axes = grid(len(datasets))
        for ax, dataset in zip(axes, datasets, strict=True):
            all_bins = []
            for run in runs:
                bins = ((run.results.get(task) or {}).get(dataset) or {}).get(key) or []
                if not bins:
                    continue
                all_bins.append(bins)
                ys, lo, hi = zip(*shown_bins(bins), strict=True)
                st = style(run.index)
                ax.plot(range(len(bins)), ys, label=run.label, **st)
                ax.fill_between(range(len(bins)), lo, hi, color=st["color"], alpha=0.15, linewidth=0)
            if chance is not None:
                ax.axhline(chance, color=GREY, linestyle=":", linewidth=0.9, label=f"chance ({chance:g})")
            ticks = bin_ticks(all_bins)
            ax.set_xticks(range(len(ticks)), ticks, rotation=30, fontsize=7)
            ax.set(title=dataset, xlabel=xlabel, ylabel=ylabel)
        legend(fig, axes)
        svg = to_svg(fig, name)
    return Figure(name, title, svg, caption)


def accuracy_by_gc(runs: Sequence[Run]) -> Figure | None:
    task = site_task(runs, "accuracy_by_gc")
    if task is None:
        return None
    return _category_plot(
        "accuracy_by_gc",
        f"Accuracy by GC content ({task})",
        "Accuracy per GC bin of the window around the site (the site itself excluded); shaded: Wilson 95 % "
        f"interval from the bin's n (n under each bin). Bins with fewer than {MIN_BIN_SITES} sites are left out "
        "(gaps).",
        runs,
        task,
        "accuracy_by_gc",
        "GC fraction of the window",
        "accuracy",
        0.25,
    )


def edge_distance(runs: Sequence[Run]) -> Figure | None:
    task = "span_imputation"
    datasets = [
        d
        for d in datasets_of(runs, task)
        if any(ds == d and "accuracy_by_edge_distance" in e for _, ds, e in entries(runs, task))
    ]
    if not datasets:
        return None
    with pyplot().rc_context(RC):
        fig, axes = grid(len(datasets))
        top = 0
        for ax, dataset in zip(axes, datasets, strict=True):
            for run in runs:
                pts = ((run.results.get(task) or {}).get(dataset) or {}).get(
                    "accuracy_by_edge_distance"
                ) or []
                pts = [p for p in pts if p.get("n") and number(p.get("accuracy")) is not None]
                if pts:
                    top = max(top, *(p["min_distance"] for p in pts))
                    st = style(run.index) | {"markersize": 2.5, "markevery": 5}
                    ax.plot(
                        [p["min_distance"] for p in pts], [p["accuracy"] for p in pts], label=run.label, **st
                    )
            ax.axhline(0.25, color=GREY, linestyle=":", linewidth=0.9, label="chance (0.25)")
            ax.set(title=dataset, xlabel="nt from the nearest span edge", ylabel="identity", ylim=(0, 1))
        legend(fig, axes)
        svg = to_svg(fig, "edge_distance")
    return Figure(
        "edge_distance",
        "Span infill: accuracy by distance from the span edge",
        svg,
        f"Identity of infilled nucleotides by their distance to the nearest known context (spans of every length pooled); the last point pools distances beyond {top - 1 if top else '50'} nt.",
    )


def transfer(runs: Sequence[Run]) -> Figure | None:
    """Heatmap of gain over chance (2 - bits): rows = (model, train set), columns = test sets."""
    rows: list[tuple[str, dict[str, float]]] = []
    tests = datasets_of(runs, "transfer")
    for run in runs:
        trains: dict[str, dict[str, float]] = {}
        for test, entry in (run.results.get("transfer") or {}).items():
            for train, cell in ((entry or {}).get("by_train") or {}).items():
                bits = number((cell or {}).get("bits_per_nt"))
                if bits is not None:
                    trains.setdefault(train, {})[test] = bits
        many = sum(1 for r in runs if r.results.get("transfer")) > 1
        rows += [(f"{run.label} · {t}" if many else t, v) for t, v in trains.items()]
    if not rows:
        return None
    import numpy as np

    gain = np.array([[2.0 - row[t] if t in row else np.nan for t in tests] for _, row in rows])
    with pyplot().rc_context(RC | {"axes.grid": False}):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(1.2 * len(tests) + 2.4, 0.55 * len(rows) + 1.4))
        vmax = max(0.05, float(np.nanmax(gain))) if np.isfinite(gain).any() else 1.0
        im = ax.imshow(gain, cmap="viridis", vmin=min(0.0, float(np.nanmin(gain))), vmax=vmax, aspect="auto")
        for i, (_, row) in enumerate(rows):
            for j, t in enumerate(tests):
                if t in row:
                    light = (gain[i, j] - im.norm.vmin) / (im.norm.vmax - im.norm.vmin or 1) > 0.6
                    ax.text(
                        j,
                        i,
                        f"{gain[i, j]:.3f}\n({row[t]:.3f} b)",
                        ha="center",
                        va="center",
                        fontsize=7.5,
                        color="black" if light else "white",
                    )
                else:
                    ax.text(j, i, "–", ha="center", va="center", color=GREY)
        ax.set_xticks(range(len(tests)), tests)
        ax.set_yticks(range(len(rows)), [r for r, _ in rows])
        ax.set(xlabel="test dataset", ylabel="trained on")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        fig.colorbar(im, ax=ax, label="gain over chance (bits)", shrink=0.9)
        fig.tight_layout()
        svg = to_svg(fig, "transfer")
    return Figure(
        "transfer",
        "Transfer matrix",
        svg,
        "Gain over chance (2 − bits/nt, higher is better) of imputation on each test dataset by a model trained on each kingdom; cell text: gain and, in brackets, bits/nt from the results file.",
    )


def conservation(runs: Sequence[Run]) -> Figure | None:
    """Grouped bars (hatched per model) of accuracy by within-species conservation bin."""
    datasets = [
        d
        for d in datasets_of(runs, "conservation")
        if any(ds == d and "accuracy_by_conservation" in e for _, ds, e in entries(runs, "conservation"))
    ]
    if not datasets:
        return None
    with pyplot().rc_context(RC | {"axes.grid.axis": "y"}):
        fig, axes = grid(len(datasets), width=4.2, max_cols=3)
        for ax, dataset in zip(axes, datasets, strict=True):
            present = [
                r
                for r in runs
                if "accuracy_by_conservation" in ((r.results.get("conservation") or {}).get(dataset) or {})
            ]
            width = 0.8 / max(1, len(present))
            for k, run in enumerate(present):
                entry = run.results["conservation"][dataset]
                bins = entry["accuracy_by_conservation"]
                xs = [i - 0.4 + width * (k + 0.5) for i in range(len(bins))]
                rho = number(entry.get("spearman"))
                label = run.label + (f" (ρ = {rho:.2f})" if rho is not None else "")
                c = OKABE_ITO[run.index % len(OKABE_ITO)]
                ys, lo, hi = zip(*shown_bins(bins), strict=True)
                ax.bar(
                    xs,
                    ys,
                    width,
                    yerr=[
                        [y - v for y, v in zip(ys, lo, strict=True)],
                        [v - y for y, v in zip(ys, hi, strict=True)],
                    ],
                    error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "black"},
                    color=c,
                    edgecolor="black",
                    linewidth=0.5,
                    hatch=HATCHES[run.index % len(HATCHES)],
                    label=label,
                )
            ticks = bin_ticks(
                [r.results["conservation"][dataset]["accuracy_by_conservation"] for r in present]
            )
            ax.set_xticks(range(len(ticks)), ticks, rotation=30, fontsize=7)
            ax.axhline(0.25, color=GREY, linestyle=":", linewidth=0.9, label="chance (0.25)")
            ax.set(title=dataset, xlabel="conservation (share of strains agreeing)", ylabel="accuracy")
        legend(fig, axes)
        svg = to_svg(fig, "conservation")
    return Figure(
        "conservation",
        "Accuracy by conservation",
        svg,
        f"Accuracy per bin of within-species conservation (share of aligned strains that agree with the reference; unaligned positions left out); whiskers: Wilson 95 % interval from the bin's n (n under each bin); bins with fewer than {MIN_BIN_SITES} sites have no bar. ρ: Spearman correlation from the results file.",
    )


def probes(runs: Sequence[Run]) -> Figure | None:
    panels = [
        (t, d)
        for t in ("aa_probe", "cds_probe")
        for d in datasets_of(runs, t)
        if any(ds == d and e.get("by_layer") for _, ds, e in entries(runs, t))
    ]
    if not panels:
        return None
    with pyplot().rc_context(RC):
        fig, axes = grid(len(panels), width=3.6)
        for ax, (task, dataset) in zip(axes, panels, strict=True):
            chance = None
            for run in runs:
                entry = (run.results.get(task) or {}).get(dataset) or {}
                layers = [b for b in entry.get("by_layer") or [] if number(b.get("accuracy")) is not None]
                if layers:
                    ax.plot(
                        [b["layer"] for b in layers],
                        [b["accuracy"] for b in layers],
                        label=run.label,
                        **style(run.index),
                    )
                chance = number(entry.get("chance")) if chance is None else chance
            if chance is not None:
                ax.axhline(chance, color=GREY, linestyle=":", linewidth=0.9, label="chance")
            ax.set(
                title=f"{task.replace('_', ' ')} · {dataset}",
                xlabel="layer (0 = embeddings)",
                ylabel="probe accuracy",
            )
        legend(fig, axes)
        svg = to_svg(fig, "probes")
    return Figure(
        "probes",
        "Probes by layer",
        svg,
        "Held-out accuracy of a linear probe on each layer's output (aa: amino acid of the codon; cds: coding vs non-coding). Controls are in the table below.",
    )


def _percent(x: float, _pos: int) -> str:
    """Tick labels of ablated fractions: 0, 1%, 10%, 100%."""
    return f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.1%}"


def neuron_importance(runs: Sequence[Run]) -> Figure | None:
    datasets = [
        d
        for d in datasets_of(runs, "neuron_importance")
        if any(ds == d and e.get("curve") for _, ds, e in entries(runs, "neuron_importance"))
    ]
    if not datasets:
        return None
    with pyplot().rc_context(RC):
        fig, axes = grid(2 * len(datasets), width=3.4)
        for k, dataset in enumerate(datasets):
            ax_acc, ax_bits = axes[2 * k], axes[2 * k + 1]
            for run in runs:
                curve = ((run.results.get("neuron_importance") or {}).get(dataset) or {}).get("curve") or []
                if not curve or is_skipped(curve):
                    continue
                xs = [c["fraction"] for c in curve]
                ax_acc.plot(xs, [c.get("accuracy") for c in curve], label=run.label, **style(run.index))
                ax_bits.plot(xs, [c.get("bits_per_nt") for c in curve], label=run.label, **style(run.index))
            for ax, ylabel in ((ax_acc, "accuracy"), (ax_bits, "bits/nt")):
                ax.set_xscale("symlog", linthresh=0.01)
                ax.xaxis.set_major_formatter(_percent)
                ax.set(
                    title=f"{dataset}: {ylabel}",
                    xlabel="fraction of neurons ablated (most important first)",
                    ylabel=ylabel,
                )
        legend(fig, axes)
        svg = to_svg(fig, "neuron_importance")
    return Figure(
        "neuron_importance",
        "Neuron importance",
        svg,
        "Imputation accuracy and bits/nt as the most important neurons are ablated first (x axis linear below 1 %, logarithmic above).",
    )


ALL = (calibration, accuracy_by_gc, edge_distance, transfer, conservation, probes, neuron_importance)


def build_figures(runs: Sequence[Run]) -> dict[str, Figure]:
    """Every figure whose data exists, by name."""
    out = {}
    for make in ALL:
        fig = make(runs)
        if fig is not None:
            out[fig.name] = fig
    return out
