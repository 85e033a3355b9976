"""Splicing a genomic sequence against a protein with exonerate (``protein2genome``), as Evo 2 did.

``exonerate`` is a command-line program (Debian/Ubuntu package ``exonerate``), not a Python package, so
its absence is a :class:`~genobench_hf.errors.ConfigError` with the install command, raised before any
generation starts. One call per sequence (the best hit only, ``--bestn 1``); calls run in parallel
threads, one per available CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from genobench_hf.errors import ConfigError

INSTALL_HINT = (
    "install it (Debian/Ubuntu: apt-get install exonerate; conda: conda install -c bioconda exonerate)"
)


@dataclass(frozen=True)
class SplicedHit:
    """exonerate's best protein2genome hit: the query residues aligned ``[q_start, q_end)``, the target
    strand, the spliced coding sequence, and the target position where each aligned residue starts."""

    q_start: int
    q_end: int
    strand: str
    cds: str
    residue_starts: tuple[int, ...]


def exonerate_path() -> str:
    """The exonerate executable, or a one-line ConfigError saying how to install it."""
    path = shutil.which("exonerate")
    if path is None:
        raise ConfigError(
            "the eukaryote gene-completion protocol splices generations with exonerate (protein2genome), "
            f"which is not on PATH; {INSTALL_HINT}"
        )
    return path


def _residue_starts(ops: Sequence[str], q: int, t: int) -> list[int]:
    """Target position of the first nucleotide of each aligned query residue, from a vulgar string's
    (op, query length, target length) triplets (forward strand)."""
    starts: list[int] = []
    split_start: int | None = None
    for i in range(0, len(ops) - 2, 3):
        op, ql, tl = ops[i], int(ops[i + 1]), int(ops[i + 2])
        if op == "S" and ql == 0:
            split_start = t  # first part of a codon split by an intron: the residue starts here
        elif ql:
            if op in ("M", "C"):
                starts.extend(t + 3 * k for k in range(ql))
            else:  # a split codon's residue starts in its first part; gap residues at the current position
                first = split_start if (op == "S" and split_start is not None) else t
                starts.extend([first] + [t] * (ql - 1))
            split_start = None
        q += ql
        t += tl
    return starts


def parse_exonerate(text: str) -> SplicedHit | None:
    """The hit in exonerate's output (``--showvulgar yes --ryo '##cds\\n%tcs##end\\n'``), None if none."""
    vulgar = next((line for line in text.splitlines() if line.startswith("vulgar:")), None)
    body = "" if vulgar is None else text[text.index(vulgar) + len(vulgar) :]  # the header echoes --ryo
    if vulgar is None or "##cds" not in body:
        return None
    f = vulgar.split()
    q_start, q_end, t_start, strand = int(f[2]), int(f[3]), int(f[6]), f[8]
    cds = "".join(body.split("##cds", 1)[1].split("##end", 1)[0].split()).upper()
    starts = _residue_starts(f[10:], q_start, t_start) if strand == "+" else []
    return SplicedHit(q_start, q_end, strand, cds, tuple(starts))


def splice_one(
    protein: str, genomic: str, *, exe: str | None = None, timeout: float = 600
) -> SplicedHit | None:
    """exonerate protein2genome of ``protein`` (no trailing stop) against ``genomic``; None if no hit."""
    exe = exe or exonerate_path()
    if not protein or not genomic:
        return None
    with tempfile.TemporaryDirectory(prefix="genobench-exonerate-") as tmp:
        q, t = Path(tmp) / "q.fa", Path(tmp) / "t.fa"
        q.write_text(f">query\n{protein}\n")
        t.write_text(f">target\n{genomic}\n")
        cmd = [
            exe, "--model", "protein2genome", "--query", str(q), "--target", str(t), "--bestn", "1",
            "--showalignment", "no", "--showvulgar", "yes", "--ryo", "##cds\\n%tcs##end\\n",
        ]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ConfigError(
                f"exonerate took more than {timeout:.0f} s on a {len(genomic)}-nt sequence"
            ) from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise ConfigError(f"exonerate failed (exit {done.returncode}): {first}")
    return parse_exonerate(done.stdout)


def splice_many(protein: str, genomic: Sequence[str]) -> list[SplicedHit | None]:
    """:func:`splice_one` for many sequences against one protein, in parallel threads."""
    exe = exonerate_path()
    workers = max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda g: splice_one(protein, g, exe=exe), genomic))
