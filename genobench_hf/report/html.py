"""Render the sections into one self-contained HTML page (inline CSS, JS and SVG; no network)."""

from __future__ import annotations

from collections.abc import Sequence

from genobench_hf.report.collect import Run, fixture_notes, package_versions, protocol_notes
from genobench_hf.report.detail_tables import provenance
from genobench_hf.report.sections import Section


def render_html(runs: Sequence[Run], sections: Sequence[Section], title: str = "genobench report") -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("genobench_hf.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        title=title,
        runs=runs,
        sections=sections,
        provenance=provenance(runs),
        fixture_notes=fixture_notes(runs),
        protocol_notes=protocol_notes(runs),
        versions=package_versions(),
    )
