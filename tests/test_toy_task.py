"""Adding a task is one class: a toy task defined and registered inside this test is scored, recorded in the
results, shown in the report and exported to the model-index, with no other file touched (issue 15).

The report and the export run after the task is unregistered again: they learn its main score, direction
and rendering from the results file alone, as they would in a process that never imported the task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from genobench_hf.contract import RunContext, Scorer
from genobench_hf.results import skipped
from genobench_hf.tasks import base
from genobench_hf.tasks.base import Task, TaskMetadata, is_reads
from genobench_hf.tasks.sampling import sample_sites


class TruthProbability(Task):
    """Mean probability a scorer gives the true base of a next-nucleotide site (a made-up score whose
    name no module of the package knows)."""

    metadata = TaskMetadata(
        name="toy_truth_probability",
        description="mean probability of the true next base",
        category="toy",
        protocol="next_nucleotide",
        main_score="p_true",
        higher_is_better=True,
    )

    def run(self, scorer: Scorer, dataset: str, context: RunContext) -> dict[str, Any]:
        cfg = context.config.task
        rows = context.rows(dataset, cfg.split)
        windows = sample_sites(rows, n_sites=cfg.sites_per_dataset, window=cfg.window, seed=cfg.seed,
                               dataset=dataset, reads=is_reads(dataset), protocol="next_nucleotide")  # fmt: skip
        if not windows:
            return skipped(f"no windows in {dataset}")
        scores = context.score("toy", dataset, windows, "next_nucleotide", scorer)
        p = [s.probs[i, t] for w, s in zip(windows, scores, strict=True) for i, t in enumerate(w.targets)]
        return {"p_true": float(np.mean(p)), "n_sites": len(p), "split": cfg.split}


def test_a_task_defined_in_a_test_is_scored_reported_and_exported(
    built_corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genobench_hf.outcomes import load_results
    from genobench_hf.report import build_report
    from genobench_hf.report.model_index import build_eval_results
    from genobench_hf.runner import EvalConfig, evaluate
    from genobench_hf.summary_table import summary_rows
    from genobench_hf.task_config import TaskConfig

    data, _ = built_corpus
    name = TruthProbability.metadata.name
    monkeypatch.setitem(base._TASKS, name, TruthProbability)
    out = tmp_path / "toy.json"
    evaluate(
        EvalConfig(model="markov:2", tasks=[name], datasets=["VIR", "PRO_reads"], data_dir=data, output=out,
                   task=TaskConfig(n_sites=16, n_bootstrap=0), baseline=None, resume=False,
                   show_progress=False, threads=1, device="cpu")
    )  # fmt: skip
    monkeypatch.delitem(base._TASKS, name)  # from here on, only the results file knows the task

    results = load_results(out)
    toy = results[name]
    assert toy.info.main_score == "p_true" and toy.info.higher_is_better and toy.info.report == "leaderboard"
    assert set(toy.scores) == {"VIR", "PRO_reads"} and all(0.0 < v < 1.0 for v in toy.scores.values())
    assert toy.summary["mean_p_true"] == pytest.approx(np.mean(list(toy.scores.values())))

    assert [r[2] for r in summary_rows(results.doc)] == ["p_true", "p_true"]

    report = build_report([out], tmp_path / "report")
    markdown = report.markdown.read_text(encoding="utf-8")
    assert name in markdown and f"{toy.scores['VIR']:.3f}" in markdown

    rows, omitted = build_eval_results(results.doc)
    exported = {(r.task_name, r.dataset_name, r.metric_type): r.metric_value for r in rows}
    assert exported[(name, "VIR", "p_true")] == pytest.approx(toy.scores["VIR"]) and not omitted


def test_reading_results_imports_no_task_nor_torch(repo_root: Path) -> None:
    """The report's task facts come from the results file: reading them loads neither the task registry
    nor torch (as ``collect.main_score`` did through ``tasks/probes.py``)."""
    import subprocess
    import sys

    fixture = repo_root / "tests" / "fixtures" / "results" / "char-mlm-50M.json"
    code = (
        "import sys; from genobench_hf.report.collect import load_runs, main_score, score_tasks; "
        "from genobench_hf.summary_table import summary_rows; "
        f"runs = load_runs([{str(fixture)!r}]); "
        "assert [main_score(t, runs) for t in score_tasks(runs)][-1] == ('identity', True); "
        "summary_rows(runs[0].doc); "
        "assert 'torch' not in sys.modules and 'genobench_hf.tasks' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
