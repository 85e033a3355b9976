"""One seed function for everything that must be reproducible across machines and runs.

``hash()`` is salted per process, so seeds are derived from a keyed digest of their parts instead; data
building, site sampling and frame draws all use this one function, so a seed means the same everywhere.
"""

from __future__ import annotations

import hashlib


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from any values, stable across processes, machines and Python versions."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")
