"""Numbers must not move: a small fixed evaluation compared, figure by figure, with a committed golden file.

The golden file (``tests/fixtures/golden/evaluate_small.json``) was written once, before the contract
refactor of issue 15, by ``python tests/test_golden.py --write``. Refactors must keep this test passing
*unchanged*: if a figure moves, the refactor changed what is scored. Only the fields that depend on the
run's host, clock or temporary paths are left out (``VOLATILE``); every other number, string and key is
compared (floats to a relative 1e-6, which absorbs summation-order noise of threaded BLAS and nothing else).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from genobench_hf.site_records import RECORDS

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "evaluate_small.json"
TASKS = ["imputation", "next_nucleotide", "imputation_dense", "span_imputation"]
DATASETS = ["VIR", "PRO_reads"]
#: top-level sections and config keys that describe the host, the clock or a temporary path
#: (``model_fingerprint`` hashes the model's path; its content identity, ``model_identity``, is compared);
#: the per-site/span/gene record references name files (their rows have their own tests, test_compare.py)
VOLATILE_TOP = {"timing", "environment", *RECORDS}
VOLATILE_CONFIG = {"data_dir", "threads", "cache_dir", "output", "model_fingerprint"}
#: task metadata the typed-results contract (issue 15) added to each summary after the golden file was
#: written: not figures, so left out of the comparison (test_toy_task.py checks them)
ADDED_SUMMARY_KEYS = {"higher_is_better", "report"}

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_causal(root: Path) -> Path:
    from genobench_hf import testing as T

    tok = T.char_tokenizer(causal=True)
    model = T.tiny_causal_lm(tok, seed=0)
    model.save_pretrained(root / "clm")
    tok.save_pretrained(root / "clm")
    return root / "clm"


def run_small(data: Path, work: Path) -> dict[str, Any]:
    """The fixed configuration: the Markov model and a tiny causal LM, each on two datasets, four tasks."""
    from genobench_hf.runner import EvalConfig, evaluate
    from genobench_hf.task_config import TaskConfig

    task = TaskConfig(n_sites=24, n_bootstrap=50, n_spans=2, span_lengths=(30,), n_genes=1)
    out: dict[str, Any] = {}
    for name, model, baseline in (
        ("markov", "markov:3", None),
        ("causal", str(_tiny_causal(work)), "markov:2"),
    ):
        doc = evaluate(
            EvalConfig(
                model=model, tasks=TASKS, datasets=DATASETS, data_dir=data, output=work / f"{name}.json",
                task=task, baseline=baseline, resume=False, show_progress=False, threads=1, device="cpu",
            )
        )  # fmt: skip
        out[name] = stable_view(doc)
    return out


def stable_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The results without the host/clock/path fields (``VOLATILE_*``); the model path by its name only."""
    view = {k: v for k, v in doc.items() if k not in VOLATILE_TOP}
    config = {k: v for k, v in doc["config"].items() if k not in VOLATILE_CONFIG}
    if not str(config["model"]).startswith("markov"):
        config["model"] = Path(config["model"]).name
    view["config"] = config
    view["summaries"] = {
        task: {k: v for k, v in summary.items() if k not in ADDED_SUMMARY_KEYS}
        for task, summary in doc["summaries"].items()
    }
    return json.loads(json.dumps(view, default=str))


def differences(got: Any, want: Any, where: str = "") -> list[str]:
    """Every place where ``got`` differs from ``want`` (keys, lengths, strings, numbers beyond 1e-6)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}/{k}: missing" for k in want if k not in got]
        out += [f"{where}/{k}: unexpected" for k in got if k not in want]
        for k in [k for k in want if k in got]:
            out += differences(got[k], want[k], f"{where}/{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: length {len(got)} != {len(want)}"]
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in differences(g, w, f"{where}[{i}]")
        ]
    numbers = (int, float)
    if isinstance(want, numbers) and isinstance(got, numbers) and not isinstance(want, bool):
        if isinstance(want, float) and isinstance(got, float) and math.isnan(want) and math.isnan(got):
            return []
        return (
            [] if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12) else [f"{where}: {got!r} != {want!r}"]
        )
    return [] if got == want else [f"{where}: {got!r} != {want!r}"]


def test_differences_catches_a_moved_figure() -> None:
    want = {"a": [1.0, {"b": 2.0, "c": "x"}], "n": float("nan")}
    assert differences(json.loads(json.dumps(want)), want) == []
    assert differences({"a": [1.0, {"b": 2.00001, "c": "x"}], "n": float("nan")}, want) == [
        "/a[1]/b: 2.00001 != 2.0"
    ]
    assert differences({"a": [1.0], "n": 1.0}, want) == ["/a: length 1 != 2", "/n: 1.0 != nan"]
    assert differences({"a": [1.0, {"b": 2.0, "c": "y"}]}, want) == ["/n: missing", "/a[1]/c: 'y' != 'x'"]


@pytest.mark.slow  # about a minute on 2 busy cores
def test_small_evaluation_matches_golden(built_corpus, tmp_path: Path) -> None:
    data, _ = built_corpus
    got = run_small(data, tmp_path)
    want = json.loads(GOLDEN.read_text())
    diff = differences(got, want)
    assert not diff, f"{len(diff)} figures moved, first: " + "; ".join(diff[:10])


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:  # once, before a refactor: never to make it pass
    import torch
    from conftest import READS

    from genobench_hf.data.build import build_all

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="genobench-golden-"))
    try:
        build_all(tmp / "data", reads_per_genome=READS, progress=False, conservation=False)
        (tmp / "work").mkdir()
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(run_small(tmp / "data", tmp / "work"), indent=1, sort_keys=True) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
