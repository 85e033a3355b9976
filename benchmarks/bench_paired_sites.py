"""How many sites a paired comparison needs: the 95% half-width of (model - markov) bits vs n sites.

Builds the datasets from the embedded corpus, trains the default run's ``cnn`` on PRO for
``--train-minutes`` (the default run's budget), fits ``markov:auto`` on PRO's train split, and scores the same
``--n-sites`` PRO test sites with both (imputation and next_nucleotide, 256-nt windows, seed 0), exactly as
the tasks sample them. Prints, per protocol, the per-site SD of each model's bits and of the paired
difference, and the normal-approximation 95% half-widths 1.96 * SD / sqrt(n) of a model's mean (unpaired)
and of the paired difference at several n, plus the scoring seconds per 1,000 sites of each model on this
machine (what more sites cost). Not a test: run ``python benchmarks/bench_paired_sites.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from genobench_hf.data.build import build_all
from genobench_hf.model_provider import ModelProvider
from genobench_hf.runner import EvalConfig
from genobench_hf.scoring.base import ScoreRequest
from genobench_hf.store import DatasetStore
from genobench_hf.tasks.sampling import sample_sites
from genobench_hf.training import TrainConfig, train


def _bits(scorer, windows, protocol: str) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
    requests = [ScoreRequest(w.window, w.sites, protocol, w.targets) for w in windows]  # type: ignore[arg-type]
    t0 = time.perf_counter()
    scores = scorer.score(requests, 64)
    seconds = time.perf_counter() - t0
    p = np.concatenate([s.probs for s in scores])
    targets = np.concatenate([np.asarray(w.targets) for w in windows])
    return -np.log2(p[np.arange(len(targets)), targets]), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sites", type=int, default=4000)
    ap.add_argument("--train-minutes", type=float, default=1.0)
    ap.add_argument("--arch", default="cnn")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="genobench-paired-"))
    data = root / "datasets"
    build_all(data, progress=False, conservation=False, names=("PRO",))
    folder = root / f"{args.arch}-PRO"
    train(TrainConfig(arch=args.arch, dataset="PRO", out=folder, data_dir=data, max_minutes=args.train_minutes,
                      quiet=True))  # fmt: skip
    store = DatasetStore(data)
    config = EvalConfig(model=str(folder), datasets=["PRO"], data_dir=data, baseline="markov:auto")
    models = ModelProvider(config, store, device="cpu", cache_dir=root / "cache")
    model, markov = models.scorer_for("PRO"), models.baselines("PRO")["markov"]
    rows = store.rows("PRO", "test")
    for protocol in ("imputation", "next_nucleotide"):
        windows = sample_sites(rows, n_sites=args.n_sites, window=256, seed=0, dataset="PRO", reads=False,
                               protocol=protocol)  # fmt: skip
        a, sec_a = _bits(model, windows, protocol)
        b, sec_b = _bits(markov, windows, protocol)
        d = a - b
        n = len(d)
        print(
            f"{protocol}: n={n} {args.arch} {a.mean():.4f} bits, markov {b.mean():.4f} bits, diff {d.mean():+.4f}"
        )
        print(f"  per-site SD: {args.arch} {a.std(ddof=1):.3f}, markov {b.std(ddof=1):.3f}, paired diff "
              f"{d.std(ddof=1):.3f}")  # fmt: skip
        for k in (500, 1000, 2000, 4000, 8000):
            print(f"  n={k:5d}: unpaired half-width {1.96 * a.std(ddof=1) / np.sqrt(k):.4f}, "
                  f"paired half-width {1.96 * d.std(ddof=1) / np.sqrt(k):.4f}")  # fmt: skip
        need = int(np.ceil((1.96 * d.std(ddof=1) / 0.01) ** 2))
        print(f"  sites for a paired half-width <= 0.01 bits: {need}")
        print(
            f"  scoring s per 1000 sites: {args.arch} {1000 * sec_a / n:.2f}, markov {1000 * sec_b / n:.2f}"
        )


if __name__ == "__main__":
    main()
