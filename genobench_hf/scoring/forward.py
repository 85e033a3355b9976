"""The forward's shared mechanics: padding buckets, device-side log-prob gathering, autocast dtype.

Kept apart from :mod:`~genobench_hf.scoring.loading` (which loads and checks models) so that every
scoring path, including the KV-cached causal one, pads, gathers and picks its precision the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from genobench_hf.errors import ConfigError

if TYPE_CHECKING:
    from genobench_hf.scoring.loading import LoadedModel

PAD_MULTIPLE = 32  # inputs are padded to a multiple of this many tokens (batch-size invariance)


def bucket_widths(lengths: Sequence[int], cap: int | None, multiple: int = PAD_MULTIPLE) -> np.ndarray:
    """Each length rounded up to a multiple of ``multiple`` (capped at ``cap``, never below the length
    itself): the padded width an input always gets, whatever its batch."""
    top = cap or np.iinfo(np.int64).max
    return np.array([max(n, min(-(-n // multiple) * multiple, top)) for n in lengths], dtype=np.int64)


def iter_buckets(width: np.ndarray, batch_size: int) -> Iterator[tuple[np.ndarray, int]]:
    """Batches of at most ``batch_size`` indices sharing one width, widest first, in input order."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    order = np.lexsort((np.arange(len(width)), -width))
    for w in np.unique(width)[::-1]:
        group = order[width[order] == w]
        for start in range(0, len(group), batch_size):
            yield group[start : start + batch_size], int(w)


def pad_batch(
    inputs: Sequence[np.ndarray], pad_id: int | None, width: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad ``inputs`` to ``width`` (at least the longest): ``(ids, attention_mask)``."""
    width = max([width or 0, *(len(x) for x in inputs)])
    ids = np.full((len(inputs), width), 0 if pad_id is None else pad_id, dtype=np.int64)
    mask = np.zeros((len(inputs), width), dtype=np.int64)
    for j, x in enumerate(inputs):
        ids[j, : len(x)] = x
        mask[j, : len(x)] = 1
    return ids, mask


_GATHER_CHUNK = 1 << 24  # float64 cells of log-softmax held on the device at once (128 MiB)


def select_log_probs(
    logits: torch.Tensor,
    positions: Sequence[np.ndarray],
    targets: Sequence[np.ndarray] | None = None,
) -> list[torch.Tensor]:
    """Float64 log-softmax of ``logits[j, positions[j]]`` per input (see :meth:`LoadedModel.log_probs_at`);
    with ``targets`` only the target log-probs leave the device."""
    device = logits.device
    sizes = [len(p) for p in positions]
    rows = torch.from_numpy(np.repeat(np.arange(len(positions)), sizes)).to(device)
    cols = torch.from_numpy(np.concatenate([np.asarray(p, dtype=np.int64) for p in positions])).to(device)
    if targets is None:
        logp = torch.log_softmax(logits[rows, cols].to(torch.float64), dim=-1).cpu()
        return list(torch.split(logp, sizes))
    tg = [np.asarray(t, dtype=np.int64) for t in targets]
    cells = [t if t.ndim == 2 else t[:, None] for t in tg]
    k = max((c.shape[1] for c in cells), default=1)
    flat = np.zeros((len(cols), k), dtype=np.int64)  # ragged K: spare columns read token 0, dropped below
    bounds = np.cumsum([0, *sizes])
    for c, lo in zip(cells, bounds[:-1], strict=True):
        flat[lo : lo + len(c), : c.shape[1]] = c
    flat_t = torch.from_numpy(flat).to(device)
    step = max(1, _GATHER_CHUNK // max(int(logits.shape[-1]), 1))
    parts = [
        torch.log_softmax(logits[rows[a : a + step], cols[a : a + step]].to(torch.float64), dim=-1).gather(
            1, flat_t[a : a + step]
        )
        for a in range(0, len(cols), step)
    ]
    got = (torch.cat(parts) if parts else torch.zeros((0, k), dtype=torch.float64)).cpu()
    return [
        got[lo:hi, : c.shape[1]].reshape(t.shape)
        for t, c, lo, hi in zip(tg, cells, bounds[:-1], bounds[1:], strict=True)
    ]


def choose_half_dtype(
    device_type: str, checkpoint_dtype: Any, weights_dtype: torch.dtype, bf16_supported: bool
) -> torch.dtype | None:
    """The autocast dtype for a model, or ``None`` for full precision.

    bf16 whenever the device has it (its fp32 exponent range never overflows, unlike fp16 on a
    bf16-trained checkpoint); on a CPU bf16 (its only fast half type). fp16 only where it is safe: the
    checkpoint was stored in fp16 and the device lacks bf16. A bf16 checkpoint on a device without bf16
    runs in fp32 rather than fp16.
    """
    if device_type == "cpu":
        return torch.bfloat16
    if device_type != "cuda":
        return None
    stored = {dtype_name(checkpoint_dtype), dtype_name(weights_dtype)}
    if bf16_supported:
        return torch.bfloat16
    if "float16" in stored and "bfloat16" not in stored:
        return torch.float16
    return None


def dtype_name(dtype: Any) -> str | None:
    if dtype is None:
        return None
    return str(dtype).removeprefix("torch.")


def autocast_dtype(loaded: LoadedModel, autocast: bool | str | None) -> torch.dtype | None:
    """Resolve a scorer's ``autocast`` setting to a dtype (``None`` = full precision).

    ``None``/``"auto"``: mixed precision on CUDA (:func:`choose_half_dtype`), full fp32 on CPU (exact,
    reproducible numbers). ``True``: mixed precision on any device. ``False``/``"off"``: never.
    ``"bf16"``/``"fp16"``: that dtype (the user's explicit choice).
    """
    if autocast in (False, "off"):
        return None
    if autocast in ("bf16", "bfloat16"):
        return torch.bfloat16
    if autocast in ("fp16", "float16"):
        return torch.float16
    if autocast not in (None, True, "auto"):
        raise ConfigError(f"autocast must be auto, off, bf16 or fp16, not {autocast!r}")
    device = loaded.device
    if autocast in (None, "auto") and device.type != "cuda":
        return None
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    weights = next(loaded.model.parameters()).dtype
    return choose_half_dtype(device.type, loaded.checkpoint_dtype, weights, bf16)


def autocast_context(device: torch.device, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` for ``dtype`` on ``device``, or a no-op for full precision."""
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)
