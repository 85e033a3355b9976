"""Cached generation vs recomputing the prefix, on span infill of 30/100/300 nt (greedy).

The baseline is the path span_imputation used before: ``next_nucleotide`` through the model's scorer over
the whole prefix at every nucleotide (padded like every scorer input). The new path is
:mod:`genobench_hf.generation` (``kv`` for GPT-2, ``state`` for the LSTM). Both run in this process on the
same windows (100 nt of left flank, as span_imputation), and the script checks that the greedy outputs are
identical before printing ``RATIO generation_vs_recompute_<len>[_lstm] <recompute time / cached time>``.
One torch thread (per-token forwards on a shared 2-core machine are much slower with two).
"""

from __future__ import annotations

import argparse
import time

import torch

from genobench_hf import testing as T
from genobench_hf.generation import GenerationRequest, Generator, Sampling, _ScorerStepper, causal_generator
from genobench_hf.models import build_model, dna_char_tokenizer
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import wrap_model

FLANK = 100


def models() -> dict[str, object]:
    tok = T.char_tokenizer(causal=True)
    gpt2 = T.tiny_causal_lm(tok, seed=0, n_embd=64, n_layer=4, n_head=4)
    torch.manual_seed(0)
    lstm = build_model("lstm")
    return {"": wrap_model(gpt2, tok, name="gpt2-small"), "_lstm": wrap_model(lstm, dna_char_tokenizer(True))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16, help="spans per length (default 16)")
    parser.add_argument("--lengths", default="30,100,300")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lengths = [int(x) for x in args.lengths.split(",")]
    dna = T.real_dna(args.n * 1000, offset=2_000_000)
    greedy = Sampling()
    print(f"# greedy infill of {args.n} spans after {FLANK} nt of context; seconds and ratio per length")
    for suffix, loaded in models().items():
        cached = causal_generator(loaded)
        scorer = CausalLMScorer(loaded)
        recompute = Generator(loaded.name, "recompute", _ScorerStepper(scorer, batch_size=args.n))
        cached.generate([GenerationRequest(dna[:FLANK], 5)], greedy)  # warm-up
        for length in lengths:
            reqs = [GenerationRequest(dna[i * 1000 : i * 1000 + FLANK], length) for i in range(args.n)]
            t0 = time.perf_counter()
            fast = cached.generate(reqs, greedy, batch_size=args.n)
            t_fast = time.perf_counter() - t0
            t0 = time.perf_counter()
            slow = recompute.generate(reqs, greedy, batch_size=args.n)
            t_slow = time.perf_counter() - t0
            same = fast == slow
            print(
                f"# {loaded.name} ({cached.mode}) {length} nt: cached {t_fast:.2f} s, recompute {t_slow:.2f} s, "
                f"identical greedy output: {same}"
            )
            if not same:
                raise SystemExit("cached and recomputed greedy generations differ")
            print(f"RATIO generation_vs_recompute_{length}{suffix} {t_slow / t_fast:.1f}")


if __name__ == "__main__":
    main()
