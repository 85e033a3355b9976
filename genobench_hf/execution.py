"""Running a scorer over many windows: sharded across Accelerate processes, cached, resumable.

Windows are cut into fixed chunks (``chunk_size`` consecutive windows) whose composition does not depend on
the number of processes or the batch size, so a run can be resumed with another world size and still
reuse every finished chunk. Chunk ``c`` is scored by process ``c % world_size``; results are gathered
with ``accelerate.utils.gather_object`` and reassembled in the original order on every process.
A chunk is written to the cache as soon as it is done (atomically), which is what makes a killed run
resumable. Out-of-memory errors halve the batch size and retry the chunk.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genobench_hf import progress
from genobench_hf.contract import Protocol_, Scorer, ScoreRequest, SiteScores
from genobench_hf.errors import ModelError


def _frame_of(s: SiteScores) -> np.ndarray:
    """A result's per-site frame for the cache; -2 rows stand for "no frame recorded" (not fixed-frame)."""
    return s.frame if s.frame is not None else np.full((len(s.probs), 2), -2, dtype=np.int64)


def fingerprint(payload: dict[str, Any]) -> str:
    """Short stable hash of a JSON-able description (what makes a cached chunk reusable)."""
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class ExecutionStats:
    """Counters for the results' ``timing`` section."""

    seconds: float = 0.0
    nucleotides: int = 0
    sites: int = 0
    windows: int = 0
    cached_chunks: int = 0
    computed_chunks: int = 0
    batch_size_backoffs: int = 0
    by_key: dict[str, float] = field(default_factory=dict)

    @classmethod
    def combined(cls, parts: Sequence[ExecutionStats]) -> ExecutionStats:
        """The whole run from every process's counters: counts add up; the processes score in parallel,
        so the run's scoring time is the slowest process's (and throughput = total work / that time)."""
        keys = {k for p in parts for k in p.by_key}
        return cls(
            seconds=max((p.seconds for p in parts), default=0.0),
            nucleotides=sum(p.nucleotides for p in parts),
            sites=sum(p.sites for p in parts),
            windows=sum(p.windows for p in parts),
            cached_chunks=sum(p.cached_chunks for p in parts),
            computed_chunks=sum(p.computed_chunks for p in parts),
            batch_size_backoffs=sum(p.batch_size_backoffs for p in parts),
            by_key={k: max(p.by_key.get(k, 0.0) for p in parts) for k in sorted(keys)},
        )


#: what launchers set for the number of processes (torchrun; MPI implementations, as accelerate reads them)
WORLD_SIZE_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def launcher_mismatch(world_size: int, env: Mapping[str, str]) -> str | None:
    """Why a launcher apparently asked for several processes while this run has only one, else None.

    ``accelerate launch --num_processes N`` (N > 1) without a multi-process backend (e.g. with ``--cpu``)
    runs the script once, in one process; its only trace is the rendezvous address it exports
    (``MASTER_ADDR``/``MASTER_PORT``, accelerate's ``prepare_simple_launcher_cmd_env``), whereas torchrun
    and MPI also export the world size."""
    if world_size > 1:
        return None
    for var in WORLD_SIZE_VARS:
        value = env.get(var, "")
        if value.isdigit() and int(value) > 1:
            return (
                f"the launcher asked for {value} processes ({var}={value}) but this run has one process "
                "(world size 1): nothing is sharded"
            )
    if env.get("MASTER_ADDR") and env.get("MASTER_PORT") and not any(env.get(v) for v in WORLD_SIZE_VARS):
        return (
            "MASTER_ADDR/MASTER_PORT are set, as `accelerate launch --num_processes N` with N > 1 sets them, "
            "but this run has one process (world size 1): `accelerate launch --cpu` starts a single process "
            "whatever --num_processes says; for several CPU processes use `torchrun --nproc_per_node N` "
            "with ACCELERATE_USE_CPU=1 (ignore this if MASTER_ADDR is exported for another reason)"
        )
    return None


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom_types: tuple[type[BaseException], ...] = (MemoryError,)
    if hasattr(torch, "OutOfMemoryError"):
        oom_types += (torch.OutOfMemoryError,)
    return isinstance(exc, oom_types) or "out of memory" in str(exc).lower()


