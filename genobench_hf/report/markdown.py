"""A GitHub-renderable Markdown summary: leaderboard, task tables, efficiency, figure gallery, provenance.

Same tables as the HTML (built once in :mod:`genobench_hf.report.tables`); intervals are written
``value (lo–hi)`` and the best value per column in bold, since Markdown has no cell colours.
"""

from __future__ import annotations

from collections.abc import Sequence

from genobench_hf.report.collect import Run, fixture_notes, protocol_notes
from genobench_hf.report.detail_tables import provenance
from genobench_hf.report.sections import Section
from genobench_hf.report.tables import Cell, Column, Row, Table


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cell(c: Cell) -> str:
    text = c.text
    if c.ci:
        text = f"{text} ({c.ci})"
    return f"**{text}**" if c.best else text


def table_md(t: Table) -> str:
    heads = [t.row_label, *t.lead_labels]
    heads += [c.label + {True: " ↑", False: " ↓"}.get(c.higher_is_better, "") for c in t.columns]
    lines = ["| " + " | ".join(_escape(h) for h in heads) + " |"]
    lines.append("|" + "|".join([":--"] * (1 + len(t.lead_labels)) + ["--:"] * len(t.columns)) + "|")
    for r in t.rows:
        label = f"*{r.label}*" if r.kind == "baseline" else r.label
        cells = [_escape(label), *(_escape(x) for x in r.lead)]
        if r.skipped is not None:
            cells += [_escape(f"skipped: {r.skipped}")] + [""] * (len(t.columns) - 1)
        else:
            cells += [_escape(_cell(c)) for c in r.cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [f"\n{n}" for n in dict.fromkeys(t.notes)]
    return "\n".join(lines)


def split_groups(t: Table) -> list[tuple[str, Table]]:
    """A wide grouped table (the leaderboard) as one narrower table per group, for GitHub's page width."""
    if not t.grouped:
        return [("", t)]
    out, start = [], 0
    for group, span in t.groups():
        idx = range(start, start + span)
        start += span
        cols = [t.columns[i] for i in idx]
        rows = [
            Row(r.label, [r.cells[i] for i in idx], r.kind, r.href, r.skipped, r.group_start, r.lead)
            for r in t.rows
        ]
        sub = Table(t.id, [Column(c.label, "", c.higher_is_better, c.tip) for c in cols], rows, t.lead_labels)
        sub.notes = [n for n in t.notes if f" {group}/" in n]
        out.append((f"{group} ({cols[0].unit})" if cols[0].unit else group, sub))
    return out


def render_markdown(runs: Sequence[Run], sections: Sequence[Section], title: str = "genobench report") -> str:
    out = [f"# {title}", ""]
    notes = fixture_notes(runs)
    if notes:
        out += ["> **Synthetic fixture data — these numbers are not benchmark results.**"]
        out += [f"> - {n}" for n in notes] + [""]
    mixed = protocol_notes(runs)
    if mixed:
        out += ["> **These results were scored under different protocols; numbers that differ in what is "
                "listed here are not comparable.**"]  # fmt: skip
        out += [f"> - {n}" for n in mixed] + [""]
    out += [f"Models: {', '.join(f'`{r.label}`' for r in runs)}. Full interactive report: `report.html`.", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        if s.empty:
            out += [f"_{s.missing}_", ""]
            continue
        if s.intro:
            out += [s.intro, ""]
        for b in s.blocks:
            if b.heading:
                out += [f"### {b.heading}", ""]
            if b.text:
                out += [b.text, ""]
            if b.figure:
                out += [f"![{b.figure.title}](figures/{b.figure.name}.svg)", "", f"_{b.figure.caption}_", ""]
            if b.table:
                for heading, part in split_groups(b.table):
                    out += [f"**{heading}**", ""] if heading else []
                    out += [table_md(part), ""]
            for model, task, dataset, why in b.skips:
                out.append(f"- `{model}` {task}/{dataset}: skipped: {_escape(why)}")
            if b.skips:
                out.append("")
    out += [
        "## Provenance",
        "",
        "| model | file | sha256 | revision | schema | genobench | datasets |",
        "|:--|:--|:--|:--|:--|:--|:--|",
    ]
    for p in provenance(runs):
        datasets = ", ".join(f"{d}: {fp}" for d, fp in p["datasets"].items()) or "–"
        out.append(
            "| "
            + " | ".join(
                _escape(str(x))
                for x in (
                    p["label"],
                    p["file"],
                    p["sha256"][:12],
                    p["revision"] or "–",
                    p["schema_version"],
                    p["genobench"] or "–",
                    datasets,
                )
            )
            + " |"
        )
    return "\n".join(out) + "\n"
