"""Generated sequences, chunk by chunk: sharded over processes, cached on disk, resumable.

Generation tasks (span infill, gene completion) produce strings, not site probabilities, so they do not go
through the scoring executor; this module gives them the same guarantees. Items are cut into fixed chunks
(independent of the number of processes and of the batch size); chunk ``c`` is computed by process
``c % world_size`` and written atomically as soon as it is done, with a hash of what it was computed from,
so a killed run resumes at the first unfinished chunk and a changed input is never served from the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

Item = TypeVar("Item")
CHUNK = 32


def _load(path: Path, content: str) -> list[str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable or half-written by an old version: recompute
    if not isinstance(data, dict) or data.get("content") != content:
        return None
    out = data.get("sequences")
    return out if isinstance(out, list) and all(isinstance(s, str) for s in out) else None


def _save(path: Path, sequences: list[str], content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".chunk.", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"content": content, "sequences": sequences}, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_chunks(
    context: Any,
    key: str,
    items: Sequence[Item],
    compute: Callable[[list[Item]], list[str]],
    describe: Callable[[Item], str],
    *,
    chunk_size: int = CHUNK,
    desc: str = "",
) -> list[str]:
    """``compute`` over ``items`` in chunks; ``describe(item)`` must name everything an output depends on
    besides ``key`` (which names the model and the settings)."""
    executor = context.executor
    rank, world = executor.rank, executor.world_size
    cache_dir = executor.cache_dir
    n_chunks = -(-len(items) // chunk_size)
    done: dict[int, list[str]] = {}
    progress = None
    if executor.show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(items), desc=desc or key, unit="seq", leave=False)
    for c in range(rank, n_chunks, world):
        chunk = list(items[c * chunk_size : (c + 1) * chunk_size])
        h = hashlib.sha256(key.encode())
        for item in chunk:
            h.update(b"\x1f" + describe(item).encode())
        content = h.hexdigest()
        path = None if cache_dir is None else Path(cache_dir) / "generation" / key / f"chunk-{c:06d}.json"
        cached = _load(path, content) if path is not None and path.exists() else None
        if cached is not None and len(cached) == len(chunk):
            done[c] = cached
        else:
            done[c] = compute(chunk)
            if len(done[c]) != len(chunk):
                raise RuntimeError(f"{key}: {len(done[c])} outputs for {len(chunk)} inputs")
            if path is not None:
                _save(path, done[c], content)
        if progress is not None:
            progress.update(len(chunk) * world)
    if progress is not None:
        progress.close()
    if world > 1:
        from accelerate.utils import gather_object

        merged: dict[int, list[str]] = {}
        for part in gather_object([done]):
            merged.update(part)
        done = merged
    return [s for c in range(n_chunks) for s in done[c]]
