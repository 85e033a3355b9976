"""Order selection for ``markov:auto`` and the content-addressed cache of fitted chains.

Selection fits once at the highest candidate order and scores seeded validation sites at every order by
truncating that chain (the lower-order counts are exact prefixes of the high-order ones), so no order is
refitted. :class:`MarkovCache` makes a second evaluation on the same data skip the fit and the
selection altogether: a chain is stored under the sha256 of the training sequences' content, the order,
the smoothing parameters and ``CACHE_VERSION`` (bumped when counting or the strength estimate changes);
a selection under the same plus the validation sequences and the selection settings. Files are written
atomically (temporary name + rename), so concurrent evaluations never read half a file, and an unreadable
or mismatching entry is recomputed and replaced, never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genobench_hf.errors import ConfigError, InputError
from genobench_hf.scoring.markov import MarkovModel, write_atomically
from genobench_hf.scoring.markov_counts import INVALID, encode

CACHE_VERSION = 1


def selection_bits(
    model: MarkovModel,
    validation: Sequence[str],
    orders: Sequence[int],
    *,
    n_sites: int = 20000,
    seed: int = 0,
    two_sided: bool = True,
) -> dict[int, float]:
    """Bits per nucleotide of ``model`` truncated to each order on seeded validation sites.

    Sites are drawn uniformly over the ACGT positions of ``validation`` with each whole sequence as context.
    """
    codes = [encode(s) for s in validation]
    x = np.concatenate([np.concatenate((c, [INVALID])) for c in codes]) if codes else np.zeros(0, np.uint8)
    acgt = np.flatnonzero(x < 4)
    if not len(acgt):
        raise InputError("the validation sequences hold no ACGT position")
    rng = np.random.default_rng(seed)
    pos = np.sort(rng.choice(acgt, size=min(n_sites, len(acgt)), replace=False))
    truth = x[pos].astype(np.intp)
    bits = {}
    for k in orders:
        p = model.truncated(k).score_positions(x, pos, two_sided=two_sided)
        bits[k] = float(-np.log2(p[np.arange(len(pos)), truth]).mean())
    return bits


def _sorted_orders(orders: Iterable[int]) -> list[int]:
    out = sorted(set(orders))
    if not out:
        raise ConfigError("select_order needs at least one candidate order")
    return out


def _best(bits: dict[int, float]) -> int:
    """The order with the fewest bits; ties go to the smaller order."""
    return min(bits, key=lambda k: (bits[k], k))


def select_order(
    train: Iterable[str] | Callable[[], Iterable[str]],
    validation: Sequence[str],
    orders: Sequence[int] = range(1, 13),
    *,
    n_sites: int = 20000,
    seed: int = 0,
    two_sided: bool = True,
    discount: float = 0.0,
) -> tuple[int, dict[int, float]]:
    """Fit once at max(orders), score seeded validation sites at each order; return the best K and bits."""
    orders = _sorted_orders(orders)
    model = MarkovModel.fit(train() if callable(train) else train, orders[-1], discount=discount)
    bits = selection_bits(model, validation, orders, n_sites=n_sites, seed=seed, two_sided=two_sided)
    return _best(bits), bits


def content_key(sequences: Iterable[str]) -> str:
    """sha256 of the sequences in order (each length-prefixed, so that joins cannot collide)."""
    h = hashlib.sha256()
    for seq in sequences:
        data = seq.encode("ascii", "replace")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class MarkovCache:
    """Fitted chains and order selections under ``folder`` (None: compute every time, store nothing).

    A folder that cannot be written only costs the reuse. ``hits`` and ``misses`` count lookups.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.hits = self.misses = 0

    def _path(self, kind: str, suffix: str, **parts: Any) -> Path | None:
        if self.folder is None:
            return None
        payload = json.dumps({"version": CACHE_VERSION, "kind": kind, **parts}, sort_keys=True)
        return self.folder / f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:32]}{suffix}"

    def fit(
        self,
        train: Sequence[str],
        order: int,
        *,
        discount: float = 0.0,
        strength: float | None = None,
        train_key: str | None = None,
        source: MarkovModel | None = None,
        store: bool = True,
    ) -> MarkovModel:
        """``MarkovModel.fit(train, order, ...)``, read from the cache when it holds it.

        ``source``, a chain of a higher order fitted on the same ``train``, is truncated instead of
        recounting (identical counts and strengths). ``store=False`` computes without writing.
        """
        path = self._path(
            "chain",
            ".npz",
            train=train_key or content_key(train),
            order=order,
            discount=discount,
            strength=strength,
        )
        if path is not None and path.is_file():
            with contextlib.suppress(InputError):
                model = MarkovModel.load(path)
                if model.order == order and model.discount == discount:
                    self.hits += 1
                    return model
        self.misses += 1
        if source is not None and source.order >= order and source.discount == discount:
            model = source.reduced(order, strength=strength)
        else:
            model = MarkovModel.fit(train, order, discount=discount, strength=strength)
        if path is not None and store:
            with contextlib.suppress(OSError):
                model.save(path, compress=False)  # written once, read by every later evaluation
        return model

    def auto(
        self,
        train: Sequence[str],
        validation: Sequence[str],
        orders: Sequence[int],
        *,
        n_sites: int = 20000,
        seed: int = 0,
        two_sided: bool = True,
        discount: float = 0.0,
    ) -> tuple[MarkovModel, int, dict[int, float]]:
        """The chain of the order :func:`select_order` picks, that order and the bits per order."""
        orders = _sorted_orders(orders)
        train_key = content_key(train)
        path = self._path(
            "selection",
            ".json",
            train=train_key,
            validation=content_key(validation),
            orders=orders,
            n_sites=n_sites,
            seed=seed,
            two_sided=two_sided,
            discount=discount,
        )
        bits = self._read_bits(path, orders)
        if bits is not None:
            self.hits += 1
            best = _best(bits)
            return self.fit(train, best, discount=discount, train_key=train_key), best, bits
        self.misses += 1
        # the top chain only serves the selection: kept in memory (a stored one is still read if present)
        top = self.fit(train, orders[-1], discount=discount, train_key=train_key, store=False)
        bits = selection_bits(top, validation, orders, n_sites=n_sites, seed=seed, two_sided=two_sided)
        if path is not None:
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                text = json.dumps({"bits": {str(k): v for k, v in bits.items()}}, indent=1)
                write_atomically(path, lambda fh: fh.write(text.encode()))
        best = _best(bits)
        model = self.fit(train, best, discount=discount, train_key=train_key, source=top)
        return model, best, bits

    @staticmethod
    def _read_bits(path: Path | None, orders: list[int]) -> dict[int, float] | None:
        """The stored bits per order, or None when absent, unreadable or for other orders."""
        if path is None or not path.is_file():
            return None
        try:
            bits = {int(k): float(v) for k, v in json.loads(path.read_text())["bits"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return bits if sorted(bits) == orders else None
