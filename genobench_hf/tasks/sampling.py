"""Seeded choice of the windows and sites that every model is scored on.

The sites depend only on (seed, dataset, genome, sampling family) and the dataset rows, never on the model,
so every model is scored on the same sites. Rules (docs/ARCHITECTURE.md "Tasks and sampling"):

* genome datasets: an equal number of sites per genome, uniform over the ACGT positions at which both the
  centred imputation window and the left-context window fit inside one row (windows never cross chunks);
  ``imputation`` and ``next_nucleotide`` therefore share their sites;
* read datasets: the window is the read, one site per sampled read, uniform over its ACGT positions >= 1;
* dense windows: each ACGT position of a window is hidden with probability r (at least one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from genobench_hf.contract import IS_ACGT, ScoreRequest, gc_without  # noqa: F401  (gc_without re-exported)
from genobench_hf.seeding import stable_seed


def model_alphabet(seq: str) -> str:
    """Uppercase ACGT kept, everything else N: what models are shown (DESIGN.md data conventions)."""
    arr = np.frombuffer(seq.upper().encode("ascii", "replace"), dtype=np.uint8)
    return np.where(IS_ACGT[arr], arr, ord("N")).astype(np.uint8).tobytes().decode("ascii")


#: a sampled window with its hidden sites: the one request type, its protocol bound when it is scored
Window = ScoreRequest


def quotas(genome_ids: Sequence[str], total: int) -> dict[str, int]:
    """Equal share per genome (sorted ids); the remainder goes to the first genomes in that order."""
    ids = sorted(set(genome_ids))
    if not ids:
        return {}
    base, rem = divmod(total, len(ids))
    return {g: base + (1 if i < rem else 0) for i, g in enumerate(ids)}


def _group_rows(rows: Sequence[Mapping[str, object]]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(str(row["genome_id"]), []).append(i)
    return groups


def _per_genome(
    rows: Sequence[Mapping[str, object]], total: int, *seed_parts: object
) -> Iterator[tuple[str, int, list[int], np.random.Generator, list[str], list[np.ndarray]]]:
    """For each genome (sorted): its quota of ``total``, row indices, a seeded generator, and its rows'
    sequences in the model alphabet (as text and as bytes)."""
    groups = _group_rows(rows)
    for genome_id, n in quotas(list(groups), total).items():
        idx = groups[genome_id]
        rng = np.random.default_rng(stable_seed(*seed_parts, genome_id))
        texts = [model_alphabet(str(rows[i]["sequence"])) for i in idx]
        yield genome_id, n, idx, rng, texts, [np.frombuffer(t.encode("ascii"), dtype=np.uint8) for t in texts]


def _draw_positions(
    rng: np.random.Generator, seqs: Sequence[np.ndarray], lo: Sequence[int], hi: Sequence[int], n: int
) -> list[tuple[int, int]]:
    """Up to ``n`` distinct (row, position) pairs, uniform over valid ACGT positions of all rows."""
    sizes = np.array([max(0, h - low) for low, h in zip(lo, hi, strict=True)], dtype=np.int64)
    total = int(sizes.sum())
    if total <= 0 or n <= 0:
        return []
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    chosen: dict[tuple[int, int], None] = {}
    for _ in range(20):
        draws = rng.integers(0, total, size=max(4 * n, 64))
        which = np.searchsorted(offsets, draws, side="right") - 1
        for r, d in zip(which.tolist(), draws.tolist(), strict=True):
            pos = lo[r] + (d - int(offsets[r]))
            if IS_ACGT[seqs[r][pos]] and (r, pos) not in chosen:
                chosen[(r, pos)] = None
                if len(chosen) == n:
                    return list(chosen)
    return list(chosen)


def _read_sites(rng: np.random.Generator, seqs: Sequence[np.ndarray], n: int) -> list[tuple[int, int]]:
    """``n`` distinct (read, position >= 1) ACGT sites: one per read in a seeded order, cycling through the
    reads again (new positions) when a genome has fewer reads than sites."""
    picked: dict[tuple[int, int], None] = {}
    for _ in range(max(1, -(-4 * n // max(len(seqs), 1)))):
        for r in rng.permutation(len(seqs)).tolist():
            if len(picked) == n:
                return list(picked)
            cand = np.flatnonzero(IS_ACGT[seqs[r]][1:]) + 1
            if cand.size:
                picked.setdefault((r, int(cand[rng.integers(cand.size)])), None)
    return list(picked)


def sample_sites(
    rows: Sequence[Mapping[str, object]],
    *,
    n_sites: int,
    window: int,
    seed: int,
    dataset: str,
    reads: bool,
    protocol: str,
) -> list[Window]:
    """One hidden site per window for ``imputation`` (centred) or ``next_nucleotide`` (site last)."""
    left_only = protocol == "next_nucleotide"
    out: list[Window] = []
    for genome_id, n, idx, rng, seqs_txt, seqs in _per_genome(rows, n_sites, seed, "sites", dataset):
        if reads:
            picked = _read_sites(rng, seqs, n)
        else:
            half = window // 2
            lo = [window - 1] * len(idx)
            hi = [len(s) - (window - half) + 1 for s in seqs_txt]
            picked = _draw_positions(rng, seqs, lo, hi, n)
        for r, pos in picked:
            seq = seqs_txt[r]
            if reads:
                start, end = 0, (pos + 1 if left_only else len(seq))
            elif left_only:
                start, end = pos - window + 1, pos + 1
            else:
                start = pos - window // 2
                end = start + window
            win = seq[start:end]
            site = pos - start
            out.append(Window.make(genome_id, idx[r], start, win, (site,)))
    return out


def sample_dense_windows(
    rows: Sequence[Mapping[str, object]],
    *,
    n_sites: int,
    window: int,
    mask_rate: float,
    seed: int,
    dataset: str,
    reads: bool,
) -> list[Window]:
    """Windows with a random set of hidden ACGT positions (rate ``mask_rate``, at least one each)."""
    per_window = max(1, round(window * mask_rate))
    n_windows = max(1, -(-n_sites // per_window))
    out: list[Window] = []
    for genome_id, n, idx, rng, seqs_txt, seqs in _per_genome(rows, n_windows, seed, "dense", dataset):
        if reads:
            starts = [(int(r), 0) for r in rng.permutation(len(idx))[:n]]
        else:
            lo = [0] * len(idx)
            hi = [len(s) - window + 1 for s in seqs_txt]
            starts = _draw_positions(rng, seqs, lo, hi, n)
        for r, start in starts:
            win = seqs_txt[r] if reads else seqs_txt[r][start : start + window]
            acgt = np.flatnonzero(IS_ACGT[np.frombuffer(win.encode("ascii"), dtype=np.uint8)])
            if acgt.size == 0:
                continue
            hidden = acgt[rng.random(acgt.size) < mask_rate]
            if hidden.size == 0:
                hidden = acgt[[rng.integers(acgt.size)]]
            sites = tuple(int(s) for s in hidden)
            out.append(Window.make(genome_id, idx[r], start, win, sites))
    return out


def sample_spans(
    rows: Sequence[Mapping[str, object]],
    *,
    n_spans: int,
    span: int,
    flank: int,
    seed: int,
    dataset: str,
    reads: bool,
) -> list[Window]:
    """Windows of ``flank + span + flank`` nt whose central span (all ACGT) is hidden as a whole.

    Reads are their own window: the span is placed uniformly inside the read (reads shorter than the
    span give nothing).
    """
    out: list[Window] = []
    for genome_id, n, idx, rng, seqs_txt, _ in _per_genome(rows, n_spans, seed, "span", span, dataset):
        width = span + 2 * flank
        picked = 0
        for _ in range(50 * max(n, 1)):
            if picked == n:
                break
            r = int(rng.integers(len(idx)))
            seq = seqs_txt[r]
            if reads:
                if len(seq) < span + 2:
                    continue
                start, lo = 0, int(rng.integers(1, len(seq) - span))
                win = seq
            else:
                if len(seq) < width:
                    continue
                start = int(rng.integers(0, len(seq) - width + 1))
                win, lo = seq[start : start + width], flank
            if "N" in win[lo : lo + span]:
                continue
            sites = tuple(range(lo, lo + span))
            out.append(Window.make(genome_id, idx[r], start, win, sites))
            picked += 1
    return out
