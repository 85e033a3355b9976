"""The dataset card (README.md with ``configs`` + ``dataset_info`` YAML) written without ``datasets``.

Why: ``import datasets`` alone took 17% of a corpus build, and ``huggingface_hub.DatasetCard`` pulls in
the HTTP client; the build only needs their YAML. This module writes the same bytes as
``DatasetCardData`` + ``MetadataConfigs`` + ``DatasetInfosDict`` + ``DatasetCard.from_template(...).save``
(a test compares both on the build's schemas): the metadata in the order those classes emit it, the
features in the ``datasets`` YAML form (``Features._to_yaml_list``) derived from the Arrow schema, dumped
with ``yaml.dump(sort_keys=False, allow_unicode=True)`` and rendered into the template with jinja2. An
Arrow type outside the ones mapped here is handed to ``datasets`` itself, so the YAML is never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

_NAMED = {
    pa.float16(): "float16",
    pa.float32(): "float32",
    pa.float64(): "float64",
    pa.bool_(): "bool",
    pa.string(): "string",
    pa.large_string(): "large_string",
    pa.binary(): "binary",
    pa.large_binary(): "large_binary",
    pa.null(): "null",
}
_INTS = {getattr(pa, f"{s}int{b}")(): f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)}


class _Unmapped(Exception):
    """An Arrow type this module does not translate (the caller falls back to ``datasets``)."""


def _inner(t: pa.DataType) -> dict[str, Any]:
    """One feature's YAML body (without its name), as ``Features._to_yaml_list`` simplifies it."""
    if t in _NAMED or t in _INTS:
        return {"dtype": _NAMED.get(t) or _INTS[t]}
    if pa.types.is_struct(t):
        return {"struct": [{"name": f.name, **_inner(f.type)} for f in t]}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        key = "list" if pa.types.is_list(t) else "large_list"
        body = _inner(t.value_type)
        if list(body) == ["dtype"]:
            return {key: body["dtype"]}
        if list(body) == ["struct"]:
            return {key: body["struct"]}
        return {key: body}
    raise _Unmapped(str(t))


def features_yaml(schema: pa.Schema) -> list[dict[str, Any]]:
    """The ``dataset_info.features`` list of the card for an Arrow schema."""
    try:
        return [{"name": f.name, **_inner(f.type)} for f in schema]
    except _Unmapped:
        from datasets import Features

        return Features.from_arrow_schema(schema)._to_yaml_list()


def card_metadata(
    *,
    pretty_name: str,
    license_name: str,
    task_categories: list[str],
    tags: list[str],
    size_category: str,
    schema: pa.Schema,
    splits: dict[str, tuple[int, int]],
) -> dict[str, Any]:
    """The YAML header: card fields, ``configs`` (data files per split), ``dataset_info``."""
    return {
        "license": "other",
        "size_categories": [size_category],
        "task_categories": list(task_categories),
        "pretty_name": pretty_name,
        "license_name": license_name,
        "tags": list(tags),
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits],
            }
        ],
        "dataset_info": {
            "features": features_yaml(schema),
            "splits": [{"name": s, "num_bytes": b, "num_examples": n} for s, (n, b) in splits.items()],
            "dataset_size": sum(b for _, b in splits.values()),
        },
    }


def render_card(template: Path, metadata: dict[str, Any], **template_vars: Any) -> str:
    """The README text: ``template`` (jinja2) with ``card_data`` = the YAML of ``metadata``."""
    import jinja2
    import yaml

    card_data = yaml.dump(metadata, sort_keys=False, allow_unicode=True).strip()
    text = jinja2.Template(template.read_text(encoding="utf-8"))
    return text.render(card_data=card_data, **(metadata | template_vars))
