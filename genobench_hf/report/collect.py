"""Results files -> runs with stable labels, and the lookups every report section shares.

The report never computes a benchmark number itself: it reads values out of results files (DESIGN.md
"Results") and remembers where each came from (file + JSON path), so every figure and cell in the HTML
can be traced back. The only derived quantities are presentational (ms per kb from nt/s when a file
lacks it, gain = 2 - bits for the transfer colour scale), and they are labelled as such.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genobench_hf.errors import InputError
from genobench_hf.outcomes import task_info
from genobench_hf.results import load_results
from genobench_hf.task_config import DATASET_NAMES

DATASET_ORDER = DATASET_NAMES  # the catalog's order


@dataclass(frozen=True)
class Run:
    """One results file as the report sees it."""

    index: int
    path: Path
    label: str
    doc: dict[str, Any] = field(repr=False)
    sha256: str = ""

    @property
    def anchor(self) -> str:
        return f"run-{self.index + 1}"

    @property
    def config(self) -> dict[str, Any]:
        return self.doc.get("config") or {}

    @property
    def results(self) -> dict[str, Any]:
        return self.doc.get("results") or {}

    @property
    def summaries(self) -> dict[str, Any]:
        return self.doc.get("summaries") or {}

    def source(self, *keys: object) -> str:
        """``file.json: results.task.dataset.key`` — where a shown number lives."""
        return f"{self.path.name}: " + ".".join(str(k) for k in keys)


def _short(revision: Any) -> str:
    text = str(revision)
    return text[:7] if len(text) > 12 else text


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Load (with schema check) and label the files; labels stay unique when one model appears twice."""
    if not paths:
        raise InputError("no results files given")
    loaded = []
    for p in paths:
        path = Path(p)
        doc = load_results(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        loaded.append((path, doc, digest))
    names = [str((doc.get("config") or {}).get("model") or path.stem) for path, doc, _ in loaded]
    labels = []
    for i, (_, doc, _) in enumerate(loaded):
        label = names[i]
        rev = (doc.get("config") or {}).get("revision")
        if names.count(label) > 1 and rev:
            label = f"{label}@{_short(rev)}"
        labels.append(label)
    for i, (path, _, _) in enumerate(loaded):
        if labels.count(labels[i]) > 1:
            labels[i] = f"{labels[i]} ({path.name})"
    return [Run(i, path, labels[i], doc, digest) for i, (path, doc, digest) in enumerate(loaded)]


def is_skipped(entry: Any) -> bool:
    return isinstance(entry, dict) and "skipped" in entry


def _ordered(names: set[str], order: Sequence[str]) -> list[str]:
    known = [n for n in order if n in names]
    return known + sorted(names - set(order))


def score_tasks(runs: Sequence[Run]) -> list[str]:
    """Tasks shown as leaderboard columns: those whose results say so (the others have their own section),
    in the order the runs ran them (``genobench_hf.outcomes``: no task is known here by name)."""
    ran = dict.fromkeys(t for r in runs for t in r.results if task_info(r.doc, t).report == "leaderboard")
    return list(ran)


def datasets_of(runs: Sequence[Run], task: str) -> list[str]:
    names = {d for r in runs for d in (r.results.get(task) or {})}
    return _ordered(names, DATASET_ORDER)


def entries(runs: Sequence[Run], task: str) -> Iterator[tuple[Run, str, dict[str, Any]]]:
    """(run, dataset, entry) for every dataset entry of ``task``, skipped ones included."""
    for dataset in datasets_of(runs, task):
        for run in runs:
            entry = (run.results.get(task) or {}).get(dataset)
            if isinstance(entry, dict):
                yield run, dataset, entry


def main_score(task: str, runs: Sequence[Run]) -> tuple[str, bool] | None:
    """(score key, higher is better) as the results files record it (no task registry is imported)."""
    for run in runs:
        if task in run.results:
            info = task_info(run.doc, task)
            if info.main_score is not None:
                return info.main_score, info.higher_is_better
    return None


def number(value: Any) -> float | None:
    """A finite float, or None for missing/null/non-numeric values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value else None


def ci_of(entry: dict[str, Any], key: str) -> tuple[float, float] | None:
    """The bootstrap interval of ``key`` when the entry carries one (nucleotide tasks)."""
    ci = entry.get("ci")
    if not isinstance(ci, dict):
        return None
    pair = ci.get(key)
    if isinstance(pair, list | tuple) and len(pair) == 2 and all(number(v) is not None for v in pair):
        return float(pair[0]), float(pair[1])
    return None


def fmt(value: Any, digits: int = 3) -> str:
    """Compact fixed-point text; large numbers with thousands separators; missing -> en dash."""
    v = number(value)
    if v is None:
        return "–"
    if abs(v) >= 1000 or digits == 0:
        return f"{v:,.0f}"
    if v != 0 and abs(v) < 0.5 * 10**-digits:  # would read as 0.000: keep significant figures instead
        return fmt_sig(v, digits)
    return f"{v:.{min(digits, 1) if abs(v) >= 100 else digits}f}"


def fmt_sig(value: Any, figures: int = 3) -> str:
    """Positional text with ``figures`` significant figures (small costs: 0.00339, not 0.0034 or 0.0000)."""
    v = number(value)
    if v is None:
        return "–"
    if abs(v) >= 10**figures:
        return f"{v:,.0f}"
    import numpy as np

    text = np.format_float_positional(v, precision=figures, unique=False, fractional=False, trim="k")
    return text.rstrip(".")


def fixture_notes(runs: Sequence[Run]) -> list[str]:
    """Notes of files that declare themselves synthetic fixtures (the report shows a banner)."""
    return [f"{r.path.name}: {r.config['fixture_note']}" for r in runs if r.config.get("fixture_note")]


def protocol_notes(runs: Sequence[Run]) -> list[str]:
    """Where the runs were scored under different protocols (per task: what differs, in which files)."""
    from genobench_hf.protocol import doc_differences

    return doc_differences([(r.path.name, r.doc) for r in runs])


def package_versions() -> dict[str, str]:
    """Versions of the packages that made the report (provenance of the rendering, not of the numbers)."""
    import importlib.metadata as md

    out = {}
    for pkg in ("genobench", "matplotlib", "jinja2", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
