"""The Python API: ``genobench.evaluate`` / ``genobench_hf.evaluate`` give the CLI's numbers as typed results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from genobench_hf.cli import main
from genobench_hf.errors import ConfigError


def test_import_genobench_exposes_the_api_without_loading_the_tasks() -> None:
    code = (
        "import sys, genobench, genobench_hf; "
        "assert genobench.evaluate is genobench_hf.evaluate and genobench.load_results is genobench_hf.load_results; "
        "assert genobench.__version__ == genobench_hf.__version__; "
        "assert 'genobench_hf.tasks' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_evaluate_returns_the_cli_numbers_typed(built_corpus, tmp_path: Path) -> None:
    import genobench

    data, _ = built_corpus
    common = ["--tasks", "imputation,next_nucleotide", "--datasets", "VIR,PRO_reads", "--n-sites", "20"]
    cli_out = tmp_path / "cli.json"
    argv = ["evaluate", "--model", "markov:2", "--data-dir", str(data), "--output", str(cli_out), "--quiet"]
    assert main([*argv, *common, "--n-bootstrap", "0", "--baseline", "none", "--threads", "1"]) == 0
    results = genobench.evaluate(
        model="markov:2", tasks=["imputation", "next_nucleotide"], datasets="VIR,PRO_reads", data_dir=data,
        n_sites=20, n_bootstrap=0, baseline=None, threads=1, output=tmp_path / "api.json",
    )  # fmt: skip
    assert results.doc["results"] == json.loads(cli_out.read_text())["results"]
    imputation = results["imputation"]
    assert imputation.info.main_score == "bits_per_nt" and imputation.info.higher_is_better is False
    assert imputation.scores["VIR"] == results.doc["results"]["imputation"]["VIR"]["bits_per_nt"]
    again = genobench.load_results(tmp_path / "api.json")
    assert again.tasks["next_nucleotide"].scores == results.tasks["next_nucleotide"].scores
    assert again.model == "markov:2" and again.path == tmp_path / "api.json"


def test_evaluate_names_an_unknown_option() -> None:
    import genobench_hf

    with pytest.raises(ConfigError, match=r"unknown option.*n_site\b"):
        genobench_hf.evaluate(model="markov:2", n_site=10)
