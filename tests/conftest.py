"""Test-wide settings (no network, quiet progress bars, a private HF cache), the session's dataset builds, and
the fresh-clone rule: real genomes come from the embedded corpus or tests/fixtures/genomes only, and a skip
that blames missing data outside the repository is turned into a failure (see ``pytest_runtest_makereport``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
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
FIXTURE_GENOMES = Path(__file__).resolve().parent / "fixtures" / "genomes"
#: skip reasons that blame data missing outside the repository (the sibling shared folder, its genomes)
MISSING_DATA_SKIP = re.compile(
    r"\.\./shared|/shared/|\bshared\b.{0,40}\b(genomes?|corpus|folder|data)\b", re.I
)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpus_genomes() -> Path:
    """The real corpus embedded in the package (genomes + strains, see its MANIFEST): what every checkout has."""
    from genobench_hf.data.taxonomy import embedded_corpus_dir

    return embedded_corpus_dir()


@pytest.fixture(scope="session")
def fixture_genomes() -> Path:
    """Small real cuts of genomes the embedded corpus lacks (a corpus folder; provenance in its README)."""
    return FIXTURE_GENOMES


def _missing_data_failure(report: pytest.TestReport | pytest.CollectReport, where: str) -> None:
    """Turn a skip whose reason blames data outside the repository into a failure that says why."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    if MISSING_DATA_SKIP.search(reason):
        report.outcome = "failed"
        report.longrepr = (
            f"{where}: skipped for data outside the repository ({reason}); tests must run in a fresh clone: "
            "use the embedded corpus (corpus_genomes, genobench_hf.testing.real_dna) or tests/fixtures/genomes"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    _missing_data_failure(report, item.nodeid)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    report = yield
    _missing_data_failure(report, collector.nodeid)
    return report


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


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread than on two contended ones (used through pytestmark)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
