"""Benchmark of the Markov baseline: speed on a ~5 Mb genome and the E. coli half/half figure table.

Speed is reported against baselines measured in the same run (machine load varies): the time to
integer-encode the genome, a naive per-site Python implementation of the same probabilities on a
subsample, the previous per-order k-mer counting (kept below as ``previous_fit``; counts asserted equal),
and the previous Markov step of ``markov:auto`` (fit at K = 12, select the order on validation sites, then
fit again at the chosen order) against the cached step of a first and a second evaluation.
Run: ``python benchmarks/bench_markov.py [--genome PATH] [--sites N] [--order K]``; ends with
``RATIO markov_fit_order12``, ``RATIO markov_first_eval`` and ``RATIO markov_second_eval`` lines.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

import numpy as np

from genobench_hf.scoring.markov import MarkovModel, encode
from genobench_hf.scoring.markov_counts import DENSE_MAX, INVALID, count_kmers
from genobench_hf.scoring.markov_select import MarkovCache, select_order
from genobench_hf.testing import genomes_root

GENOMES = genomes_root()  # ../shared/genomes, else the corpus embedded in the package
ECOLI = GENOMES / "PRO" / "Escherichia_coli_K-12_MG1655.fna.gz"
BIG = ECOLI  # 4.64 Mb
RATIOS: dict[str, float] = {}


def read_genome(path: Path) -> str:
    with gzip.open(path, "rt") as fh:
        return "".join(line.strip() for line in fh if not line.startswith(">")).upper()


def naive_left(model: MarkovModel, x: np.ndarray, site: int) -> np.ndarray:
    """Per-site Python loop over orders (the obvious implementation the vectorised path replaces)."""
    p = np.full(4, 0.25)
    for k in range(model.order + 1):
        ctx = x[site - k : site]
        if (ctx > 3).any():
            break
        code = np.array([int("".join(map(str, ctx.tolist())) or "0", 4)])
        p = model._step(k, model._counts(k, code), p[None, :])[0]
    return p


def _previous_count_chunk(x: np.ndarray, n_starts: int, order: int) -> list[list[np.ndarray]]:
    """The previous counting, verbatim: every order coded and counted separately (both strands)."""
    bad = np.concatenate(([0], np.cumsum(x == INVALID)))
    xs = np.where(x < 4, x, 0).astype(np.uint32)
    fwd = rev = np.zeros(0, dtype=np.uint32)
    out: list[list[np.ndarray]] = []
    for length in range(1, order + 2):
        n = min(n_starts, len(x) - length + 1)
        if n <= 0:
            out.append([])
            continue
        last = xs[length - 1 : length - 1 + n]
        fwd = (fwd[:n] * 4 + last) if length > 1 else last.copy()
        ok = bad[length : length + n] == bad[:n]
        out.append([fwd[ok]])
        rev = (rev[:n] + (3 - last) * np.uint32(4 ** (length - 1))) if length > 1 else 3 - last
        out[-1].append(rev[ok])
    return out


def _previous_merge(pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if len(pieces) <= 1:
        return pieces[0] if pieces else (np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32))
    codes = np.concatenate([p[0] for p in pieces])
    counts = np.concatenate([p[1] for p in pieces]).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    codes, counts = codes[order], counts[order]
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return codes[starts].astype(np.uint32), np.add.reduceat(counts, starts).astype(np.uint32)


def previous_counts(sequences: list[str], order: int, chunk: int = 1 << 22) -> tuple[list, list]:
    """``MarkovModel.fit``'s counting as it was: one bincount or np.unique per order and chunk."""
    n_dense = min(order, DENSE_MAX) + 1
    dense = [np.zeros(4 ** (k + 1), dtype=np.int64) for k in range(n_dense)]
    pieces: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(order + 1 - n_dense)]
    for seq in sequences:
        x = encode(seq)
        for start in range(0, len(x), chunk):
            for k, strands in enumerate(
                _previous_count_chunk(x[start : start + chunk + order], chunk, order)
            ):
                if k < n_dense:
                    for codes in strands:
                        dense[k] += np.bincount(codes, minlength=4 ** (k + 1))
                elif strands:
                    u, c = np.unique(np.concatenate(strands), return_counts=True)
                    pieces[k - n_dense].append((u, c.astype(np.uint32)))
    return [d.reshape(-1, 4) for d in dense], [_previous_merge(p) for p in pieces]


