"""Exact two-sided Bayes for causal LMs with the shared left part run once (KV cache).

The 4 candidate windows of a site share every token before the first one that differs (BOS and the
left context; for BPE, up to where the candidates' segmentations part). Their log-probs are identical
and cancel, and the log-probs after it condition on that shared prefix. So the prefix is run once with
``use_cache=True``, its cache is repeated x4, and only the four candidates' own tokens (the "suffixes")
are run on top of it: ``score(b) = log p(s_b[0] | prefix) + sum_t log p(s_b[t] | prefix, s_b[:t])``.

Prefixes are right-padded; the suffix pass masks the cached pad entries and passes explicit position
ids, so each candidate sees exactly the positions and keys of its own full window. The same numbers
as the 4 full windows up to float reordering (tests/test_causal_bayes.py states the tolerance). A model
whose forward does not honour a cache, a 2-D mask over it or position ids fails :func:`cache_agrees`
once and is scored on the full windows instead.

A recurrent model that advertises ``resumable_state`` (genobench's LSTMs) takes the same path with its
``state`` in place of a cache: the prefix pass returns each row's state after its last real token, the
state is repeated x4 and the suffixes run from it; the same self-check guards it.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genobench_hf.scoring.candidate import LOG_FLOOR, reduce_scores
from genobench_hf.scoring.forward import (
    PAD_MULTIPLE,
    autocast_context,
    bucket_widths,
    iter_buckets,
    pad_batch,
    select_log_probs,
)
from genobench_hf.scoring.loading import LoadedModel

N_CANDIDATES = 4
KV_PAD_MULTIPLE = 8  # finer buckets than full windows: prefix and suffix each pad, so waste adds up


@dataclass(frozen=True)
class Shared:
    """One site's candidates as a shared prefix (at least one token) and four suffixes."""

    prefix: np.ndarray
    suffixes: tuple[np.ndarray, ...]


def split_shared(ids: Sequence[np.ndarray], start: int) -> Shared:
    """Split candidate ids at ``start`` (what they share; >= 1)."""
    return Shared(ids[0][:start], tuple(x[start:] for x in ids))


def prefix_scores(
    loaded: LoadedModel,
    work: Sequence[Shared],
    batch_size: int,
    *,
    autocast: torch.dtype | None = None,
    pad_extra: int = 0,
) -> np.ndarray:
    """``(len(work), 4)`` summed log-probs of each candidate's suffix given the shared prefix.

    Sites are batched by their (prefix, suffix) width bucket, which keeps each site's numbers independent
    of their batch-mates, :func:`sites_per_pass` at a time. ``pad_extra`` widens every prefix by that
    many pad tokens (the self-check's probe).
    """
    out = np.zeros((len(work), N_CANDIDATES))
    if not work:
        return out
    wp = bucket_widths([len(w.prefix) for w in work], None, KV_PAD_MULTIPLE) + pad_extra
    ws = bucket_widths([max(len(s) - 1 for s in w.suffixes) for w in work], None, KV_PAD_MULTIPLE)
    key = wp * (int(ws.max()) + 1) + ws  # one bucket per (prefix width, suffix width)
    for k in np.unique(key):
        group = np.flatnonzero(key == k)
        p, q = int(wp[group[0]]), int(ws[group[0]])
        for sub, _ in iter_buckets(np.zeros(len(group), dtype=np.int64), sites_per_pass(batch_size, p, q)):
            idx = group[sub]
            out[idx] = _batch_scores(loaded, [work[j] for j in idx], p, q, autocast)
    return out


