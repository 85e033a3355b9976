"""Test-wide settings (no network, quiet progress bars, a private HF cache) and the shared dataset builds."""

from __future__ import annotations

import os
import shutil
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


READS = 20  # reads per genome in the shared test build: enough for every split, cheap to write


@pytest.fixture(scope="session")
def built_corpus() -> tuple[Path, object]:
    """All six datasets built from the embedded corpus once per session (``--no-conservation``: the
    strain alignment has its own tests, see ``built_pro_with_conservation``). Returns (folder, summary)."""
    from genobench_hf.data.build import build_all

    out = Path(tempfile.mkdtemp(prefix="genobench-test-build-"))
    try:
        yield out, build_all(out, reads_per_genome=READS, progress=False, conservation=False)
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="session")
def built_pro_with_conservation() -> tuple[Path, object]:
    """The default PRO dataset (conservation columns filled) built once per session.

    Strain alignment costs ~1 min of CPU for the two species of the embedded corpus; the tracks are
    cached in the user's conservation cache (``$GENOBENCH_CACHE/conservation``, else
    ``~/.cache/genobench/conservation``: content-addressed, so sharing it is safe), which makes later runs
    cheap. Only ``slow`` tests use this fixture.
    """
    from genobench_hf.data.build import build_all

    out = Path(tempfile.mkdtemp(prefix="genobench-test-cons-"))
    try:
        yield out, build_all(out, names=("PRO",), progress=False)
    finally:
        shutil.rmtree(out, ignore_errors=True)
