"""Card templates shipped inside the package, and the rendered example card of the repository.

``dataset_card.md`` is the Jinja template every dataset repo's README.md is rendered from
(``genobench_hf.data.hub.write_card``); it is package data, so non-editable installs render cards too.
The repository's top-level ``cards/datasets/PRO/README.md`` is the card of the default PRO build,
regenerated with ``python -m genobench_hf.cards`` (``--check`` only compares) so that it cannot drift;
that script (``__main__.py``, which builds a dataset) sits above ``data``, this module below it.
"""

from __future__ import annotations

from pathlib import Path

CARDS_DIR = Path(__file__).resolve().parent
DATASET_CARD_TEMPLATE = CARDS_DIR / "dataset_card.md"
EXAMPLE_NAME = "PRO"
EXAMPLE_PATH = Path("cards") / "datasets" / EXAMPLE_NAME / "README.md"  # relative to the repository
