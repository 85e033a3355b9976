"""What genobench writes: output folders and files, checked before the work and guarded while writing.

Every command that writes (``datasets build``, ``evaluate``, ``run``, ``report``, ``train``) goes through
:func:`writes_output`: the target is checked first (an existing file where a folder is wanted, a folder
that cannot be written, a read-only file system) and any write failure later (disk full, quota) becomes
one :class:`OutputError` line (CLI exit 2) naming the path, instead of an ``OSError`` traceback.

Folders genobench may later replace carry a manifest (:data:`MANIFEST`) of the files it wrote, with their
sizes; :func:`foreign_files` lists anything else (a user's ``keep.txt``, an edited card), so a folder is
only replaced when it holds nothing but genobench's own output. Staging folders record their owner
process (:func:`make_staging`), so a later run can remove those left by a killed one
(:func:`remove_stale_staging`) without touching a staging folder that is still in use.
"""

from __future__ import annotations

import errno
import fnmatch
import functools
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genobench_hf.errors import GenobenchError

MANIFEST = ".genobench-files.json"  # in every folder genobench may replace: the files it wrote
OWNER = ".genobench-owner.json"  # in every staging folder: the process that made it
#: errno -> what to tell the user; other OSErrors are bugs and keep their traceback
WRITE_ERRORS = {
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file is too large for the file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EEXIST: "a file of that name exists",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENAMETOOLONG: "the name is too long",
}


class OutputError(GenobenchError):
    """An output folder or file cannot be written; the message names it and says why."""


def describe(exc: OSError, target: Path, flag: str) -> str:
    """One line for a write failure: the path that failed, the reason, and what to do."""
    reason = WRITE_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
    failed = Path(os.fsdecode(exc.filename)) if exc.filename else target
    code = errno.errorcode.get(exc.errno or 0, "")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space"
    elif _within(failed, target):
        hint = f"choose another {flag}"
    else:  # e.g. a cache folder outside the output
        hint = "make it writable"
    return f"cannot write {failed} ({reason}{f', {code}' if code else ''}); {hint}"


def _within(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve()) or folder.resolve().is_relative_to(
            path.resolve()
        )
    except OSError:
        return True


@contextmanager
def output_errors(target: str | Path, flag: str = "--out") -> Iterator[None]:
    """Turn write failures (``WRITE_ERRORS``) inside the block into an :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        raise OutputError(describe(exc, Path(target), flag)) from None


def prepare_dir(path: str | Path, flag: str = "--out") -> Path:
    """Create ``path`` if needed and prove it writable (a probe file), before any work is done.

    As root, permission bits do not stop writes, so only a real write tells; the probe is that write.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path} is an existing file, not a folder; choose another {flag}")
    with output_errors(path, flag):
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".genobench-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    return path


def prepare_file(path: str | Path, flag: str = "--output") -> Path:
    """Check that ``path`` can be written as a file (not a folder; its folder writable)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{flag} {path} is a folder; give a file name (e.g. {path / 'results.json'})")
    prepare_dir(path.parent if str(path.parent) else Path("."), flag)
    return path


def writes_output(attr: str, *, kind: str = "dir", flag: str | None = None) -> Callable:
    """Decorator for a command's ``run(args)``: check ``args.<attr>`` first, guard every write after."""
    shown = flag or "--" + attr.replace("_", "-")

    def decorate(func: Callable[[Any], int]) -> Callable[[Any], int]:
        @functools.wraps(func)
        def wrapper(args: Any) -> int:
            target = getattr(args, attr)
            if target is not None:
                (prepare_file if kind == "file" else prepare_dir)(target, shown)
            folder = Path(target or ".").parent if kind == "file" else Path(target or ".")
            with output_errors(folder, shown):
                return func(args)

        return wrapper

    return decorate


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``: never half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not expose an empty file after a crash
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- what genobench wrote
def _files(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def write_manifest(folder: Path, version: str) -> Path:
    """Record every file now in ``folder`` (name and size) as written by genobench ``version``."""
    doc = {"written_by": "genobench", "version": version, "files": _files(folder)}
    path = folder / MANIFEST
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def foreign_files(folder: Path, legacy: Sequence[str] = ()) -> list[str]:
    """Files in ``folder`` that genobench did not write, or that changed since (sorted, relative).

    A folder without a manifest (written by a genobench before manifests) is judged by ``legacy``:
    glob patterns of the only files such a folder holds; anything else is foreign.
    """
    found = _files(folder)
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            written = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return [*sorted(found), f"{MANIFEST} (unreadable)"]
        return sorted(name for name, size in found.items() if written.get(name) != size)
    return sorted(name for name in found if not any(fnmatch.fnmatch(name, pat) for pat in legacy))


def check_replaceable(folder: Path, *, force: bool, legacy: Sequence[str] = ()) -> None:
    """Refuse to replace ``folder`` if it holds anything genobench did not write (unless ``force``)."""
    if not folder.exists() or force:
        return
    if not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a dataset folder; move it or choose another --out")
    foreign = foreign_files(folder, legacy)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputError(
            f"{folder} holds files genobench did not write ({shown}); replacing the folder would delete "
            "them. Move them away, choose another --out, or pass --force to replace it anyway"
        )


# --------------------------------------------------------------------------- staging folders
def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    now = _start_time(pid)
    return started is None or now is None or now == started


def make_staging(parent: Path, prefix: str) -> Path:
    """A new hidden staging folder in ``parent`` that records its owner (host, pid, start time)."""
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": _start_time(os.getpid())}
    (staging / OWNER).write_text(json.dumps(owner) + "\n", encoding="utf-8")
    return staging


def remove_stale_staging(parent: Path, prefix: str) -> tuple[list[Path], list[str]]:
    """Remove staging folders in ``parent`` whose owner process on this host is gone.

    Returns (removed folders, warnings about folders left alone: no owner record, or another host).
    A folder whose owner is alive (a concurrent run) is never touched.
    """
    removed: list[Path] = []
    notes: list[str] = []
    if not parent.is_dir():
        return removed, notes
    for folder in sorted(parent.glob(f"{prefix}*")):
        if not folder.is_dir():
            continue
        try:
            owner = json.loads((folder / OWNER).read_text(encoding="utf-8"))
            host, pid, started = owner["host"], int(owner["pid"]), owner.get("started")
        except (OSError, ValueError, KeyError, TypeError):
            notes.append(f"left {folder} in place (no owner record); remove it if no genobench build runs")
            continue
        if host != socket.gethostname():
            notes.append(f"left {folder} in place (made on host {host}); remove it if that build is over")
        elif not _alive(pid, started):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed, notes
