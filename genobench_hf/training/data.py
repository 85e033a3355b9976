"""Training and validation windows, drawn as pure functions of (seed, step, process).

Every batch is computed from a seeded generator keyed by the step (never from a stream state), so a
resumed run sees exactly the batches an uninterrupted run would, and each Accelerate process draws its
own windows (``rank`` in the key) without a data loader to shard. Windows are drawn uniformly over
nucleotide positions (rows weighted by length), on a random strand; targets that are not A/C/G/T are
ignored (-100) so that losses are bits per scored nucleotide, as in the benchmark.

``lstm_stateful`` uses :meth:`WindowSampler.stream_batch`: B streams, each walking ``bptt_windows``
consecutive windows of one genome segment (the segment starts with [BOS] like a scored window), then
jumping to a new random segment; stream j is offset by j steps so resets are staggered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genobench_hf.errors import ConfigError
from genobench_hf.models.tokenizer import (
    ACGT_IDS,
    BOS_ID,
    EOS_ID,
    MASK_ID,
    encode,
    reverse_complement_ids,
)

IGNORE = -100


@dataclass
class Batch:
    """Model inputs and labels; ``reset`` marks streams whose recurrent state must restart (stateful)."""

    input_ids: torch.Tensor
    labels: torch.Tensor
    reset: torch.Tensor | None = None


def _labels(ids: np.ndarray) -> np.ndarray:
    labels = ids.astype(np.int64)
    labels[~np.isin(ids, ACGT_IDS)] = IGNORE
    return labels


def sequences_digest(sequences: Sequence[str]) -> str:
    """sha256 of a split's sequences in order: what a model learned from, independent of how the Parquet
    files were written (library versions change their bytes, never this digest)."""
    h = hashlib.sha256()
    for seq in sequences:
        h.update(seq.encode("ascii", "replace"))
        h.update(b"\n")
    return h.hexdigest()


class WindowSampler:
    """Draws nucleotide windows of ``seq_len`` from a list of sequences (one split of a dataset)."""

    def __init__(
        self, sequences: Sequence[str], seq_len: int, *, what: str, min_len: int | None = None
    ) -> None:
        need = min_len or seq_len
        self.rows = [encode(s) for s in sequences if len(s) >= need]
        if not self.rows:
            longest = max((len(s) for s in sequences), default=0)
            raise ConfigError(
                f"{what}: no sequence of at least {need} nt (longest {longest}); use a smaller --seq-len"
            )
        self.seq_len = seq_len
        self.lengths = np.array([len(r) for r in self.rows], dtype=np.int64)

    def _draw(self, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
        """``n`` windows of ``length`` nt: row by its number of start positions, uniform start, random strand."""
        starts_per_row = np.maximum(self.lengths - length + 1, 0)
        rows = rng.choice(len(self.rows), size=n, p=starts_per_row / starts_per_row.sum())
        starts = rng.integers(0, starts_per_row[rows])
        flip = rng.random(n) < 0.5
        out = np.stack([self.rows[r][s : s + length] for r, s in zip(rows, starts, strict=True)]).astype(
            np.int64
        )
        out[flip] = reverse_complement_ids(out[flip])
        return out

    def causal_batch(self, seed: int, step: int, rank: int, batch_size: int) -> Batch:
        """``[BOS] x`` windows (seq_len + 1 tokens), labels = ACGT targets."""
        rng = np.random.default_rng([seed, step, rank, 0])
        nts = self._draw(rng, batch_size, self.seq_len)
        ids = np.concatenate([np.full((batch_size, 1), BOS_ID), nts], axis=1)
        return Batch(torch.from_numpy(ids), torch.from_numpy(_labels(ids)))

    def masked_batch(self, seed: int, step: int, rank: int, batch_size: int, rate: float) -> Batch:
        """``[CLS] x [SEP]`` windows; ``rate`` of the ACGT positions are targets, BERT-style 80/10/10
        ([MASK] / random nucleotide / unchanged)."""
        rng = np.random.default_rng([seed, step, rank, 1])
        nts = self._draw(rng, batch_size, self.seq_len)
        return mask_tokens(nts, rng, rate)

    def stream_batch(self, seed: int, step: int, rank: int, batch_size: int, bptt_windows: int) -> Batch:
        """Window ``(step + j) % bptt_windows`` of stream j's current segment (truncated BPTT)."""
        width = self.seq_len + 1
        ids = np.empty((batch_size, width), dtype=np.int64)
        reset = np.zeros(batch_size, dtype=bool)
        for j in range(batch_size):
            segment, pos = divmod(step + j, bptt_windows)
            rng = np.random.default_rng([seed, rank, j, segment, 2])
            seg = self._draw(rng, 1, bptt_windows * width - 1)[0]
            seg = np.concatenate([[BOS_ID], seg])
            ids[j] = seg[pos * width : (pos + 1) * width]
            reset[j] = pos == 0
        return Batch(torch.from_numpy(ids), torch.from_numpy(_labels(ids)), torch.from_numpy(reset))

    def fixed_sample(self, seed: int, n: int, objective: str, rate: float) -> Batch:
        """The validation sample: the same ``n`` windows (and masks) for every run with this seed."""
        rng = np.random.default_rng([seed, 3])
        nts = self._draw(rng, n, self.seq_len)
        if objective == "mlm":
            return mask_tokens(nts, rng, rate)
        ids = np.concatenate([np.full((n, 1), BOS_ID), nts], axis=1)
        return Batch(torch.from_numpy(ids), torch.from_numpy(_labels(ids)))


def mask_tokens(nts: np.ndarray, rng: np.random.Generator, rate: float) -> Batch:
    """BERT masking over ACGT positions of ``nts`` (B, L), wrapped as ``[CLS] x [SEP]``."""
    n = len(nts)
    ids = np.concatenate([np.full((n, 1), BOS_ID), nts, np.full((n, 1), EOS_ID)], axis=1)
    chosen = np.isin(ids, ACGT_IDS) & (rng.random(ids.shape) < rate)
    labels = np.where(chosen, ids, IGNORE)
    roll = rng.random(ids.shape)
    ids = ids.copy()
    ids[chosen & (roll < 0.8)] = MASK_ID
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    ids[swap] = rng.choice(np.array(ACGT_IDS), size=int(swap.sum()))
    return Batch(torch.from_numpy(ids), torch.from_numpy(labels))