class ChunkedExecutor:
    """Scores windows chunk by chunk on this process's share, with a cache and batch-size backoff."""

    def __init__(
        self,
        *,
        rank: int = 0,
        world_size: int = 1,
        batch_size: int = 16,
        chunk_size: int = 64,
        cache_dir: Path | None = None,
        show_progress: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.rank = rank
        self.world_size = world_size
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.cache_dir = cache_dir
        self.show_progress = show_progress and rank == 0
        self.stats = ExecutionStats()

    # -- cache -----------------------------------------------------------------------------------
    def _chunk_path(self, key: str, index: int) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / key / f"chunk-{index:06d}.npz"

    @staticmethod
    def _content_hash(chunk: Sequence[ScoreRequest], protocol: str) -> str:
        """What a cached chunk must match: its windows, sites and protocol (not just their count)."""
        h = hashlib.sha256(protocol.encode())
        for w in chunk:
            h.update(w.window.encode())
            h.update(repr(w.sites).encode())
        return h.hexdigest()

    @staticmethod
    def _save(path: Path, scores: list[SiteScores], content: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".chunk.", suffix=".npz", dir=path.parent)
        os.close(fd)
        try:
            np.savez(
                tmp,
                probs=np.concatenate([s.probs for s in scores]),
                mass=np.concatenate([s.mass_outside for s in scores]),
                counts=np.array([len(s.probs) for s in scores], dtype=np.int64),
                paths=np.array([s.path for s in scores]),
                approximate=np.array([s.approximate for s in scores], dtype=bool),
                frame=np.concatenate([_frame_of(s) for s in scores]),
                content=np.array(content),
            )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _load(path: Path, content: str, counts: list[int]) -> list[SiteScores] | None:
        """The cached scores of a chunk, or None to recompute it: a chunk of other windows is silently
        ignored; one that cannot be read (truncated, empty, corrupt) is reported by name, then replaced."""
        try:
            with np.load(path) as data:
                if str(data["content"]) != content:
                    return None  # a chunk of other windows: ignore it, recompute
                stored = data["counts"].tolist()
                probs, mass = data["probs"], data["mass"]
                paths, approximate = data["paths"], data["approximate"]
                frame = data["frame"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            warnings.warn(f"cache chunk {path} is unreadable ({reason}); recomputing it", stacklevel=3)
            return None
        n = sum(counts)
        if (
            stored != counts or probs.shape != (n, 4) or mass.shape != (n,) or len(paths) != len(counts)
            or len(frame) != n
        ):  # fmt: skip
            warnings.warn(
                f"cache chunk {path} does not hold this chunk's sites; recomputing it", stacklevel=3
            )
            return None
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int)
        return [
            SiteScores(
                probs=probs[a:b],
                mass_outside=mass[a:b],
                path=str(p),
                approximate=bool(ap),
                frame=None if frame[a:b].min(initial=0) < -1 else frame[a:b],
            )
            for a, b, p, ap in zip(bounds[:-1], bounds[1:], paths, approximate, strict=True)
        ]

    # -- scoring ---------------------------------------------------------------------------------
    def _score_chunk(self, scorer: Scorer, requests: list[ScoreRequest]) -> list[SiteScores]:
        batch_size = self.batch_size
        while True:
            try:
                out = scorer.score(requests, batch_size)
                break
            except Exception as exc:
                if not _is_oom(exc) or batch_size == 1:
                    raise
                batch_size = max(1, batch_size // 2)
                self.stats.batch_size_backoffs += 1
                self.batch_size = batch_size
                try:
                    import torch

                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                except ImportError:  # pragma: no cover
                    pass
        if len(out) != len(requests):
            raise ModelError(f"scorer {scorer.name} returned {len(out)} results for {len(requests)} requests")
        return out

    def run(
        self,
        key: str,
        windows: Sequence[ScoreRequest],
        protocol: Protocol_,
        scorer: Scorer,
        desc: str = "",
        *,
        cache: bool = True,
    ) -> list[SiteScores]:
        """Score ``windows`` (this process's chunks), gather across processes, return all in order.

        ``cache=False`` for the many small steps of iterative decoding, where writing a file per step
        costs more than the step itself."""
        n_chunks = -(-len(windows) // self.chunk_size)
        mine = [c for c in range(n_chunks) if c % self.world_size == self.rank]
        done: dict[int, list[SiteScores]] = {}
        bar = progress.work(len(windows), unit="win", note=desc, enabled=self.show_progress)
        start_all = time.perf_counter()
        for c in mine:
            chunk = windows[c * self.chunk_size : (c + 1) * self.chunk_size]
            counts = [len(w.sites) for w in chunk]
            content = self._content_hash(chunk, protocol)
            path = self._chunk_path(key, c) if cache else None
            cached = self._load(path, content, counts) if path is not None and path.exists() else None
            if cached is not None:
                done[c] = cached
                self.stats.cached_chunks += 1
            else:
                requests = [w.bind(protocol) for w in chunk]
                t0 = time.perf_counter()
                done[c] = self._score_chunk(scorer, requests)
                self.stats.seconds += time.perf_counter() - t0
                self.stats.nucleotides += sum(len(w.window) for w in chunk)
                self.stats.sites += sum(counts)
                self.stats.windows += len(chunk)
                self.stats.computed_chunks += 1
                if path is not None:
                    self._save(path, done[c], content)
            bar.update(len(chunk) * self.world_size)
        self.stats.by_key[key] = self.stats.by_key.get(key, 0.0) + time.perf_counter() - start_all
        if self.world_size > 1:
            from accelerate.utils import gather_object

            merged: dict[int, list[SiteScores]] = {}
            for part in gather_object([done]):
                merged.update(part)
            done = merged
        return [s for c in range(n_chunks) for s in done[c]]
