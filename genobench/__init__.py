"""``import genobench``: the distribution's name for the package ``genobench_hf``'s Python API.

The distribution is called ``genobench`` and its code lives in ``genobench_hf`` (the Hugging Face stack
flavour); this thin package lets a user who installed ``genobench`` write ``import genobench`` and get
the API. Everything else stays under ``genobench_hf``.
"""

from genobench_hf.api import Results, TaskResult, evaluate, load_results
from genobench_hf.version import __version__

__all__ = ["Results", "TaskResult", "__version__", "evaluate", "load_results"]
