"""Neuron ablation through forward hooks: replace channels of one layer's output, then re-run anything.

A *neuron* is one channel of a layer's output (DESIGN.md "Probes"); layers are those of
:func:`genobench_hf.representations.module_layers`, so ablation works for any ``torch.nn.Module`` tree
without touching the model's code or weights:

* transformer (ours, BERT, GPT-2, ...): the output of a block (the residual stream after it) or the LM
  head's input; the channel is zeroed (or set to its mean) at every token of every input.
* LSTM (``nn.LSTM`` returns ``(output, (h_n, c_n))``): the first tensor, the per-step outputs, is
  replaced and the tuple rebuilt; ``h_n``/``c_n`` are left alone. The channel disappears for the layers
  *above*; it still feeds the LSTM's own recurrence inside ``nn.LSTM`` (hooks cannot reach a step).
* CNN (``(batch, channels, tokens)`` outputs): the channel axis is found by tracing, so the same call
  zeroes ``out[:, k, :]``.

Modes: ``zero`` sets the channel to 0; ``mean`` sets it to its mean activation over the real (non-padding)
tokens of reference inputs (:func:`channel_means`), which keeps the layer's average input to the next
one (zeroing a channel with a large mean also shifts everything downstream). Hooks live only inside the
``with`` block; anything cached outside it (e.g. the runner's score cache) does not know about them, so
callers must score directly. Hooks run in registration order: a :func:`~genobench_hf.representations.capture`
entered inside an ``ablate`` block sees the ablated output, one entered before it the original.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch

from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.representations import (
    Encoder,
    Layer,
    capture,
    first_tensor,
    replace_first_tensor,
    resolve_module,
)

Mode = Literal["zero", "mean"]
MODES: tuple[str, ...] = ("zero", "mean")


def _replace(t: torch.Tensor, layer: Layer, channels: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """A copy of ``t`` with ``channels`` set to ``values`` on the layer's channel axis."""
    channel_axis = 1 if layer.time_axis == 2 else t.dim() - 1
    n = t.shape[channel_axis]
    if int(channels.max()) >= n:
        raise ModelError(
            f"layer {layer.name!r} has {n} channels; cannot ablate channel {int(channels.max())}"
        )
    out = t.clone()
    if channel_axis == 1:
        out[:, channels] = values.to(t.dtype).view(-1, *([1] * (t.dim() - 2)))
    else:
        out[..., channels] = values.to(t.dtype)
    return out


@contextlib.contextmanager
def ablate(
    model: torch.nn.Module,
    layer: Layer,
    channels: Sequence[int],
    *,
    mode: Mode = "zero",
    means: np.ndarray | None = None,
) -> Iterator[None]:
    """Inside the block, every forward of ``model`` sees ``channels`` of ``layer`` zeroed or mean-replaced."""
    if mode not in MODES:
        raise ConfigError(f"ablation mode must be zero or mean, not {mode!r}")
    if mode == "mean" and means is None:
        raise ConfigError("mean ablation needs the channel means (see channel_means)")
    chosen = sorted({int(c) for c in channels})
    if not chosen:
        yield
        return
    if chosen[0] < 0:
        raise ConfigError(f"channel indices must be >= 0, got {chosen[0]}")
    module = resolve_module(model, layer)
    cache: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def new_tensor(t: torch.Tensor) -> torch.Tensor:
        if t.device not in cache:
            idx = torch.tensor(chosen, dtype=torch.long, device=t.device)
            vals = torch.zeros(len(chosen)) if mode == "zero" else torch.from_numpy(np.asarray(means)[chosen])
            cache[t.device] = idx, vals.to(t.device)
        return _replace(t, layer, *cache[t.device])

    def on_output(_m: Any, _args: Any, output: Any) -> Any:
        t = first_tensor(output)
        return output if t is None else replace_first_tensor(output, new_tensor(t))

    def on_input(_m: Any, args: Any) -> Any:
        t = first_tensor(args)
        return args if t is None else replace_first_tensor(tuple(args), new_tensor(t))

    if layer.source == "head_input":
        handle = module.register_forward_pre_hook(on_input)
    else:
        handle = module.register_forward_hook(on_output)
    try:
        yield
    finally:
        handle.remove()


def channel_means(
    loaded: Any, layer: Layer, sequences: Sequence[str], *, batch_size: int = 16, kind: Any = None
) -> np.ndarray:
    """Mean activation of every channel of ``layer`` over the real tokens of ``sequences`` (float64)."""
    if not sequences:
        raise ConfigError("channel means need at least one reference sequence")
    encoder = Encoder(loaded, kind)
    total: np.ndarray | None = None
    count = 0
    for start in range(0, len(sequences), batch_size):
        ids = [encoder.encode(s).input_ids for s in sequences[start : start + batch_size]]
        with capture(loaded.model, [layer]) as store:
            encoder.forward(ids)
        states = store[layer.name].double().cpu().numpy()
        for b, x in enumerate(ids):
            part = states[b, : len(x)].sum(axis=0)
            total = part if total is None else total + part
            count += len(x)
    assert total is not None
    return total / count


def n_channels(loaded: Any, layer: Layer, kind: Any = None) -> int:
    """Width of ``layer``'s output (number of neurons), from one short forward."""
    encoder = Encoder(loaded, kind)
    with capture(loaded.model, [layer]) as store:
        encoder.forward([encoder.encode("ACGTACGTACGTACGTACGTACGT").input_ids])
    return int(store[layer.name].shape[-1])


def single_effects(
    model: torch.nn.Module,
    layer: Layer,
    channels: Sequence[int],
    measure: Callable[[], dict[str, float]],
    *,
    mode: Mode = "zero",
    means: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, float]]:
    """``measure()`` with each channel ablated alone, in the order given."""
    out = []
    for c in channels:
        with ablate(model, layer, [c], mode=mode, means=means):
            out.append(measure())
        if progress is not None:
            progress(1)
    return out


def group_effects(
    model: torch.nn.Module,
    layer: Layer,
    ranking: Sequence[int],
    fractions: Sequence[float],
    measure: Callable[[], dict[str, float]],
    *,
    mode: Mode = "zero",
    means: np.ndarray | None = None,
    n_total: int | None = None,
) -> list[dict[str, float]]:
    """``measure()`` with the top ``ceil(f * n_total)`` channels of ``ranking`` ablated at once, per f.

    ``n_total`` defaults to ``len(ranking)``; each result carries ``fraction`` and ``n_ablated``.
    """
    total = len(ranking) if n_total is None else n_total
    out = []
    for f in fractions:
        if not 0.0 <= f <= 1.0:
            raise ConfigError(f"ablation fractions must be in [0, 1], got {f}")
        k = min(len(ranking), int(np.ceil(f * total - 1e-9)))
        with ablate(model, layer, list(ranking[:k]), mode=mode, means=means):
            out.append({"fraction": float(f), "n_ablated": k, **measure()})
    return out
