"""Hidden states per nucleotide, for every layer of any torch model (ours and Hub models).

Probes and ablations need a model's internal states at a nucleotide, whatever the tokenizer and the module
tree. Two ways to reach the states, tried in this order:

* ``hidden_states``: models that honour ``output_hidden_states=True`` (BERT, ESM, GPT-2, Llama, ...).
  Layers are named ``embeddings`` (index 0) and ``layer_1`` ... ``layer_L``.
* forward hooks (any ``torch.nn.Module`` tree, e.g. genobench's LSTM/CNN/transformer baselines): the
  layers are found by tracing two probe inputs of different token lengths and keeping, in the order they
  run, the modules whose output (or its first tensor: LSTMs return tuples) is ``(batch, tokens,
  channels)`` or ``(batch, channels, tokens)`` (convolutions): the input embedding, every child of a
  ``ModuleList`` of such modules (transformer blocks, conv layers; the first such list of a parent
  only, so a WaveNet block gives its gated convolutions, not also its 1x1 residual and skip
  projections), every recurrent module
  (``nn.LSTM``/``GRU``: the last recurrent layer's output; inner layers are not reachable by hooks), and
  the input of the LM head (named ``<head path>:input``). Outputs equal to an earlier layer's on the
  trace are dropped (an LSTM's output is also the head input). Names are module paths. :func:`module_layers`
  always uses hooks (ablation needs modules); :func:`find_layers` prefers ``hidden_states``.

A nucleotide's state is the state of the token that covers it, from the one alignment layer
(:class:`~genobench_hf.alignment.Aligner`). With overlapping k-mers (DNABERT-1) several tokens cover a
nucleotide: its state is the **mean** of their states (the same tokens the scorer masks for it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from genobench_hf.alignment import PROBE, Aligner, Alignment, TokenizerKind, covering_pairs
from genobench_hf.errors import ConfigError, ModelError

HEAD_INPUT = ":input"


@dataclass(frozen=True)
class Layer:
    """One representation a model exposes: where to read it and which axis holds the tokens."""

    name: str
    index: int
    source: Literal["hidden_states", "module", "head_input"]
    path: str | None = None  # module path (hooks)
    time_axis: int = 1  # 1: (B, T, C); 2: (B, C, T)


def first_tensor(output: Any) -> torch.Tensor | None:
    """The tensor a module returns, or the first one inside a tuple/list/ModelOutput (LSTM: the outputs)."""
    if isinstance(output, torch.Tensor):
        return output
    values = output.values() if isinstance(output, dict) else output
    if isinstance(values, (tuple, list)) or isinstance(output, dict):
        for v in values:
            t = first_tensor(v)
            if t is not None:
                return t
    return None


def replace_first_tensor(output: Any, new: torch.Tensor) -> Any:
    """``output`` with its first tensor replaced (tuples rebuilt, ModelOutputs copied), for ablation."""
    if isinstance(output, torch.Tensor):
        return new
    if isinstance(output, dict):
        out = output.__class__(**output) if hasattr(output, "to_tuple") else dict(output)
        for key, v in output.items():
            if first_tensor(v) is not None:
                out[key] = replace_first_tensor(v, new)
                return out
    if isinstance(output, (tuple, list)):
        items = list(output)
        for i, v in enumerate(items):
            if first_tensor(v) is not None:
                items[i] = replace_first_tensor(v, new)
                return type(output)(items) if isinstance(output, list) else tuple(items)
    raise ModelError(f"a layer returned {type(output).__name__}, which holds no tensor to read or ablate")


def resolve_module(model: nn.Module, layer: Layer) -> nn.Module:
    """The module a hook-based layer reads (the LM head itself for ``<head>:input``)."""
    if layer.path is None:
        raise ModelError(f"layer {layer.name!r} comes from hidden_states and has no module to hook")
    try:
        return model.get_submodule(layer.path)
    except AttributeError:
        raise ModelError(f"the model has no module {layer.path!r} (layer {layer.name!r})") from None


@contextlib.contextmanager
def capture(model: nn.Module, layers: Sequence[Layer]) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, ``store[name]`` holds each hooked layer's last output as ``(B, T, C)``."""
    store: dict[str, torch.Tensor] = {}
    handles = []
    for layer in layers:
        module = resolve_module(model, layer)

        def keep(t: torch.Tensor | None, layer: Layer = layer) -> None:
            if t is None or t.dim() != 3:
                raise ModelError(
                    f"layer {layer.name!r} did not return a 3-D (batch, tokens, channels) tensor"
                )
            store[layer.name] = t.transpose(1, 2) if layer.time_axis == 2 else t

        if layer.source == "head_input":
            handles.append(module.register_forward_pre_hook(lambda _m, args, f=keep: f(first_tensor(args))))
        else:
            handles.append(module.register_forward_hook(lambda _m, _a, out, f=keep: f(first_tensor(out))))
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