def sites_per_pass(batch_size: int, wp: int, ws: int) -> int:
    """Sites per (prefix, suffix) pass: as many as keep the suffix pass (4 rows of ``ws`` per site, each
    attending to ``wp + ws``) within the tokens and attention of a full-window pass of ``batch_size``
    windows of ``wp + ws``, between ``batch_size // 4`` and ``batch_size``. For a centred site that is
    ``batch_size // 2``: each pass costs about one full-window forward (on a loaded CPU the per-forward
    overhead dominates these small models) and covers twice the sites."""
    fit = batch_size * (wp + ws) // (N_CANDIDATES * max(ws, 1))
    return max(1, batch_size // N_CANDIDATES, min(batch_size, fit))


def _batch_scores(
    loaded: LoadedModel, batch: Sequence[Shared], wp: int, ws: int, autocast: torch.dtype | None
) -> np.ndarray:
    model, device, pad = loaded.model, loaded.device, loaded.tokenizer.pad_token_id
    n = len(batch)
    ids, mask = pad_batch([w.prefix for w in batch], pad, wp)
    lengths = np.array([len(w.prefix) for w in batch])
    mask_t = torch.from_numpy(mask).to(device)
    # a candidate whose suffix is empty (only with [UNK]-mapped bases) reads token 0 at weight 0
    first = [np.array([[s[0] if len(s) else 0 for s in w.suffixes]]) for w in batch]
    has = np.array([[len(s) > 0 for s in w.suffixes] for w in batch])
    with torch.inference_mode(), autocast_context(device, autocast):
        keep = {}  # only the positions read need the LM head (a GPU's largest matmul at a big vocabulary)
        if "logits_to_keep" in inspect.signature(model.forward).parameters:
            keep = {"logits_to_keep": int(wp - lengths.min() + 1)}
        out = model(input_ids=torch.from_numpy(ids).to(device), attention_mask=mask_t, use_cache=True, **keep)
        read = lengths - 1 - (wp - out.logits.shape[1])  # logits hold the last logits.shape[1] positions
        got = torch.cat(select_log_probs(out.logits, [[r] for r in read], first)).numpy()
        scores = np.maximum(got, LOG_FLOOR) * has
        rest = [s[:-1] for w in batch for s in w.suffixes]
        if ws == 0 or not any(len(r) for r in rest):
            return scores
        sids, smask = pad_batch(rest, pad, ws)
        smask_t = torch.from_numpy(smask).to(device)
        if resumes_from_state(model):  # a recurrent model: its state after each prefix is all it needs
            kw = {"state": model.repeat_state(out.state, N_CANDIDATES), "attention_mask": smask_t}
        else:
            past = expand_cache(
                getattr(out, "cache", None) or getattr(out, "past_key_values", None), N_CANDIDATES
            )
            pos = np.repeat(lengths, N_CANDIDATES)[:, None] + np.arange(ws)[None, :]
            kw = {
                "attention_mask": torch.cat([mask_t.repeat_interleave(N_CANDIDATES, 0), smask_t], 1),
                "position_ids": torch.from_numpy(pos).to(device),
                cache_argument(model): past,
            }
        del out
        out = model(input_ids=torch.from_numpy(sids).to(device), use_cache=True, **kw)
        reads = [np.arange(len(r)) for r in rest]
        targets = [s[1:] for w in batch for s in w.suffixes]
        tail = select_log_probs(out.logits, reads, targets)
    owner = [np.array([r]) for r in range(len(rest))]
    return scores + reduce_scores(tail, owner, len(rest)).reshape(n, N_CANDIDATES)


def resumes_from_state(model: torch.nn.Module) -> bool:
    """A model advertising ``resumable_state`` (and ``repeat_state``): with ``use_cache=True`` its
    ``state`` is each row's after its last unpadded position, and ``state=`` continues from it."""
    return bool(getattr(model, "resumable_state", False)) and hasattr(model, "repeat_state")


def cache_argument(model: torch.nn.Module) -> str:
    """The forward's name for the cache: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def expand_cache(past: object, times: int) -> object:
    """Repeat each sequence's cache entries ``times`` times along the batch (row j -> rows j*times..)."""
    if hasattr(past, "batch_repeat_interleave"):
        past.batch_repeat_interleave(times)  # type: ignore[attr-defined]  # transformers Cache, in place
        return past
    if isinstance(past, tuple) and all(isinstance(layer, tuple) for layer in past):
        return tuple(tuple(t.repeat_interleave(times, 0) for t in layer) for layer in past)
    raise NoCache(f"cannot expand a {type(past).__name__} cache")


class NoCache(TypeError):
    """The model's forward returned no cache this module can extend."""


def cache_agrees(
    loaded: LoadedModel,
    work: Sequence[Shared],
    full: np.ndarray,
    autocast: torch.dtype | None,
    tol: float,
) -> bool | None:
    """Whether the cached path reproduces the full windows' scores ``full`` on ``work`` (a few sites),
    also with every prefix padded further: a model that ignores the cache, the mask over it or the
    position ids fails here instead of scoring wrong numbers. ``None``: the model has no cache.

    Compared are the score differences to candidate A (what the softmax sees), in nats."""
    try:
        got = [prefix_scores(loaded, work, 64, autocast=autocast, pad_extra=e) for e in (0, PAD_MULTIPLE)]
    except NoCache:
        return None
    except (TypeError, ValueError, AttributeError, RuntimeError, IndexError):
        return False
    rel = full - full[:, :1]
    return all(np.abs((g - g[:, :1]) - rel).max() <= tol for g in got)
