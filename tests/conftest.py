"""Test-wide settings: no network, quiet progress bars, a private HF cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_HF_HOME = tempfile.mkdtemp(prefix="genobench-hf-home-")
for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_EVALUATE_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HOME": _HF_HOME,
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ[_key] = _value

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_GENOMES = REPO_ROOT.parent / "shared" / "genomes"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_genomes() -> Path:
    """The full real corpus beside the repo; tests that need it skip when it is absent."""
    if not (SHARED_GENOMES / "TAXONOMY.tsv").exists():
        pytest.skip("../shared/genomes is not present")
    return SHARED_GENOMES
