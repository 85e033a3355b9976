"""Greedy infilling of hidden spans through any :class:`~genobench_hf.scoring.base.Scorer`.

Two decoders, chosen by what the scorer supports (never by model class):

* ``iterative`` (masked LMs, Markov): every still-hidden site is scored at once (``imputation_dense``);
  the ``per_step`` most confident sites are fixed to their argmax and become context; repeat.
* ``left_to_right`` (causal LMs): the span is generated after the window's left part by
  :mod:`genobench_hf.generation` (the model's key/value cache or recurrent state: linear in the span
  length), greedily; identical to scoring ``next_nucleotide`` at each position with the earlier
  predictions standing in for the hidden truth.

The scorer never sees a hidden true base (the protocols hide them; the generator sees only the left
flank), so the infill is leak-free by the same argument as the single-site tasks. Windows are infilled in
chunks (:func:`genobench_hf.tasks.generate.cached_chunks`): sharded over processes, each finished chunk
cached, so an interrupted run resumes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from genobench_hf.execution import fingerprint
from genobench_hf.generation import GenerationRequest, Generator, Sampling, choose, generator_for
from genobench_hf.scoring.base import BASES, Scorer, ScoreRequest
from genobench_hf.tasks.generate import cached_chunks
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
    batch_size = int(context.config.batch_size)
    ident = {
        "scorer": context.identity(scorer),
        "decoder": mode,
        "per_step": per_step,
        "data": context.store.fingerprint(dataset),
    }
    if mode == "iterative":

        def compute(chunk: list[Window]) -> list[str]:
            return iterative_infill(scorer, chunk, batch_size, per_step=per_step)

    else:
        generator = generator_for(scorer)
        assert generator is not None  # decoder_for said next_nucleotide is supported
        ident["generation"] = generator.mode

        def compute(chunk: list[Window]) -> list[str]:
            return left_to_right_infill(generator, chunk, batch_size)

    return cached_chunks(
        context,
        f"infill-{key}-{dataset}-{fingerprint(ident)}",
        windows,
        compute,
        lambda w: f"{w.window}|{w.sites}",
        desc=f"{key} {dataset}",
    )


def left_to_right_infill(generator: Generator, windows: list[Window], batch_size: int) -> list[str]:
    """Greedy generation of each window's (contiguous) span from the nucleotides left of it."""
    requests = []
    for w in windows:
        first = w.sites[0]
        if list(w.sites) != list(range(first, first + len(w.sites))):
            raise ValueError("left-to-right infill needs the hidden sites of a window to be one span")
        requests.append(GenerationRequest(w.window[:first], len(w.sites)))
    return generator.generate(requests, Sampling(), batch_size)


def iterative_infill(
    scorer: Scorer,
    windows: list[Window],
    batch_size: int,
    *,
    per_step: int | None = None,
    sampling: Sampling | None = None,
    seeds: list[int] | None = None,
) -> list[str]:
    """Fill the most confident still-hidden sites (``imputation_dense``) step by step: their argmax, or
    with ``sampling`` (temperature > 0) a top-k/temperature draw from each window's own seeded stream."""
    draw = sampling is not None and sampling.temperature > 0
    rngs = [np.random.default_rng(s) for s in (seeds or [0] * len(windows))] if draw else []
    filled: list[dict[int, str]] = [{} for _ in windows]
    while True:
        todo = [i for i, w in enumerate(windows) if len(filled[i]) < len(w.sites)]
        if not todo:
            break
        batch = []
        for i in todo:
            w = windows[i]
            sites = tuple(s for s in w.sites if s not in filled[i])
            batch.append(ScoreRequest(_with(w.window, filled[i]), sites, "imputation_dense"))
        scores = scorer.score(batch, batch_size)
        for i, req, sc in zip(todo, batch, scores, strict=True):
            k = per_step or math.ceil(len(windows[i].sites) / STEPS_PER_SPAN)
            conf = sc.probs.max(axis=1)
            order = np.lexsort((np.array(req.sites), -conf))[:k]  # most confident first, then leftmost
            if draw:
                logp = np.log(np.clip(sc.probs[order], 1e-300, None))
                picks = choose(logp, sampling, rngs[i].random(len(order))).tolist()  # type: ignore[arg-type]
            else:
                picks = sc.probs[order].argmax(axis=1).tolist()
            for j, b in zip(order.tolist(), picks, strict=True):
                filled[i][req.sites[j]] = BASES[int(b)]
    return ["".join(filled[i][s] for s in w.sites) for i, w in enumerate(windows)]
