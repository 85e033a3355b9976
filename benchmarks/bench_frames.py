"""Cost of the frame rule (genobench_hf.scoring.frames) on the masked fixed-frame path.

Scores the same real-DNA requests with a tiny masked LM on Nucleotide-Transformer-style 6-mers (the kind
whose alignment calls the tokenizer) and on overlapping 5-mers at stride 2, once with the frame rule and
once on the plain units (the baseline, same run), and prints CPU-time ratios (steadier than wall clock on
a loaded machine). Goal: the rule costs well under 2x. Not a test: run ``python benchmarks/bench_frames.py``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from genobench_hf import testing as T
from genobench_hf.scoring.candidate import expand_units
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer


class Unframed(MaskedLMScorer):
    """The fast path without the frame rule (the baseline)."""

    def _units(self, requests: Any) -> Any:
        return expand_units(requests)


def cpu_seconds(sc: MaskedLMScorer, requests: list, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        sc.score(requests, 32)
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    dna = T.real_dna(200_000, offset=1_000_000)
    for name, tok, kind in (
        ("nt6", T.kmer_tokenizer(6), "kmer:6"),
        ("kmer5s2", T.kmer_tokenizer(5, overlapping=True), "kmer:5:2"),
    ):
        loaded = wrap_model(T.tiny_masked_lm(tok), tok, tokenizer_kind=kind)
        for protocol in ("imputation", "next_nucleotide"):
            reqs = T.sample_requests(dna, protocol, args.sites, window=256)
            framed = cpu_seconds(MaskedLMScorer(loaded), reqs, args.repeats)
            plain = cpu_seconds(Unframed(loaded), reqs, args.repeats)
            print(f"{name} {protocol}: framed {framed:.2f} s, plain {plain:.2f} s (CPU, {args.sites} sites)")
            print(f"RATIO frames_cost_{name}_{protocol} {framed / plain:.2f}")


if __name__ == "__main__":
    main()
