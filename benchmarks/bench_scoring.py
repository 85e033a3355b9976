"""Benchmark of the transformer scoring paths on a ~5M-parameter single-nucleotide model (CPU).

(a) Runner overhead: forward-pass tokens/s of ``MaskedLMScorer.score`` against a bare
``model(input_ids=..., attention_mask=...)`` loop under ``torch.inference_mode()`` over the SAME batches
(32 windows of 510 nt of real E. coli DNA = 512 tokens with [CLS]/[SEP]), for the sparse protocol
(``imputation``, one hidden site per window) and the dense one (``imputation_dense``, 15% hidden). The
scorer also tokenises, masks, pads and reduces log-probs to A/C/G/T, so the ratio scorer/bare says how
much of the time goes to the model (goal >= 0.9x). Warm-up once, then best of 3 on each side.
(b) Scored sites/s for the sparse, dense, candidate (4 candidate forwards per site) and causal two-sided
(Bayes over 4 candidates, a similar-size GPT-2) paths: what a task costs per site on each path.
Run: ``python benchmarks/bench_scoring.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import torch

from genobench_hf.scoring.base import Scorer, ScoreRequest
from genobench_hf.scoring.candidate import CandidateScorer
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer
from genobench_hf.testing import char_tokenizer, real_dna, sample_requests, tiny_causal_lm, tiny_masked_lm

BATCH = 32
WINDOW = 510  # nt: + [CLS] and [SEP] = 512 tokens, already a multiple of the scorer's padding bucket
MASKED_CFG = dict(hidden_size=256, num_hidden_layers=6, num_attention_heads=4, intermediate_size=1024)
CAUSAL_CFG = dict(n_embd=256, n_layer=6, n_head=4)


def best_of(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Best wall time of each function over ``repeats`` rounds (the least disturbed by other load); the
    functions alternate within a round, so load drift on the machine hits every side alike."""
    times = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[i] = min(times[i], time.perf_counter() - t)
    return times


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def bare_batches(tok: object, requests: Sequence[ScoreRequest]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The scorer's inputs built by hand: tokenised windows with every hidden site's token masked."""
    out = []
    for start in range(0, len(requests), BATCH):
        chunk = requests[start : start + BATCH]
        ids = torch.tensor(tok([q.window for q in chunk])["input_ids"])  # type: ignore[operator]
        for row, q in enumerate(chunk):
            ids[row, torch.tensor(q.sites) + 1] = tok.mask_token_id  # type: ignore[attr-defined]
        out.append((ids, torch.ones_like(ids)))
    return out


def bare_loop(model: torch.nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    with torch.inference_mode():
        for ids, mask in batches:
            model(input_ids=ids, attention_mask=mask)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 batch per measure, 1 repeat (smoke run)")
    args = ap.parse_args()
    n_batches, n_slow, repeats = (1, 8, 1) if args.quick else (4, 16, 3)
    torch.manual_seed(0)
    dna = real_dna(1_000_000, offset=1_000_000)

    tok = char_tokenizer()
    model = tiny_masked_lm(tok, seed=0, **MASKED_CFG)
    loaded = wrap_model(model, tok, name="bert-5m")
    scorer = MaskedLMScorer(loaded)
    print(f"# scoring benchmark: BertForMaskedLM {n_params(model) / 1e6:.2f}M params, char tokens, CPU, "
          f"{torch.get_num_threads()} threads, batch {BATCH} x {WINDOW + 2} tokens, "
          f"{n_batches} batches, best of {repeats}")  # fmt: skip

    rates: dict[str, float] = {}
    print("\n## (a) runner vs bare forward (forward-pass tokens/s)")
    print(f"{'protocol':18} {'bare tok/s':>11} {'scorer tok/s':>13} {'ratio':>7} {'sites/s':>9}")
    for protocol in ("imputation", "imputation_dense"):
        reqs = sample_requests(dna, protocol, n_batches * BATCH, window=WINDOW, seed=1)
        batches = bare_batches(tok, reqs)
        assert all(ids.shape == (len(ids), WINDOW + 2) for ids, _ in batches)
        scorer.score(reqs[:BATCH], batch_size=BATCH)  # warm-up
        bare_loop(model, batches[:1])
        t_score, t_bare = best_of(
            [lambda r=reqs: scorer.score(r, batch_size=BATCH), lambda b=batches: bare_loop(model, b)],
            repeats,
        )
        tokens = sum(ids.numel() for ids, _ in batches)
        n_sites = sum(len(q.sites) for q in reqs)
        rates[protocol] = n_sites / t_score
        print(f"{protocol:18} {tokens / t_bare:11.0f} {tokens / t_score:13.0f} "
              f"{t_bare / t_score:6.3f}x {rates[protocol]:9.1f}")  # fmt: skip

    causal_tok = char_tokenizer(causal=True)
    causal = tiny_causal_lm(causal_tok, seed=0, **CAUSAL_CFG)
    slow: list[tuple[str, Scorer]] = [
        ("candidate (masked)", CandidateScorer(loaded)),
        (f"causal two-sided (GPT-2 {n_params(causal) / 1e6:.2f}M)",
         CausalLMScorer(wrap_model(causal, causal_tok, name="gpt2-5m"))),
    ]  # fmt: skip
    reqs = sample_requests(dna, "imputation", n_slow, window=WINDOW, seed=2)
    for label, s in slow:
        s.score(reqs[:2], batch_size=BATCH)  # warm-up
        rates[label] = len(reqs) / best_of([lambda s=s: s.score(reqs, batch_size=BATCH)], repeats)[0]

    print(f"\n## (b) scored sites/s (candidate and causal: {n_slow} imputation sites, 4 forwards each)")
    for label, rate in rates.items():
        print(f"{label:40} {rate:9.1f} sites/s")
    print(
        "\n## (c), (d): Markov baseline speed and the E. coli figure table: python benchmarks/bench_markov.py"
    )


if __name__ == "__main__":
    main()
