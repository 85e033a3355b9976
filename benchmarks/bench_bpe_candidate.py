"""BPE masked candidate path: each distinct masked input once vs all 4 candidate inputs per site.

For a masked LM with a BPE tokenizer the candidate scorer masks one span fixed from x_{-i} in each of
the 4 candidate sequences; where the candidates' token counts inside the span agree, the masked inputs
are the same sequence. ``CandidateScorer(dedup=True)`` runs each distinct input once and reads every
candidate from it; ``dedup=False`` is the former path (4 forwards per site). Both sides score the same
imputation sites (real E. coli windows of the task default 256 nt, batch 32) with a ~5M-parameter
BertForMaskedLM and a 256-token BPE trained on real DNA; the numbers must be identical (checked).

Prints ``RATIO bpe_candidate_forwards <x>`` (model inputs run, former / now; goal >= 2) and
``RATIO bpe_candidate_time <x>`` (CPU time of this process, former / now, best of 3, alternating, 1
torch thread; wall times printed beside).
Run: ``python benchmarks/bench_bpe_candidate.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from bench_scoring import MASKED_CFG, n_params

from genobench_hf.scoring.candidate import CandidateScorer
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.testing import bpe_tokenizer, real_dna, sample_requests, tiny_masked_lm

BATCH = 32
WINDOW = 256


def best_of_cpu(fns: Sequence[Callable[[], object]], repeats: int) -> list[tuple[float, float]]:
    """(CPU seconds of this process, wall seconds), best of ``repeats`` for each function, alternating.
    On 1 torch thread the CPU time is the work done, whatever else the shared machine runs."""
    best = [(float("inf"), float("inf"))] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            c, w = time.process_time(), time.perf_counter()
            fn()
            c, w = time.process_time() - c, time.perf_counter() - w
            best[i] = (min(best[i][0], c), min(best[i][1], w))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sites, 1 repeat (smoke run)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest on a shared CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n_sites, repeats = (32, 1) if args.quick else (200, 3)
    tok = bpe_tokenizer()
    model = tiny_masked_lm(tok, seed=0, **MASKED_CFG)
    loaded = wrap_model(model, tok, name="bert-bpe")
    reqs = sample_requests(
        real_dna(1_000_000, offset=1_000_000), "imputation", n_sites, window=WINDOW, seed=12
    )
    now, former = CandidateScorer(loaded), CandidateScorer(loaded, dedup=False)
    p_now = np.concatenate([s.probs for s in now.score(reqs, BATCH)])
    p_former = np.concatenate([s.probs for s in former.score(reqs, BATCH)])
    n_former, n_now = former.forwards, now.forwards  # one scoring pass each
    (c_now, w_now), (c_former, w_former) = best_of_cpu(
        [lambda: now.score(reqs, BATCH), lambda: former.score(reqs, BATCH)], repeats
    )
    print(f"# BPE masked candidate path: BertForMaskedLM {n_params(model) / 1e6:.1f}M, {n_sites} sites, "
          f"window {WINDOW}, batch {BATCH}, CPU, {torch.get_num_threads()} threads, best of {repeats}")  # fmt: skip
    print(f"forwards: former {n_former} (4 per site), now {n_now} "
          f"({n_now / n_sites:.2f} per site); CPU time: former {c_former:.2f} s, now {c_now:.2f} s (wall {w_former:.2f} / {w_now:.2f} s); "
          f"identical numbers: {np.array_equal(p_now, p_former)} "
          f"(max |dp| {np.abs(p_now - p_former).max():.1e})")  # fmt: skip
    print(f"RATIO bpe_candidate_forwards {n_former / n_now:.3f}")
    print(f"RATIO bpe_candidate_time {c_former / c_now:.3f}")


if __name__ == "__main__":
    main()
