"""Known-model registry: published DNA language models scorable by name, with their metadata.

``genobench evaluate --model <name>`` (or the entry's Hub id) loads the entry's checkpoint with the
entry's settings (model kind, tokenizer kind) unless a flag overrides them; remote code still needs
``--trust-remote-code``. Results carry the entry (``config.model_entry``); its training kingdoms label
the transfer row. Add a model with :func:`register_model` (one entry, see ``entries.py``).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path

from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.registry.entries import BUILTIN
from genobench_hf.registry.model_entry import KINGDOM_NAMES, UNKNOWN, ModelEntry, Objective
from genobench_hf.registry.table import markdown_table

__all__ = [
    "KINGDOM_NAMES",
    "UNKNOWN",
    "ModelEntry",
    "Objective",
    "ResolvedModel",
    "available_models",
    "find_model",
    "get_model",
    "markdown_table",
    "register_model",
    "resolve_model",
    "unregister_model",
]

_REGISTRY: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry, *, replace: bool = False) -> ModelEntry:
    """Add ``entry`` (names are case-insensitive); an existing name needs ``replace=True``."""
    key = entry.name.lower()
    if key in _REGISTRY and not replace:
        raise ConfigError(f"model {entry.name!r} is already registered (pass replace=True)")
    _REGISTRY[key] = entry
    return entry


def unregister_model(name: str) -> None:
    """Remove an entry (tests register temporary replicas)."""
    _REGISTRY.pop(name.lower(), None)


def available_models() -> dict[str, ModelEntry]:
    """Every registered entry by name, in registration order."""
    return {e.name: e for e in _REGISTRY.values()}


def find_model(spec: str) -> ModelEntry | None:
    """The entry named ``spec`` or whose Hub id is ``spec`` (case-insensitive), else None."""
    key = spec.strip().lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    return next((e for e in _REGISTRY.values() if e.hub_id and e.hub_id.lower() == key), None)


def get_model(name: str) -> ModelEntry:
    """The entry named ``name`` (or with that Hub id); unknown names raise with close matches."""
    entry = find_model(name)
    if entry is None:
        raise ConfigError(_unknown_message(name))
    return entry


def _unknown_message(name: str) -> str:
    names = [e.name for e in _REGISTRY.values()]
    close = difflib.get_close_matches(name.lower(), names, n=5, cutoff=0.5)
    close += [n for n in names if name.lower() in n and n not in close][: 5 - len(close)]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown model {name!r}: not a registry name (see `genobench models`){hint}"


@dataclass(frozen=True)
class ResolvedModel:
    """What to load for ``--model``: the spec given to transformers and the settings to use."""

    spec: str
    entry: ModelEntry | None
    revision: str | None
    model_kind: str
    tokenizer_kind: str


def resolve_model(
    model: str, *, model_kind: str = "auto", tokenizer_kind: str = "auto", trust_remote_code: bool = False
) -> ResolvedModel:
    """Turn ``--model`` into a load spec; registry settings fill in what the flags leave on ``auto``.

    A local folder or an unregistered Hub id (``owner/name``) passes through unchanged. A bare word that
    is neither a folder nor a registry name is an error listing close matches. A registry entry that
    needs remote code refuses unless ``trust_remote_code``.
    """
    entry = find_model(model)
    if entry is None:
        if not Path(model).exists() and "/" not in model:
            raise ConfigError(_unknown_message(model) + " Local folders and Hub ids (owner/name) work too.")
        return ResolvedModel(model, None, None, model_kind, tokenizer_kind)
    if entry.hub_id is None:
        raise ConfigError(
            f"{entry.name} has no transformers checkpoint on the Hub ({entry.quirks[0] if entry.quirks else ''}); "
            "convert it and pass the folder with --model PATH"
        )
    if entry.trust_remote_code and not trust_remote_code:
        raise ModelError(
            f"{entry.name} ({entry.hub_id}) runs its own Python code from the Hub (auto_map); review it, "
            "then pass --trust-remote-code to allow it"
        )
    if entry.import_module:
        try:
            importlib.import_module(entry.import_module)
        except ImportError as exc:
            package = entry.import_module.split(".")[0]
            raise ModelError(
                f"{entry.name} needs the {package!r} package (`import {entry.import_module}` registers its "
                f"architecture): install it first ({exc})"
            ) from exc
    kind = entry.objective if model_kind == "auto" else model_kind
    tok = entry.tokenizer if tokenizer_kind == "auto" and entry.tokenizer else tokenizer_kind
    return ResolvedModel(entry.hub_id, entry, entry.revision, kind, tok)


for _entry in BUILTIN:
    register_model(_entry)
