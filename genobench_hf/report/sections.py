"""The report's sections in order, each with its tables and figures; shared by the HTML and Markdown
renderers so both say the same thing and skip the same missing sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from genobench_hf.report import detail_tables, gene_completion, tables
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


def build_sections(runs: Sequence[Run], figures: dict[str, Figure]) -> list[Section]:
    def fig(name: str) -> list[Block]:
        return [Block(figure=figures[name])] if name in figures else []

    out: list[Section] = []
    board = tables.leaderboard(runs)
    out.append(
        Section(
            "leaderboard",
            "Leaderboard",
            "Main score of every task on every dataset (↓ lower is better, ↑ higher is better); the best model "
            "per column is highlighted (bold in Markdown); small print: 95 % bootstrap interval over sites. Click a header to sort. "
            "Baseline rows stay below the models.",
            [Block(table=board)] if board else [],
            "No task with a main score in these files.",
        )
    )
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
