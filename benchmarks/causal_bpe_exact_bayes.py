"""Issue 11.5 figure: a briefly trained causal GPT-2 with a 256-token BPE, scored on 300 imputation sites.

Compares the former rule (each candidate window scored by sum log(p * |V|) over its tokens) with exact
Bayes (sum log p over ALL tokens of each candidate window, the first given BOS), both computed here by
brute force (one full forward per candidate window), and with what ``CausalLMScorer`` reports now.
Trains ``--steps`` AdamW steps of 16 x 512 nt on E. coli 600-1000 kb (seeded), scores windows of 256 nt from
3.0-3.3 Mb. Not a speed benchmark: it prints bits/accuracy per rule and how many sites have candidates
with different token counts. Run: ``python benchmarks/causal_bpe_exact_bayes.py [--steps 160]``.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from genobench_hf import testing as T
from genobench_hf.scoring.base import BASES
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import wrap_model


def train(tok: object, steps: int) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(0)
    model = T.tiny_causal_lm(tok, n_embd=64, n_layer=2, n_head=2, initializer_range=0.02).train()
    dna = T.real_dna(400_000, offset=600_000)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        starts = rng.integers(0, len(dna) - 512, 16)
        enc = tok([dna[s : s + 512] for s in starts], padding=True, return_tensors="pt")  # type: ignore[operator]
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        loss = model(**enc, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), float(loss.detach())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=160, help="training steps (brief on purpose)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tok = T.bpe_tokenizer(causal=True)
    model, loss = train(tok, args.steps)
    print(f"trained {args.steps} steps of 16 x 512 nt, last loss {loss:.3f} nats/token")
    reqs = T.sample_requests(T.real_dna(300_000, 3_000_000), "imputation", 300, window=256, seed=0)
    n_vocab = len(tok)
    rules: dict[str, list[np.ndarray]] = {"former sum log(p*|V|)": [], "exact Bayes (brute force)": []}
    mixed = 0
    for q in reqs:
        (i,) = q.sites
        logl, count = [], []
        for b in BASES:
            ids = torch.tensor(tok(q.window[:i] + b + q.window[i + 1 :])["input_ids"])  # type: ignore[operator]
            with torch.no_grad():
                lp = torch.log_softmax(model(input_ids=ids[None]).logits[0].double(), -1)
            logl.append(float(lp[torch.arange(len(ids) - 1), ids[1:]].sum()))
            count.append(len(ids) - 1)
        ll, n = np.array(logl), np.array(count)
        mixed += len(set(count)) > 1
        for name, s in zip(rules, (ll + n * math.log(n_vocab), ll), strict=True):
            e = np.exp(s - s.max())
            rules[name].append(e / e.sum())
    scored = CausalLMScorer(wrap_model(model, tok)).score(reqs, 32)
    table = {k: np.array(v) for k, v in rules.items()}
    table["CausalLMScorer (now)"] = np.concatenate([s.probs for s in scored])
    t = np.array([q.targets[0] for q in reqs])
    for name, p in table.items():
        bits = -np.log2(p[np.arange(len(t)), t]).mean()
        print(f"{name:28} bits {bits:.3f}  accuracy {(p.argmax(1) == t).mean():.3f}")
    gap = np.abs(table["CausalLMScorer (now)"] - table["exact Bayes (brute force)"]).max()
    print(f"sites whose candidates have different token counts: {mixed} of {len(reqs)}; "
          f"max |scorer - brute force| {gap:.1e}; path {scored[0].path}")  # fmt: skip


if __name__ == "__main__":
    main()