class Encoder:
    """Turns sequences into model inputs with nucleotide spans, and runs padded forwards.

    Masked LMs get the tokenizer's special frame ([CLS] ... [SEP]); causal LMs get the prefix the causal
    scorer uses (:meth:`LoadedModel.causal_prefix`), so states are those the scorers see.
    """

    def __init__(self, loaded: Any, kind: TokenizerKind | None = None) -> None:
        self.loaded = loaded
        self.aligner = Aligner(loaded.tokenizer, kind or loaded.tokenizer_kind)
        self.causal = loaded.model_kind == "causal"
        self.prefix = np.array(loaded.causal_prefix() if self.causal else [], dtype=np.int64)

    def encode(self, seq: str) -> Alignment:
        """Input ids and nucleotide spans of ``seq`` as the model is fed (``-1`` spans: special tokens)."""
        a = self.aligner.align(seq, special=not self.causal)
        if self.prefix.size:
            pad = np.full((self.prefix.size, 2), -1, np.int64)
            a = Alignment(np.concatenate([self.prefix, a.input_ids]), np.concatenate([pad, a.spans]))
        self.loaded.check_length(len(a), len(seq))
        return a

    def forward(self, ids: Sequence[np.ndarray], **kwargs: Any) -> Any:
        """One right-padded forward (attention mask set) in inference mode."""
        pad = self.loaded.tokenizer.pad_token_id
        width = max(len(x) for x in ids)
        batch = np.full((len(ids), width), 0 if pad is None else pad, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for j, x in enumerate(ids):
            batch[j, : len(x)], mask[j, : len(x)] = x, 1
        device = self.loaded.device
        with torch.inference_mode():
            return self.loaded.model(
                input_ids=torch.from_numpy(batch).to(device),
                attention_mask=torch.from_numpy(mask).to(device),
                **kwargs,
            )


def _hidden_state_layers(encoder: Encoder) -> list[Layer] | None:
    try:
        out = encoder.forward([encoder.encode(PROBE[:32]).input_ids], output_hidden_states=True)
    except TypeError:
        return None
    states = getattr(out, "hidden_states", None)
    if not states or not all(isinstance(s, torch.Tensor) and s.dim() == 3 for s in states):
        return None
    names = ["embeddings", *(f"layer_{i}" for i in range(1, len(states)))]
    return [Layer(n, i, "hidden_states") for i, n in enumerate(names)]


def _trace(encoder: Encoder, lengths: tuple[int, int]) -> list[tuple[list[tuple[str, torch.Tensor]], int]]:
    """Per probe length: (module path, first output tensor) in firing order, and the token count."""
    model = encoder.loaded.model
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    fired: list[tuple[str, torch.Tensor | None]] = []
    handles = []
    for path, module in model.named_modules():
        if path:
            handles.append(
                module.register_forward_hook(lambda _m, _a, out, p=path: fired.append((p, first_tensor(out))))
            )
        if head is not None and module is head:
            handles.append(
                module.register_forward_pre_hook(
                    lambda _m, args, p=path + HEAD_INPUT: fired.append((p, first_tensor(args)))
                )
            )
    runs = []
    try:
        for n in lengths:
            ids = encoder.encode((PROBE * 4)[:n]).input_ids
            fired.clear()
            encoder.forward([ids, ids])
            runs.append(([(p, t) for p, t in fired if t is not None], len(ids)))
    finally:
        for h in handles:
            h.remove()
    return runs


def module_layers(loaded: Any, kind: TokenizerKind | None = None) -> list[Layer]:
    """The hook-based layers of any module tree (see the module docstring for the rule)."""
    encoder = Encoder(loaded, kind)
    model = loaded.model
    (first, n1), (second, n2) = _trace(encoder, (40, 64))
    if n1 == n2:
        raise ModelError("the probe inputs have the same token count; cannot tell the token axis")
    axis: dict[str, int] = {}
    shapes2 = {p: tuple(t.shape) for p, t in second}
    for path, t in first:
        s1, s2 = tuple(t.shape), shapes2.get(path)
        if path in axis or s2 is None or len(s1) != 3 or s1[0] != 2:
            continue
        if s1[1] == n1 and s2[1] == n2 and s1[2] == s2[2]:
            axis[path] = 1
        elif s1[2] == n1 and s2[2] == n2 and s1[1] == s2[1]:
            axis[path] = 2
    modules = dict(model.named_modules())
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    wanted = {p for p, m in modules.items() if m is emb or isinstance(m, nn.RNNBase)}
    parents_done: set[str] = set()
    for p, m in modules.items():
        parent = p.rpartition(".")[0]
        if parent in parents_done or not isinstance(m, nn.ModuleList) or not len(m):
            continue
        if all(f"{p}.{i}" in axis for i in range(len(m))):
            wanted.update(f"{p}.{i}" for i in range(len(m)))
            parents_done.add(parent)  # one list of blocks per parent (WaveNet: gates, not res/skip)
    wanted.update(p for p in axis if p.endswith(HEAD_INPUT))
    layers: list[Layer] = []
    kept: list[torch.Tensor] = []
    for path, t in first:
        if path not in wanted or path not in axis or any(layer.name == path for layer in layers):
            continue
        value = t.transpose(1, 2) if axis[path] == 2 else t
        if any(v.shape == value.shape and torch.equal(v, value) for v in kept):
            continue
        kept.append(value)
        source = "head_input" if path.endswith(HEAD_INPUT) else "module"
        layers.append(Layer(path, len(layers), source, path.removesuffix(HEAD_INPUT), axis[path]))
    if not layers:
        raise ModelError(
            f"{type(model).__name__}: no module returns per-token states (batch, tokens, channels); "
            "it has no layers to probe or ablate"
        )
    return layers


def find_layers(loaded: Any, kind: TokenizerKind | None = None) -> list[Layer]:
    """``hidden_states`` layers when the model returns them, else :func:`module_layers`."""
    return _hidden_state_layers(Encoder(loaded, kind)) or module_layers(loaded, kind)


def select_layers(layers: Sequence[Layer], wanted: Sequence[str | int] | None) -> list[Layer]:
    """Subset by name or index (``None`` = all), in model order; unknown names are a ConfigError."""
    if wanted is None:
        return list(layers)
    by_name = {layer.name: layer for layer in layers}
    chosen = []
    for w in wanted:
        hit = (
            by_name.get(w) if isinstance(w, str) else (layers[w] if -len(layers) <= w < len(layers) else None)
        )
        if hit is None:
            names = ", ".join(layer.name for layer in layers)
            raise ConfigError(f"unknown layer {w!r}; this model's layers are: {names}")
        chosen.append(hit)
    return sorted(set(chosen), key=lambda layer: layer.index)


def nucleotide_states(
    loaded: Any,
    sequences: Sequence[str],
    positions: Sequence[Sequence[int]],
    *,
    layers: Sequence[Layer] | None = None,
    kind: TokenizerKind | None = None,
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """States of ``positions[j]`` of ``sequences[j]`` for each layer: ``{name: (n_positions, C) float32}``.

    Rows follow the flattened ``positions`` order. ``progress(n)`` is called after each batch of n sequences.
    """
    if len(sequences) != len(positions):
        raise ConfigError(f"{len(sequences)} sequences but {len(positions)} position lists")
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    encoder = Encoder(loaded, kind)
    layers = list(layers) if layers is not None else find_layers(loaded, kind)
    hidden = [layer for layer in layers if layer.source == "hidden_states"]
    hooked = [layer for layer in layers if layer.source != "hidden_states"]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in positions])]).astype(np.int64)
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(sequences), batch_size):
        idx = range(start, min(start + batch_size, len(sequences)))
        encoded = [encoder.encode(sequences[j]) for j in idx]
        with capture(loaded.model, hooked) as store:
            result = encoder.forward(
                [e.input_ids for e in encoded], output_hidden_states=bool(hidden) or None
            )
        tensors = dict(store)
        for layer in hidden:
            tensors[layer.name] = result.hidden_states[layer.index]
        for layer in layers:
            states = tensors[layer.name].float().cpu().numpy()
            if layer.name not in out:
                out[layer.name] = np.zeros((int(offsets[-1]), states.shape[-1]), dtype=np.float32)
            for b, j in enumerate(idx):
                out[layer.name][offsets[j] : offsets[j + 1]] = _pool(states[b], encoded[b], positions[j])
        if progress is not None:
            progress(len(idx))
    return out


def _pool(states: np.ndarray, alignment: Alignment, positions: Sequence[int]) -> np.ndarray:
    """Mean state of the tokens covering each position (one token except for overlapping k-mers)."""
    pos = np.asarray(positions, dtype=np.int64)
    which, token = covering_pairs(alignment, pos)
    counts = np.bincount(which, minlength=len(pos))
    if (counts == 0).any():
        raise ModelError(f"nucleotide {int(pos[counts == 0][0])} is covered by no token")
    summed = np.zeros((len(pos), states.shape[-1]), dtype=np.float64)
    np.add.at(summed, which, states[token])
    return (summed / counts[:, None]).astype(np.float32)
