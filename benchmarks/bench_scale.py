"""Does scoring grow linearly with input size? Time n and 10n windows through the runner's executor.

The baseline is the same scorer on n windows in the same run; the printed ratio time(10n)/time(n) should
be ~10 (linear), not more. Sharding across processes is exercised by tests/test_runner.py (torchrun, 2
processes, identical numbers); per-process throughput adds up because chunks are independent.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from genobench_hf import testing as T
from genobench_hf.execution import ChunkedExecutor
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.markov import MarkovModel, MarkovScorer
from genobench_hf.scoring.masked import MaskedLMScorer
from genobench_hf.tasks.sampling import Window


def windows(n: int, length: int = 256, seed: int = 0) -> list[Window]:
    dna = T.real_dna(n * 16 + length, offset=500_000)
    rng = np.random.default_rng(seed)
    out = []
    for start in rng.integers(0, len(dna) - length, size=n).tolist():
        win = dna[start : start + length]
        site = length // 2
        if win[site] in "ACGT":
            out.append(Window.make("g", 0, start, win, (site,)))
    return out


def timed(scorer, wins: list[Window], protocol: str) -> float:  # type: ignore[no-untyped-def]
    ex = ChunkedExecutor(batch_size=32, show_progress=False)
    t0 = time.perf_counter()
    ex.run("bench", wins, protocol, scorer)  # type: ignore[arg-type]
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=64, help="windows in the small input (default 64)")
    n = parser.parse_args().n
    tok = T.char_tokenizer()
    mlm = MaskedLMScorer(wrap_model(T.tiny_masked_lm(tok, seed=0), tok))
    markov = MarkovScorer(MarkovModel.fit([T.real_dna(1_000_000)], 6))
    print(f"# scoring time vs input size ({n} and {10 * n} windows of 256 nt)")
    print(f"{'scorer':<24}{'n s':>9}{'10n s':>9}{'ratio':>8}  (linear = 10)")
    for name, scorer in (("tiny char MLM", mlm), ("markov:6", markov)):
        small, big = windows(n), windows(10 * n, seed=1)
        timed(scorer, small[:8], "imputation")  # warm-up
        t1, t10 = timed(scorer, small, "imputation"), timed(scorer, big, "imputation")
        print(f"{name:<24}{t1:9.2f}{t10:9.2f}{t10 / t1 * len(small) / len(big) * 10:8.1f}")


if __name__ == "__main__":
    main()
