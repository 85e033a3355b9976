"""Greedy infilling of hidden spans through any :class:`~genobench_hf.scoring.base.Scorer`.

Two decoders, chosen by what the scorer supports (never by model class):

* ``iterative`` (masked LMs, Markov): every still-hidden site is scored at once (``imputation_dense``);
  the ``per_step`` most confident sites are fixed to their argmax and become context; repeat.
* ``left_to_right`` (causal LMs): ``next_nucleotide`` at each span position in turn, the earlier
  predictions standing in for the hidden truth.

The scorer never sees a hidden true base (the protocols hide them), so the infill is leak-free by the
same argument as the single-site tasks. Every step goes through the runner's sharded executor (uncached:
a file per decoding step would cost more than the step).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from genobench_hf.scoring.base import BASES, Scorer
from genobench_hf.tasks.sampling import Window

STEPS_PER_SPAN = 20  # iterative decoding fills ceil(L / 20) sites per step: bounded cost for any length


def decoder_for(scorer: Scorer) -> str | None:
    if scorer.skip_reason("imputation_dense") is None:
        return "iterative"
    if scorer.skip_reason("next_nucleotide") is None:
        return "left_to_right"
    return None


def _with(window: str, filled: dict[int, str]) -> str:
    chars = list(window)
    for pos, base in filled.items():
        chars[pos] = base
    return "".join(chars)


def infill(
    context: Any,
    key: str,
    dataset: str,
    windows: list[Window],
    scorer: Scorer,
    *,
    per_step: int | None = None,
) -> list[str]:
    """Predicted bases at each window's sites (in site order), by the decoder the scorer supports."""
    mode = decoder_for(scorer)
    if mode is None:
        raise ValueError(f"{scorer.name} supports neither imputation_dense nor next_nucleotide")
    filled: list[dict[int, str]] = [{} for _ in windows]
    if mode == "iterative":
        step = 0
        while True:
            todo = [i for i, w in enumerate(windows) if len(filled[i]) < len(w.sites)]
            if not todo:
                break
            batch = []
            for i in todo:
                w = windows[i]
                sites = tuple(s for s in w.sites if s not in filled[i])
                targets = tuple(w.targets[w.sites.index(s)] for s in sites)
                batch.append(
                    Window(w.genome_id, w.row, w.start, _with(w.window, filled[i]), sites, targets, w.gc)
                )
            scores = context.score(
                f"{key}-iter{step}", dataset, batch, "imputation_dense", scorer, cache=False
            )
            for i, win, sc in zip(todo, batch, scores, strict=True):
                k = per_step or math.ceil(len(windows[i].sites) / STEPS_PER_SPAN)
                conf = sc.probs.max(axis=1)
                order = np.lexsort((np.array(win.sites), -conf))[:k]  # most confident first, then leftmost
                for j in order.tolist():
                    filled[i][win.sites[j]] = BASES[int(sc.probs[j].argmax())]
            step += 1
    else:
        longest = max(len(w.sites) for w in windows)
        for t in range(longest):
            todo = [i for i, w in enumerate(windows) if t < len(w.sites)]
            batch = []
            for i in todo:
                w = windows[i]
                site = w.sites[t]
                batch.append(
                    Window(
                        w.genome_id,
                        w.row,
                        w.start,
                        _with(w.window, filled[i])[: site + 1],
                        (site,),
                        (w.targets[t],),
                        w.gc,
                    )
                )
            scores = context.score(f"{key}-l2r{t}", dataset, batch, "next_nucleotide", scorer, cache=False)
            for i, win, sc in zip(todo, batch, scores, strict=True):
                filled[i][win.sites[0]] = BASES[int(sc.probs[0].argmax())]
    return ["".join(filled[i][s] for s in w.sites) for i, w in enumerate(windows)]
