"""The report's sections in order, each with its tables and figures; shared by the HTML and Markdown
renderers so both say the same thing and skip the same missing sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from genobench_hf.report import detail_tables, gene_completion, rankings, tables
from genobench_hf.report.collect import Run, score_tasks
from genobench_hf.report.figures import Figure
from genobench_hf.report.tables import Table


@dataclass
class Block:
    heading: str = ""
    text: str = ""
    figure: Figure | None = None
    table: Table | None = None
    skips: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)
    missing: str = ""

    @property
    def empty(self) -> bool:
        return not self.blocks


def _task_description(task: str) -> str:
    try:
        from genobench_hf.tasks import available_tasks

        meta = available_tasks().get(task)
    except ImportError:  # pragma: no cover
        meta = None
    return meta.description if meta else ""


def paired_section(runs: Sequence[Run], ranked: rankings.Rankings) -> Section:
    """Per task: rank groups, paired intervals vs markov:auto and vs the best model, and n per cell."""
    blocks = []
    for task in rankings.paired_tasks(runs, ranked):
        table = rankings.paired_table(runs, ranked, task)
        if table is not None:
            blocks.append(Block(heading=task, table=table))
        elif "." not in task:
            why = ranked.why_not(task, next(iter(tables.datasets_of(runs, task)), ""))
            blocks.append(Block(heading=task, text=f"No paired comparison: {why}."))
    if any(b.table for b in blocks):
        lines = [*rankings.headline_half_widths(ranked), rankings.widths_line(ranked)]
        blocks.insert(
            0, Block(heading="Resolution", text=" ".join(line.removeprefix("- ") for line in lines))
        )
    return Section(
        "paired",
        "Paired comparisons",
        "Every model is scored on the same sites, spans and genes, so models are compared on their per-item "
        "differences (genobench compare): 95 % paired bootstrap intervals, by genome where a split holds at "
        "least 5 genomes. These intervals, not the marginal ones, decide rank groups and highlights.",
        blocks if any(b.table for b in blocks) else [],
        "No per-site records in these files (results written before they existed): nothing is ranked.",
    )


def build_sections(runs: Sequence[Run], figures: dict[str, Figure]) -> list[Section]:
    def fig(name: str) -> list[Block]:
        return [Block(figure=figures[name])] if name in figures else []

    out: list[Section] = []
    ranked = rankings.paired_rankings(runs)
    board = tables.leaderboard(runs)
    if board is not None:
        rankings.annotate_leaderboard(board, ranked)
    out.append(
        Section(
            "leaderboard",
            "Leaderboard",
            "Main score of every task on every dataset (↓ lower is better, ↑ higher is better); [r] = rank "
            "group from the paired test on the sites every model was scored on (models not separable share a "
            "rank); highlighted (bold in Markdown): rank group 1 where the paired test separates groups, never "
            "from overlapping intervals. Small print: each model's own 95 % bootstrap interval over sites. "
            "Click a header to sort. Baseline rows stay below the models.",
            [Block(table=board)] if board else [],
            "No task with a main score in these files.",
        )
    )
    out.append(paired_section(runs, ranked))
    task_blocks = [
        Block(heading=task, text=_task_description(task), table=tables.task_table(runs, task))
        for task in score_tasks(runs)
    ]
    out.append(
        Section(
            "tasks",
            "Per-task results",
            "Every dataset of every task; best model per dataset highlighted. Macro = mean over genomes.",
            task_blocks,
            "No per-task results.",
        )
    )
    out.append(
        Section("calibration", "Calibration", "", fig("calibration"), "No reliability bins in these files.")
    )
    out.append(
        Section("gc", "Accuracy by GC", "", fig("accuracy_by_gc"), "No GC-binned accuracy in these files.")
    )
    out.append(
        Section(
            "span",
            "Span infill by position",
            "",
            fig("edge_distance"),
            "No span_imputation results in these files.",
        )
    )
    genes: list[Block] = []
    for task in gene_completion.TASKS:
        for make, what in ((gene_completion.panel_table, "panels"), (gene_completion.gene_table, "per gene")):
            table = make(runs, task)
            if table is not None:
                genes.append(Block(heading=f"{task}: {what}", table=table))
    out.append(
        Section(
            "gene_completion",
            "Gene completion (Evo 2 protocol)",
            "% amino-acid recovery beyond the prompt (mean of per-gene means; per gene: mean ± SEM over the "
            "generations), beside the published Evo 2 figures. gene_completion_infill (masked LMs, iterative "
            "infill) is another protocol and is never compared with them.",
            genes,
            "No gene_completion results in these files.",
        )
    )
    transfer = fig("transfer")
    summary = detail_tables.transfer_table(runs)
    if summary:
        transfer.append(Block(heading="Summary (gain over chance)", table=summary))
    out.append(
        Section("transfer", "Transfer across kingdoms", "", transfer, "No transfer results in these files.")
    )
    cons = fig("conservation")
    cons_table = detail_tables.conservation_table(runs)
    if cons_table:
        cons.append(Block(table=cons_table))
    out.append(
        Section(
            "conservation", "Conservation", "", cons, "No conservation-stratified results in these files."
        )
    )
    probe = fig("probes")
    probe_table = detail_tables.probe_table(runs)
    if probe_table:
        probe.append(Block(heading="Best layer and controls", table=probe_table))
    out.append(Section("probes", "Probes by layer", "", probe, "No probe results (aa_probe, cds_probe)."))
    out.append(
        Section("neurons", "Neuron importance", "", fig("neuron_importance"), "No neuron importance curves.")
    )
    eff = detail_tables.efficiency_table(runs)
    out.append(
        Section(
            "efficiency",
            "Efficiency",
            "Inference throughput, peak memory and cost per million nucleotides at the price per device-hour "
            "recorded in the file (ms per kb derived from nt/s where a file lacks it).",
            [Block(table=eff)] if eff else [],
            "No efficiency or timing figures in these files.",
        )
    )
    skips = detail_tables.skipped_entries(runs)
    out.append(
        Section(
            "skipped",
            "Skipped",
            "Entries that do not apply to a model or dataset, with the reason recorded in the file.",
            [Block(skips=skips)] if skips else [],
            "Nothing was skipped.",
        )
    )
    return out