def previous_fit(sequences: list[str], order: int, *, discount: float = 0.0) -> MarkovModel:
    """``MarkovModel.fit`` as it was (previous counting, the same leave-one-out strengths)."""
    model = MarkovModel(order, discount, *previous_counts(list(sequences), order))
    model.strengths = model._loo_strengths()
    return model


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def speed(path: Path, order: int, n_sites: int) -> None:
    seq = read_genome(path)
    x, t_encode = timed(encode, seq)
    model, t_fit = timed(MarkovModel.fit, [seq], order)
    rng = np.random.default_rng(0)
    pos = np.sort(rng.choice(np.arange(order, len(x) - order), n_sites, replace=False))
    _, t_left = timed(model.score_positions, x, pos, two_sided=False)
    _, t_two = timed(model.score_positions, x, pos, two_sided=True)
    sub = pos[:500]
    naive, t_naive = timed(lambda: [naive_left(model, x, int(s)) for s in sub])
    assert np.allclose(model.score_positions(x, sub, two_sided=False), naive, rtol=1e-10)
    naive_rate, left_rate = len(sub) / t_naive, n_sites / t_left
    print(f"## speed: {path.name} ({len(seq) / 1e6:.2f} Mb), order {order}, {n_sites} sites")
    print(f"encode (baseline)        {t_encode:7.2f} s")
    print(f"fit (both strands, LOO)  {t_fit:7.2f} s   = {t_fit / t_encode:5.1f} x encode")
    print(f"score left-only          {t_left:7.2f} s   {left_rate:9.0f} sites/s")
    print(f"score two-sided          {t_two:7.2f} s   {n_sites / t_two:9.0f} sites/s")
    print(f"naive per-site left      {t_naive:7.2f} s   {naive_rate:9.0f} sites/s (500 sites)")
    print(f"vectorised / naive speed-up (left): {left_rate / naive_rate:.0f} x")
    print(f"fit + score two-sided: {t_fit + t_two:.2f} s (goal < 10 s)\n")


def fit_speed(path: Path, order: int, repeats: int = 3) -> None:
    """Best of ``repeats`` for the previous and the one-pass counting, alternated (the machine is shared)."""
    seq = read_genome(path)
    t_old, t_new = [], []
    for _ in range(repeats):
        old, dt = timed(previous_counts, [seq], order)
        t_old.append(dt)
        new, dt = timed(count_kmers, [seq], order)
        t_new.append(dt)
        same = all(np.array_equal(a.ravel(), b) for a, b in zip(old[0], new[0], strict=True)) and all(
            np.array_equal(a[i], b[i]) for a, b in zip(old[1], new[1], strict=True) for i in (0, 1)
        )
        assert same, "one-pass counts differ from the previous counts"
    _, t_loo = timed(MarkovModel.fit, [seq], order)
    t_loo -= min(t_new)
    print(f"## k-mer counting, order {order}, {path.name} ({len(seq) / 1e6:.2f} Mb), best of {repeats}")
    print(f"previous, per order      {min(t_old):6.2f} s")
    print(f"one pass (identical)     {min(t_new):6.2f} s")
    print(f"+ leave-one-out strengths ~{t_loo:5.2f} s (unchanged)\n")
    RATIOS[f"markov_count_order{order}"] = min(t_old) / min(t_new)
    RATIOS[f"markov_fit_order{order}"] = (min(t_old) + t_loo) / (min(t_new) + t_loo)


