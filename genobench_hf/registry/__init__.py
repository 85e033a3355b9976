"""Known-model registry: published DNA language models scorable by name, with their metadata.

``genobench evaluate --model <name>`` (or the entry's Hub id) loads the entry's checkpoint with the
entry's settings (model kind, tokenizer kind) unless a flag overrides them; remote code still needs
``--trust-remote-code``. Results carry the entry (``config.model_entry``); its training kingdoms label
the transfer row. Add a model with :func:`register_model` (one entry, see ``entries.py``).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.registry import table as _table
from genobench_hf.registry.entries import BUILTIN
from genobench_hf.registry.model_entry import KINGDOM_NAMES, UNKNOWN, ModelEntry, Objective

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
    "prepare_architecture",
    "published_results",
    "register_model",
    "resolve_model",
    "run_setup",
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


def markdown_table(entries: Iterable[ModelEntry] | None = None) -> str:
    """The models table of README.md and docs/MODELS.md (default: every registered entry)."""
    return _table.markdown_table(available_models().values() if entries is None else entries)


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
    if entry is not None and entry.external:
        raise ConfigError(
            f"{entry.name} is an external reference ({entry.architecture}); genobench lists its published "
            f"figures ({entry.published_results}) but cannot score it: {entry.quirks[0] if entry.quirks else ''}"
        )
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
        run_setup(entry)
    kind = entry.objective if model_kind == "auto" else model_kind
    tok = entry.tokenizer if tokenizer_kind == "auto" and entry.tokenizer else tokenizer_kind
    return ResolvedModel(entry.hub_id, entry, entry.revision, kind, tok)


def published_results(entry: ModelEntry) -> list[dict[str, str]]:
    """The rows of an external entry's published-figures file (a path inside the package), as strings."""
    import csv

    if not entry.published_results:
        return []
    path = Path(__file__).parents[1] / entry.published_results  # relative to the genobench_hf package
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def run_setup(entry: ModelEntry) -> None:
    """Import ``entry.import_module`` (``module`` or ``module:function``; the function is then called)."""
    assert entry.import_module
    module_name, _, function = entry.import_module.partition(":")
    package = module_name.split(".")[0]
    try:
        module = importlib.import_module(module_name)
        if function:
            getattr(module, function)()
    except ImportError as exc:
        raise ModelError(
            f"{entry.name} needs the {package!r} package (`{entry.import_module}` registers its architecture "
            f"with the Auto classes): pip install 'genobench[{package}]' ({exc})"
        ) from exc
    except AttributeError as exc:
        raise ModelError(
            f"{entry.name}: {module_name} has no {function!r} ({exc}); is {package} too old?"
        ) from exc


def prepare_architecture(model_type: str | None) -> ModelEntry | None:
    """Register the architecture of a config ``model_type`` that a registry entry's package provides.

    transformers knows ``ConvNet`` (GPN) only after ``gpn.register_auto_classes()``; a local folder of that
    type is prepared here before it is loaded. Returns the entry used, or None when none provides it.
    """
    if not model_type:
        return None
    entry = next((e for e in _REGISTRY.values() if model_type in e.model_types and e.import_module), None)
    if entry is not None:
        run_setup(entry)
    return entry


for _entry in BUILTIN:
    register_model(_entry)
