"""Training throughput of each baseline arch on this machine: nucleotides/s in fp32 and under bf16 autocast.

    python benchmarks/bench_train.py [--archs lstm,cnn] [--batch-size 32] [--seq-len 256] [--steps 8]

Each measurement runs full training steps (forward, backward, AdamW) on real E. coli windows after two
warm-up steps and reports the fastest step; fp32 and bf16 alternate per arch. The bf16/fp32 ratio is what
``BF16_FASTER_ON_CPU`` (``--bf16 auto`` of ``genobench train``) is based on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np
import torch

from genobench_hf.models import ARCHS, build_model
from genobench_hf.models.tokenizer import BOS_ID, encode
from genobench_hf.testing import real_dna


def throughput(
    arch: str, bf16: bool, batch_size: int, seq_len: int, steps: int, objective: str = "clm"
) -> float:
    """Nucleotides per second of the fastest of ``steps`` training steps after 2 warm-up steps (the
    minimum is robust to other processes sharing the CPU, the mean is not)."""
    torch.manual_seed(0)
    model = build_model(arch, objective).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    dna = encode(real_dna(batch_size * seq_len * 4, offset=100_000)).astype(np.int64)
    rng = np.random.default_rng(0)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def step() -> None:
        starts = rng.integers(0, len(dna) - seq_len, batch_size)
        ids = torch.from_numpy(np.stack([dna[s : s + seq_len] for s in starts]))
        ids = torch.cat([torch.full((batch_size, 1), BOS_ID), ids], dim=1)
        with ctx:
            loss = model(ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return batch_size * seq_len / min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=8)
    args = p.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU {torch.backends.cpu.get_cpu_capability()}"
    )
    print(
        f"batch {args.batch_size} x {args.seq_len} nt, fastest of {args.steps} steps, load {os.getloadavg()[0]:.1f}\n"
    )
    print(f"{'arch':<14}{'params':>9}{'fp32 nt/s':>12}{'bf16 nt/s':>12}{'bf16/fp32':>11}")
    for arch in args.archs.split(","):
        n = sum(p.numel() for p in build_model(arch).parameters())
        fp32 = throughput(arch, False, args.batch_size, args.seq_len, args.steps)
        bf16 = throughput(arch, True, args.batch_size, args.seq_len, args.steps)
        print(f"{arch:<14}{n:>9,}{fp32:>12,.0f}{bf16:>12,.0f}{bf16 / fp32:>11.2f}", flush=True)


if __name__ == "__main__":
    main()
