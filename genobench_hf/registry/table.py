"""The supported-model table, generated from the registry (README and docs/MODELS.md embed it)."""

from __future__ import annotations

from collections.abc import Iterable

from genobench_hf.registry.model_entry import UNKNOWN, ModelEntry

START, END = "<!-- MODELS:START -->", "<!-- MODELS:END -->"


def _params(n: int | None) -> str:
    if n is None:
        return UNKNOWN
    return f"{n / 1e9:g}B" if n >= 1e9 else f"{n / 1e6:g}M"


def _flag(value: bool | None) -> str:
    return UNKNOWN if value is None else ("yes" if value else "no")


def offline_test_cell(entry: ModelEntry) -> str:
    """What the offline tests exercise for ``entry``: the kind (package / exact tokenizer / stand-in) first."""
    return f"**{entry.offline_test}**: {entry.offline_note}" if entry.offline_note else entry.offline_test


def table_rows(entries: Iterable[ModelEntry]) -> list[list[str]]:
    """One row of display strings per entry (shared by the rich and the Markdown table)."""
    return [
        [
            e.name,
            e.family,
            f"`{e.hub_id}`" if e.hub_id else "not on the Hub",
            e.objective,
            e.tokenizer or UNKNOWN,
            UNKNOWN if e.context_length is None else f"{e.context_length:,}",
            _params(e.parameters),
            _flag(e.trust_remote_code),
            e.trained_on(),
            e.license,
            e.scoring_path + (" (approx.)" if e.approximate else ""),
            offline_test_cell(e),
        ]
        for e in entries
    ]


HEADERS = [
    "name", "family", "Hub id", "objective", "tokenizer", "context (tokens)", "params",
    "remote code", "trained on", "license", "scoring path", "offline test",
]  # fmt: skip


def markdown_table(entries: Iterable[ModelEntry]) -> str:
    """The Markdown table between the ``MODELS`` markers (README.md and docs/MODELS.md); ``registry``'s
    ``markdown_table()`` fills in every registered entry."""
    lines = [START, "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table_rows(entries)
    ]
    return "\n".join([*lines, END])


def extract_block(text: str) -> str | None:
    """The marker-delimited table block of a document, or None when it has no markers."""
    if START not in text or END not in text:
        return None
    return text[text.index(START) : text.index(END) + len(END)]
