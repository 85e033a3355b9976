"""Content identities: sha256 of files and folders, memoised so that a large file is hashed once per change.

Cached scores must never outlive what produced them. A model folder retrained in place or a dataset copied
elsewhere keeps its path but not (or not only) its content, so cache keys and results record content
hashes: of a model folder's config, tokenizer files and weights, and of a built dataset's card and Parquet
shards. Hashing a multi-GB checkpoint on every run would cost seconds to minutes, so each file's digest is
memoised in ``$GENOBENCH_CACHE/file-hashes.json`` (else ``~/.cache/genobench/file-hashes.json``) under its
resolved path, keyed by size, mtime, ctime and inode: a rewrite changes ctime even when a copy restores the
old mtime (``cp -p``), so any change is re-hashed. The memo is written atomically; when two processes race,
the last writer wins and the other's entries are simply hashed again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MEMO_NAME = "file-hashes.json"


def cache_root() -> Path:
    """``$GENOBENCH_CACHE``, else ``~/.cache/genobench`` (shared by genobench's per-user caches)."""
    root = os.environ.get("GENOBENCH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "genobench"


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class FileHashes:
    """sha256 of files, memoised on disk by (resolved path, size, mtime, ctime, inode)."""

    def __init__(self, memo_path: Path | None = None) -> None:
        self.memo_path = memo_path if memo_path is not None else cache_root() / MEMO_NAME
        self._memo: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.memo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing or damaged memo: start afresh (it is only a memo)
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def sha256(self, path: Path) -> str:
        """The file's sha256 (hex), read from the memo when the file is unchanged since it was hashed."""
        if self._memo is None:
            self._memo = self._read()
        real = os.path.realpath(path)
        key = _stat_key(os.stat(real))
        entry = self._memo.get(real)
        if isinstance(entry, dict) and entry.get("stat") == key and isinstance(entry.get("sha256"), str):
            return str(entry["sha256"])
        digest = hashlib.sha256()
        with open(real, "rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
        if _stat_key(os.stat(real)) == key:  # not memoised if the file changed while it was read
            self._memo[real] = {"stat": key, "sha256": digest.hexdigest()}
            self._save(real, self._memo[real])
        return digest.hexdigest()

    def _save(self, new: str, entry: dict[str, Any]) -> None:
        """Merge the new entry into the memo on disk (atomically); failures are ignored, the memo only
        saves time. Entries of files deleted since are dropped."""
        merged = {p: e for p, e in self._read().items() if os.path.exists(p)} | {new: entry}
        try:
            self.memo_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".file-hashes.", suffix=".tmp", dir=self.memo_path.parent)
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(merged, handle)
            os.replace(tmp, self.memo_path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)


def content_files(folder: Path, *, recursive: bool) -> list[Path]:
    """Regular files of ``folder`` (relative paths sorted), skipping hidden files and folders (``.cache``,
    ``.git``, ``.huggingface``, temporary ``.name.tmp`` files) relative to ``folder`` only."""
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    out = []
    for p in pattern:
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        out.append(rel)
    return sorted(out, key=lambda r: r.as_posix())


def folder_digest(
    folder: Path, files: Iterable[Path], hashes: FileHashes | None = None
) -> tuple[str, dict[str, str]]:
    """(sha256 over the relative names and contents of ``files``, {relative name: file sha256}).

    Location-independent: only paths relative to ``folder`` enter the digest."""
    hashes = hashes or FileHashes()
    per_file = {rel.as_posix(): hashes.sha256(folder / rel) for rel in files}
    digest = hashlib.sha256(json.dumps(per_file, sort_keys=True).encode()).hexdigest()
    return digest, per_file


#: weights of other frameworks that a torch ``from_pretrained`` never reads (not part of the identity)
FOREIGN_WEIGHTS = ("tf_model.h5", "flax_model.msgpack", "rust_model.ot")
#: files of a model folder that no scorer reads: editing the card (its model-index) keeps cached scores
NOT_SCORING_INPUTS = ("README.md", "training_metrics.json")


def hub_commit(repo_id: str, revision: str | None = None) -> str | None:
    """The commit a Hub id (at ``revision``, default main) resolves to in the local Hub cache, where
    ``from_pretrained`` just put it; None when it is not there. (transformers 5 no longer keeps
    ``config._commit_hash``; the snapshot folder is named by the commit.)"""
    from huggingface_hub import try_to_load_from_cache
    from transformers.utils.hub import extract_commit_hash

    try:
        path = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except ValueError:  # not a valid repo id
        return None
    return extract_commit_hash(path, None) if isinstance(path, str) else None


def model_identity(spec: str | Path, revision: str | None = None) -> dict[str, object]:
    """What a model's cached scores are tied to.

    A local folder: the sha256 of its top-level files (config, tokenizer files, weights, remote code; not
    the card or training metrics).
    A Hub model: the commit it resolved to. ``{"kind": "unknown"}`` when neither is known (nothing cached
    may then be reused)."""
    path = Path(spec)
    if path.is_dir():
        skip = FOREIGN_WEIGHTS + NOT_SCORING_INPUTS
        files = [r for r in content_files(path, recursive=False) if r.name not in skip]
        digest, per_file = folder_digest(path, files)
        return {"kind": "content", "sha256": digest, "files": per_file}
    commit = hub_commit(str(spec), revision)
    if commit:
        return {"kind": "hub_commit", "commit": commit}
    return {"kind": "unknown"}