def auto_step(path: Path, n_sites: int) -> None:
    """The Markov step of ``markov:auto`` in two evaluations on the same data (fit on the first half of
    the genome, orders 1..12 selected on the second): the previous path against the cache."""
    seq = read_genome(path)
    train, valid = [seq[: len(seq) // 2]], [seq[len(seq) // 2 :]]
    orders = range(1, 13)

    def previous(folder: Path) -> MarkovModel:  # model_provider.markov as it was
        best, _ = select_order(lambda: train, valid, orders, n_sites=n_sites)
        cached = folder / f"order{best}.npz"
        if cached.exists():
            return MarkovModel.load(cached)
        model = previous_fit(train, best)
        model.save(cached)
        return model

    with tempfile.TemporaryDirectory(prefix="bench-markov-") as tmp:
        old_dir, new_dir = Path(tmp) / "old", Path(tmp) / "new"
        (old_dir).mkdir()
        with patch.object(MarkovModel, "fit", staticmethod(previous_fit)):  # select_order's fit, as it was
            old1, t_old1 = timed(previous, old_dir)
            old2, t_old2 = timed(previous, old_dir)
        (new1, best, _), t_new1 = timed(MarkovCache(new_dir).auto, train, valid, orders, n_sites=n_sites)
        (new2, _, _), t_new2 = timed(MarkovCache(new_dir).auto, train, valid, orders, n_sites=n_sites)
    assert old1.fingerprint == old2.fingerprint == new1.fingerprint == new2.fingerprint, "chains differ"
    print(f"## markov:auto step, {path.name} first half / second half, {n_sites} sites, chosen order {best}")
    print("|  | previous (fit 12 + select every time) | cached |")
    print("|---|---|---|")
    print(f"| first evaluation | {t_old1:.2f} s | {t_new1:.2f} s |")
    print(f"| second evaluation | {t_old2:.2f} s | {t_new2:.2f} s |")
    print("identical chain (fingerprint) on every path\n")
    RATIOS["markov_first_eval"] = t_old1 / t_new1
    RATIOS["markov_second_eval"] = t_old2 / t_new2


def figure_table(n_sites: int) -> None:
    seq = read_genome(ECOLI)
    half = len(seq) // 2
    model, t_fit = timed(MarkovModel.fit, [seq[:half]], 12)
    x = encode(seq[half:])
    rng = np.random.default_rng(0)
    pos = rng.choice(np.arange(128, len(x) - 128), n_sites, replace=False)
    truth = x[pos].astype(np.intp)
    print(
        f"## E. coli K-12 half/half: fit first half at K=12 in {t_fit:.2f} s, {n_sites} sites of the second half"
    )
    print("theta_k: " + " ".join(f"{t:.3g}" for t in model.strengths))
    print("| K | left bits | left acc | two-sided bits | two-sided acc | two-sided s |")
    print("|---|---|---|---|---|---|")
    for k in range(1, 13):
        sub = model.truncated(k)
        row = [f"{k}"]
        for two in (False, True):
            p, dt = timed(sub.score_positions, x, pos, two_sided=two)
            row += [
                f"{-np.log2(p[np.arange(len(pos)), truth]).mean():.4f}",
                f"{(p.argmax(1) == truth).mean():.4f}",
            ]
        print("| " + " | ".join([*row, f"{dt:.2f}"]) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genome", type=Path, default=BIG)
    ap.add_argument("--order", type=int, default=12)
    ap.add_argument("--sites", type=int, default=20000)
    ap.add_argument("--skip-figures", action="store_true", help="only the speed measurements")
    args = ap.parse_args()
    fit_speed(args.genome, args.order)
    auto_step(args.genome, args.sites)
    speed(args.genome, args.order, args.sites)
    if not args.skip_figures:
        figure_table(args.sites)
    for name, value in RATIOS.items():
        print(f"RATIO {name} {value:.2f}")


if __name__ == "__main__":
    main()
