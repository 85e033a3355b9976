"""Benchmark of the Markov baseline: speed on a ~5 Mb genome and the E. coli half/half figure table.

Speed is reported against baselines measured in the same run (machine load varies): the time to
integer-encode the genome, and a naive per-site Python implementation of the same probabilities on a
subsample. Run: ``python benchmarks/bench_markov.py [--genome PATH] [--sites N] [--order K]``.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import numpy as np

from genobench_hf.scoring.markov import MarkovModel, encode

GENOMES = Path(__file__).resolve().parents[2] / "shared" / "genomes"
ECOLI = GENOMES / "PRO" / "Escherichia_coli_K-12_MG1655.fna.gz"
BIG = ECOLI  # 4.64 Mb


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
    args = ap.parse_args()
    speed(args.genome, args.order, args.sites)
    figure_table(args.sites)


if __name__ == "__main__":
    main()
