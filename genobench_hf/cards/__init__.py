"""Card templates shipped inside the package, and the rendered example card of the repository.

``dataset_card.md`` is the Jinja template every dataset repo's README.md is rendered from
(``genobench_hf.data.hub.write_card``); it is package data, so non-editable installs render cards too.
The repository's top-level ``cards/datasets/PRO/README.md`` is the card of the default PRO build,
regenerated with ``python -m genobench_hf.cards`` (``--check`` only compares) so that it cannot drift.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

CARDS_DIR = Path(__file__).resolve().parent
DATASET_CARD_TEMPLATE = CARDS_DIR / "dataset_card.md"
EXAMPLE_NAME = "PRO"
EXAMPLE_PATH = Path("cards") / "datasets" / EXAMPLE_NAME / "README.md"  # relative to the repository


def render_example_card(*, conservation_cache: Path | None = None) -> str:
    """The README.md of the default ``PRO`` build of the embedded corpus (conservation columns on)."""
    from genobench_hf.data.build import build_all

    with tempfile.TemporaryDirectory(prefix="genobench-card-") as tmp:
        build_all(Path(tmp), names=(EXAMPLE_NAME,), progress=False, conservation_cache=conservation_cache)
        return (Path(tmp) / EXAMPLE_NAME / "README.md").read_text(encoding="utf-8")
