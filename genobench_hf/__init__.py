"""genobench: a benchmark for DNA language models on the Hugging Face stack."""

from genobench_hf.version import __version__ as __version__
