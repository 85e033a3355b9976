"""The results file: one versioned JSON schema for every run, written atomically.

Layout (DESIGN.md "Results")::

    {"schema_version": "1.0",
     "results":   {TASK: {DATASET: {metric: value, ...} | {"skipped": reason}}},
     "summaries": {TASK: {...}},
     "config":    {model, revision, model_identity (content sha256 or Hub commit), model_kind, tokenizer_kind,
                   dataset_fingerprints, protocol (genobench_hf.protocol), settings, limits, world_size},
     "environment": {package versions, device, threads, platform},
     "timing":    {wall_seconds, nucleotides_per_second, sites_per_second, peak_memory_mb, by_task,
                   by_rank (counters are sums over processes)}}

Every number a report shows comes from such a file; the version lets readers refuse files they do not
understand instead of misreading them.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from genobench_hf.errors import InputError

SCHEMA_VERSION = "1.0"
REQUIRED_KEYS = ("schema_version", "results", "summaries", "config", "environment", "timing")


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats into plain JSON (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy array or scalar
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def new_results(config: dict[str, Any], environment: dict[str, Any]) -> dict[str, Any]:
    """An empty results document for one run."""
    return {
        "schema_version": SCHEMA_VERSION,
        "results": {},
        "summaries": {},
        "config": dict(config),
        "environment": dict(environment),
        "timing": {},
    }


def write_results(doc: dict[str, Any], path: str | Path) -> Path:
    """Write ``doc`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(_jsonable(doc), indent=2, sort_keys=False, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload + "\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a results file, refusing files of another schema version or with missing sections."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("results file not found", path=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno})", path=path) from exc
    if not isinstance(doc, dict):
        raise InputError("a results file must hold a JSON object", path=path)
    version = doc.get("schema_version")
    if version is None:
        raise InputError("no 'schema_version': not a genobench results file", path=path)
    if str(version).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise InputError(
            f"schema_version {version} is not supported (this genobench reads {SCHEMA_VERSION}); "
            "re-run the evaluation with this version",
            path=path,
        )
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        raise InputError(f"missing sections {missing}", path=path)
    return doc


def skipped(reason: str) -> dict[str, str]:
    """The entry for a task that does not apply to a model or dataset."""
    return {"skipped": reason}
