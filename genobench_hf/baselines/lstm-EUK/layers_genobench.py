"""Building blocks shared by the baseline architectures (each written once).

Every backbone maps embeddings ``(B, T, E)`` to features ``(B, T, out_dim)`` and takes an optional
recurrent ``state`` (used only by LSTM parts, for truncated BPTT), returning ``(features, state)``.
Causal backbones never let position t see inputs after t: convolutions pad on the left only, LSTMs run
forward, attention is masked. Padding is expected on the right (the HF convention for causal LMs and
what genobench's scorer does), where it cannot influence earlier positions; the transformer also
honours ``attention_mask`` for any padding side.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors_genobench import ModelError

State = Any  # (h, c) of an LSTM, or None


class CausalConv1d(nn.Conv1d):
    """Conv1d over ``(B, C, T)`` whose output at t depends on inputs ``t - (k-1)*dilation .. t`` only."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, dilation: int = 1) -> None:
        super().__init__(in_ch, out_ch, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)))


class ConvStack(nn.Module):
    """``num_layers`` causal convolutions with GELU; residual connections once the width is fixed."""

    def __init__(self, in_dim: int, channels: int, kernel_size: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        if num_layers < 1 or kernel_size < 1:
            raise ModelError(
                f"conv stack needs num_layers >= 1 and kernel_size >= 1, got {num_layers}, {kernel_size}"
            )
        dims = [in_dim] + [channels] * num_layers
        self.convs = nn.ModuleList(CausalConv1d(a, b, kernel_size) for a, b in itertools.pairwise(dims))
        self.drop = nn.Dropout(dropout)
        self.out_dim = channels

    resumable = True  # each layer's last receptive-field inputs are all a continuation needs

    def forward(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None, state: State, *, at_mask: bool = False
    ) -> tuple[torch.Tensor, State]:
        """``state``: per layer, the ``(B, C, left_pad)`` inputs before position 0 (zeros without it,
        as in training). ``at_mask``: return each row's such inputs after its last unpadded position,
        so a scorer can continue every row of a right-padded batch (else ``state`` is passed through)."""
        h = x.transpose(1, 2)
        tails = []
        if at_mask:
            n = h.shape[2] if attention_mask is None else attention_mask.sum(dim=1).clamp(min=1)
            ends = torch.as_tensor(n, device=h.device).expand(h.shape[0])[:, None]
        for i, conv in enumerate(self.convs):
            hp = F.pad(h, (conv.left_pad, 0)) if state is None else torch.cat((state[i].to(h.dtype), h), 2)
            if at_mask:  # padded input columns ends .. ends + left_pad - 1 are the last real ones
                idx = ends + torch.arange(conv.left_pad, device=h.device)[None, :]
                tails.append(hp.gather(2, idx[:, None, :].expand(-1, hp.shape[1], -1)))
            y = self.drop(F.gelu(nn.Conv1d.forward(conv, hp)))
            h = h + y if y.shape == h.shape else y
        return h.transpose(1, 2), tuple(tails) if at_mask else state

    @staticmethod
    def repeat_state(state: State, times: int) -> State:
        return tuple(s.repeat_interleave(times, dim=0) for s in state)


class LstmStack(nn.Module):
    """Unidirectional multi-layer LSTM; ``state`` carries (h, c) across calls for truncated BPTT."""

    def __init__(self, in_dim: int, hidden_size: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            in_dim, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
        self.out_dim = hidden_size

    # (h, c) is all a continuation needs, but off for now: through `genobench evaluate` (2 threads, loaded
    # CPU) the state path measured 17x slower than full windows on PRO while 1.9x faster in the benchmark
    resumable = False

    def forward(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None, state: State, *, at_mask: bool = False
    ) -> tuple[torch.Tensor, State]:
        """``at_mask``: the returned state is each row's after its last unpadded position (right padding),
        so a scorer can resume every row of a ragged batch; off, it is the state after position T-1."""
        if state is not None:
            state = tuple(s.to(x.dtype) for s in state)
        if at_mask and attention_mask is not None:
            return self._run_to_ends(x, attention_mask, state)
        h, new_state = self.lstm(x, state)
        return h, new_state

    @staticmethod
    def repeat_state(state: State, times: int) -> State:
        return tuple(s.repeat_interleave(times, dim=1) for s in state)  # (h, c) are (layers, B, H)

    def _run_to_ends(
        self, x: torch.Tensor, attention_mask: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """One pass in chunks cut at the rows' lengths, the state carried (exact, as in truncated BPTT),
        each row's state taken where its chunk ends (features after the longest row: zeros). Not ``pack_padded_sequence``: on a shared CPU its
        per-step small ops were measured 40x slower than a plain pass with 2 threads."""
        lengths = attention_mask.sum(dim=1).clamp(min=1)
        outs, start, ends = [], 0, None
        for end in sorted(set(lengths.tolist())):
            h, state = self.lstm(x[:, start:end], state)
            outs.append(h)
            start = end
            if ends is None:
                ends = tuple(torch.empty_like(s) for s in state)
            rows = lengths == end
            for e, s in zip(ends, state, strict=True):
                e[:, rows] = s[:, rows]
        if start < x.shape[1]:  # positions after every row's end are padding: zeros, as packing gives
            outs.append(outs[-1].new_zeros(x.shape[0], x.shape[1] - start, outs[-1].shape[2]))
        return torch.cat(outs, dim=1), ends


class Sequential(nn.Module):
    """Backbones in series (e.g. convolutions then an LSTM); the state belongs to the last stateful one."""

    def __init__(self, *parts: nn.Module) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.out_dim = parts[-1].out_dim

    def forward(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None, state: State
    ) -> tuple[torch.Tensor, State]:
        out_state = None
        for part in self.parts:
            x, s = part(x, attention_mask, state if isinstance(part, LstmStack) else None)
            out_state = s if isinstance(part, LstmStack) else out_state
        return x, out_state


class DilatedResidualStack(nn.Module):
    """WaveNet-style: gated dilated causal convolutions, 1x1 residual and skip paths, skips summed."""

    def __init__(
        self, in_dim: int, channels: int, kernel_size: int, dilations: list[int], dropout: float
    ) -> None:
        super().__init__()
        if not dilations or min(dilations) < 1:
            raise ModelError(f"cnn_dilated needs a non-empty list of dilations >= 1, got {dilations}")
        self.inp = nn.Conv1d(in_dim, channels, 1)
        self.gates = nn.ModuleList(CausalConv1d(channels, 2 * channels, kernel_size, d) for d in dilations)
        self.res = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.skip = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.out = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)
        self.out_dim = channels

    def forward(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None, state: State
    ) -> tuple[torch.Tensor, State]:
        h = self.inp(x.transpose(1, 2))
        skips = torch.zeros_like(h)
        for gate, res, skip in zip(self.gates, self.res, self.skip, strict=True):
            a, b = gate(h).chunk(2, dim=1)
            z = self.drop(torch.tanh(a) * torch.sigmoid(b))
            h = h + res(z)
            skips = skips + skip(z)
        return F.gelu(self.out(F.gelu(skips))).transpose(1, 2), state


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class TransformerStack(nn.Module):
    """Pre-norm transformer blocks with rotary positions; causal or bidirectional attention."""

    def __init__(self, in_dim: int, config: Any, causal: bool) -> None:
        super().__init__()
        d, heads = config.hidden_size, config.num_heads
        if d % heads or (d // heads) % 2:
            raise ModelError(f"transformer hidden_size {d} must split into {heads} heads of even width")
        self.causal, self.heads, self.theta = causal, heads, config.rope_theta
        self.inp = nn.Linear(in_dim, d) if in_dim != d else nn.Identity()
        self.blocks = nn.ModuleList(
            _Block(d, heads, config.intermediate_size, config.dropout) for _ in range(config.num_layers)
        )
        self.norm = nn.LayerNorm(d)
        self.out_dim = d

    def _rope(
        self, t: int, device: torch.device, start: int = 0, positions: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin of positions ``start .. start+t-1`` ``(t, d)``, or of ``positions`` ``(B, t)`` as
        ``(B, 1, t, d)`` (the same products, so the same floats as the contiguous case)."""
        half = self.out_dim // self.heads // 2
        inv = self.theta ** (-torch.arange(half, device=device, dtype=torch.float32) / half)
        if positions is None:
            ang = torch.outer(torch.arange(start, start + t, device=device, dtype=torch.float32), inv)
        else:
            ang = (positions.to(device, torch.float32)[..., None] * inv)[:, None]
        ang = torch.cat((ang, ang), dim=-1)
        return ang.cos(), ang.sin()

    def _mask(self, attention_mask: torch.Tensor | None, t: int) -> torch.Tensor | None:
        """The boolean attention mask, or None when nothing is padded. The all-ones shortcut is taken on
        CPU only: on an accelerator ``bool(mask.all())`` would stall the host on every forward, and a full
        mask gives the same attention."""
        if attention_mask is None or (attention_mask.device.type == "cpu" and bool(attention_mask.all())):
            return None
        keys = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
        eye = torch.eye(t, dtype=torch.bool, device=keys.device)  # a padded query attends to itself: no NaN
        mask = keys | eye
        if self.causal:
            mask = mask & torch.ones(t, t, dtype=torch.bool, device=keys.device).tril()
        return mask

    def forward(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None, state: State
    ) -> tuple[torch.Tensor, State]:
        """``state`` is None (no cache; training and scoring) or a list of per-block (keys, values) from
        earlier calls, ``[]`` to start one (causal only, no padding): the returned list then holds the
        keys and values of every position so far, so generation feeds one new token per call."""
        h = self.inp(x)
        past = 0 if not state else state[0][0].shape[2]
        cos, sin = self._rope(h.shape[1], h.device, start=past)
        if state is not None:
            if not self.causal or (attention_mask is not None and not bool(attention_mask.all())):
                raise ModelError("a key/value cache needs a causal transformer and inputs without padding")
            t = h.shape[1]
            mask = torch.ones(t, past + t, dtype=torch.bool, device=h.device).tril(past) if past else None
            caches = list(state) or [None] * len(self.blocks)
            out = []
            for block, cache in zip(self.blocks, caches, strict=True):
                h, kv = block(h, cos, sin, mask, past == 0, cache)
                out.append(kv)
            return self.norm(h), out
        mask = self._mask(attention_mask, h.shape[1])
        for block in self.blocks:
            h, _ = block(h, cos, sin, mask, self.causal and mask is None)
        return self.norm(h), state

    def forward_cached(
        self,
        x: torch.Tensor,
        attention_mask: torch.Tensor | None,
        position_ids: torch.Tensor | None,
        past: tuple[tuple[torch.Tensor, torch.Tensor], ...] | None,
    ) -> tuple[torch.Tensor, tuple[tuple[torch.Tensor, torch.Tensor], ...]]:
        """The HF ``past_key_values`` face (causal only): ``past`` holds per block the ``(B, H, P, d)``
        keys and values of P earlier positions (padded ones too), ``attention_mask`` ``(B, P + T)`` says
        which of all P + T are real, ``position_ids`` ``(B, T)`` where the new tokens sit. Returns the
        features and the keys/values of all P + T positions, so a scorer can run a right-padded prefix
        once and its candidates' suffixes on top of it."""
        if not self.causal:
            raise ModelError("a key/value cache needs a causal transformer")
        h = self.inp(x)
        b, t = h.shape[:2]
        p = 0 if not past else past[0][0].shape[2]
        if position_ids is None and attention_mask is not None and p == 0:
            mask = self._mask(attention_mask, t)
        else:
            keys = (
                torch.ones(b, p + t, dtype=torch.bool, device=h.device)
                if attention_mask is None
                else attention_mask.bool()
            )[:, None, None, :]
            mask = keys & torch.ones(t, p + t, dtype=torch.bool, device=h.device).tril(p)
            own = torch.zeros(t, p + t, dtype=torch.bool, device=h.device)
            own[:, p:] = torch.eye(t, dtype=torch.bool, device=h.device)
            mask = mask | own  # a padded query attends to itself: no NaN
        pos = position_ids
        if pos is None and p:
            pos = torch.arange(p, p + t, device=h.device).expand(b, t)
        cos, sin = self._rope(t, h.device, positions=pos)
        out = []
        for block, cache in zip(self.blocks, past or [None] * len(self.blocks), strict=True):
            h, kv = block(h, cos, sin, mask, mask is None, cache)
            out.append(kv)
        return self.norm(h), tuple(out)


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d), nn.Dropout(dropout))

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,
        is_causal: bool,
        cache: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = _rotate(q, cos.to(q.dtype), sin.to(q.dtype)), _rotate(k, cos.to(k.dtype), sin.to(k.dtype))
        if cache is not None:
            k, v = torch.cat((cache[0], k), dim=2), torch.cat((cache[1], v), dim=2)
        a = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=is_causal, dropout_p=self.dropout if self.training else 0.0
        )
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.norm2(x)), (k, v)


def build_backbone(config: Any, causal: bool) -> nn.Module:
    """The backbone of ``config.arch`` (one place that knows which blocks make up which arch)."""
    e, p = config.embedding_dim, config.dropout
    arch = config.arch
    if arch in ("lstm", "lstm_stateful"):
        return LstmStack(e, config.hidden_size, config.num_layers, p)
    if arch == "cnn":
        return ConvStack(e, config.channels, config.kernel_size, config.num_layers, p)
    if arch == "cnn_lstm":
        conv = ConvStack(e, config.channels, config.kernel_size, config.num_conv_layers, p)
        return Sequential(conv, LstmStack(conv.out_dim, config.hidden_size, config.num_lstm_layers, p))
    if arch == "cnn_dilated":
        return DilatedResidualStack(e, config.channels, config.kernel_size, config.dilations, p)
    if arch == "transformer":
        return TransformerStack(e, config, causal)
    raise ModelError(f"no backbone for arch {arch!r}")
