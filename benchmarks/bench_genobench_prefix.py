"""genobench's own causal baselines, two-sided imputation: shared left prefix run once vs 4 full windows.

Like ``bench_causal_prefix.py`` (same sites: real E. coli windows of the task default 256 nt, site at the
centre), but for genobench's own architectures at their default sizes (random weights; speed does not
depend on them): the transformer through its key/value cache, the LSTM (its recurrent state) and
the CNN (its layers' last receptive-field inputs) through their ``state``
(``resumable_state``). Both sides are ``CausalLMScorer.score`` at ``genobench evaluate``'s default batch
of 16: ``prefix_cache=True`` against ``prefix_cache=False`` (4 full windows per site, the path these
models took before). Warm-up once (it runs the self-check), then best of 3, alternating, 1 torch thread;
the ratio is of the process's CPU time, wall beside. Also prints the largest probability difference.

Prints ``RATIO genobench_prefix_bayes_<arch> <x>`` per arch and ``RATIO genobench_prefix_bayes <x>``,
the smallest. Run: ``python benchmarks/bench_genobench_prefix.py [--quick]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from bench_causal_prefix import WINDOW, best_of_cpu
from bench_scoring import n_params

import genobench_hf.models as M
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.testing import real_dna, sample_requests

BATCH = 16  # genobench evaluate's default
ARCHS = ("transformer", "cnn")  # the LSTM state path is off (layers.LstmStack.resumable)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sites, 1 repeat (smoke run)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest on a shared CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n_sites, repeats = (8, 1) if args.quick else (128, 3)
    reqs = sample_requests(
        real_dna(1_000_000, offset=1_000_000), "imputation", n_sites, window=WINDOW, seed=11
    )
    print(f"# genobench baselines, prefix-shared Bayes: {n_sites} imputation sites, window {WINDOW}, "
          f"batch {BATCH}, CPU, {torch.get_num_threads()} threads, best of {repeats}")  # fmt: skip
    print(f"{'model':22} {'full s':>7} {'prefix s':>9} {'ratio':>7} {'wall':>7} {'max |dp|':>9}  (CPU s)")
    ratios: dict[str, float] = {}
    tok = M.dna_char_tokenizer(causal=True)
    for arch in ARCHS:
        torch.manual_seed(0)
        model = M.build_model(arch).eval()
        loaded = wrap_model(model, tok, name=arch)
        fast, full = CausalLMScorer(loaded), CausalLMScorer(loaded, prefix_cache=False)
        p_fast = np.concatenate([s.probs for s in fast.score(reqs, BATCH)])  # warm-up + self-check
        p_full = np.concatenate([s.probs for s in full.score(reqs, BATCH)])
        assert fast._cache_ok, "the shared-prefix path fell back to full windows"
        (c_fast, w_fast), (c_full, w_full) = best_of_cpu(
            [lambda s=fast: s.score(reqs, BATCH), lambda s=full: s.score(reqs, BATCH)], repeats
        )
        ratios[arch] = c_full / c_fast
        label = f"{arch} {n_params(model) / 1e3:.0f}k char"
        print(f"{label:22} {c_full:7.2f} {c_fast:9.2f} {ratios[arch]:6.2f}x {w_full / w_fast:6.2f}x "
              f"{np.abs(p_fast - p_full).max():9.1e}")  # fmt: skip
    for name, r in ratios.items():
        print(f"RATIO genobench_prefix_bayes_{name} {r:.3f}")
    print(f"RATIO genobench_prefix_bayes {min(ratios.values()):.3f}")


if __name__ == "__main__":
    main()
