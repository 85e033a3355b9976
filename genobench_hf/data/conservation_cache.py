"""On-disk cache of conservation tracks, so that the strain alignments (~30 s per genome) run once.

A track is stored as one compressed ``.npz`` (per contig ``aligned``/``agree`` uint8 arrays, plus JSON
metadata: contigs and lengths, strains, preset, per-strain reports) under a key that is the sha256 of
everything it depends on: the bytes of the reference genome file and of every strain file (with the
strain ids), the minimap2 preset, the mappy version and ``CACHE_VERSION`` (bumped when the bookkeeping
in ``conservation.py`` changes). Files are written to a temporary name in the cache folder and renamed
into place (``os.replace``), so concurrent builds and ``--num-proc`` workers never see half a file; an
unreadable or mismatching file is recomputed and replaced.

Folder: ``$GENOBENCH_CACHE/conservation``, else ``~/.cache/genobench/conservation``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from genobench_hf.data.conservation import (
    DEFAULT_PRESET,
    ConservationTrack,
    StrainReport,
    conservation_track,
    read_genome,
    strains_for,
)
from genobench_hf.data.taxonomy import GenomeEntry, sha256_file

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$GENOBENCH_CACHE/conservation``, else ``~/.cache/genobench/conservation``."""
    root = os.environ.get("GENOBENCH_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "genobench") / "conservation"


def _mappy_version() -> str:
    try:
        from importlib.metadata import version

        return version("mappy")
    except Exception:  # not installed: conservation_track raises the clear error later
        return "unknown"


def cache_key(reference: Path, strains: Sequence[GenomeEntry], preset: str) -> str:
    """sha256 over the reference and strain file contents, strain ids, preset and aligner version."""
    payload = {
        "version": CACHE_VERSION,
        "mappy": _mappy_version(),
        "preset": preset,
        "reference": sha256_file(Path(reference)),
        "strains": [[s.genome_id, sha256_file(s.path)] for s in strains],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def save_track(path: Path, track: ConservationTrack) -> None:
    """Write ``track`` atomically (temporary file in the same folder, then rename)."""
    contigs = list(track.n_aligned)
    meta = {
        "contigs": [[c, int(track.n_aligned[c].size)] for c in contigs],
        "strains": list(track.strains),
        "preset": track.preset,
        "reports": [
            [r.strain_id, r.n_hits, r.aligned_bases, r.agreeing_bases, r.seconds, r.cpu_seconds]
            for r in track.reports
        ],
    }
    arrays = {f"aligned_{i}": track.n_aligned[c] for i, c in enumerate(contigs)}
    arrays |= {f"agree_{i}": track.n_agree[c] for i, c in enumerate(contigs)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_track(path: Path, reference: Mapping[str, str], strains: Sequence[str]) -> ConservationTrack | None:
    """The cached track if it exists and fits ``reference`` (contig ids and lengths) and ``strains``."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            contigs = [(c, n) for c, n in meta["contigs"]]
            if {c: n for c, n in contigs} != {c: len(s) for c, s in reference.items()}:
                return None
            if meta["strains"] != list(strains):
                return None
            track = ConservationTrack(strains=tuple(meta["strains"]), preset=meta["preset"])
            for i, (c, n) in enumerate(contigs):
                aligned, agree = data[f"aligned_{i}"], data[f"agree_{i}"]
                if (
                    aligned.dtype != np.uint8
                    or agree.dtype != np.uint8
                    or aligned.size != n
                    or agree.size != n
                ):
                    return None
                track.n_aligned[c], track.n_agree[c] = aligned, agree
            track.reports = [StrainReport(*r) for r in meta["reports"]]
            return track
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile, json.JSONDecodeError):
        return None


def cached_genome_conservation(
    entry: GenomeEntry,
    strains: Sequence[GenomeEntry],
    *,
    reference: Mapping[str, str],
    preset: str = DEFAULT_PRESET,
    cache_dir: Path | None = None,
) -> tuple[ConservationTrack | None, bool]:
    """``genome_conservation`` through the cache: (track or None without strains, whether it was cached).

    A cache folder that cannot be written only costs the reuse (the track is still returned).
    """
    mine = strains_for(entry, strains)
    if not mine:
        return None, False
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{cache_key(entry.path, mine, preset)}.npz"
    ids = [s.genome_id for s in mine]
    if path.is_file():
        track = load_track(path, reference, ids)
        if track is not None:
            return track, True
    track = conservation_track(
        dict(reference), {s.genome_id: read_genome(s.path) for s in mine}, preset=preset
    )
    with contextlib.suppress(OSError):
        save_track(path, track)
    return track, False
