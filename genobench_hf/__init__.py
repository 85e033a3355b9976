"""genobench: a benchmark for DNA language models on the Hugging Face stack.

The Python API (``evaluate``, ``load_results``, ``Results``, ``TaskResult``; :mod:`genobench_hf.api`) is
resolved on first use: every module of the package enters this one, so it imports nothing else eagerly.
"""

from typing import Any

from genobench_hf.version import __version__ as __version__

_API = ("Results", "TaskResult", "evaluate", "load_results")
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """``genobench_hf.evaluate`` etc. from :mod:`genobench_hf.api` (PEP 562)."""
    if name in _API:
        from genobench_hf import api

        return getattr(api, name)
    raise AttributeError(f"module 'genobench_hf' has no attribute {name!r}")
