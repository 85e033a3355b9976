"""One progress display per command: stage i/N, the stage's bar, an overall estimate; plain lines in logs."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from genobench_hf import progress
from genobench_hf.cli import main


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _display(total: int, clock: Clock, stream: io.StringIO, **kw: object) -> progress.Display:
    return progress.Display(total, stream=stream, interactive=False, clock=clock, **kw)  # type: ignore[arg-type]


def test_one_line_per_stage_with_overall_estimate() -> None:
    clock, out = Clock(), io.StringIO()
    d = _display(4, clock, out)
    for i, name in enumerate(["imputation PRO", "imputation VIR", "span PRO", "span VIR"]):
        with d.stage(name):
            bar = progress.Work(d, 100, "win")
            for _ in range(4):
                clock.now += 2.5
                bar.update(25)
            if i == 0:
                assert d.fraction == pytest.approx(0.25)
    lines = out.getvalue().splitlines()
    assert lines[0] == "genobench: [1/4] imputation PRO: done in 0:10, 100 win; elapsed 0:10, about 0:30 left"
    assert lines[3].startswith("genobench: [4/4] span VIR: done in 0:10") and lines[3].endswith(
        "about 0:00 left"
    )
    assert len(lines) == 4 and "\r" not in out.getvalue()


def test_estimate_counts_the_running_stage_by_its_bar() -> None:
    clock, out = Clock(), io.StringIO()
    d = _display(2, clock, out)
    with d.stage("a"):
        bar = progress.Work(d, None, "step")  # total learned later, like a training run after its probe
        bar.set_total(200)
        bar.update(50)
        clock.now = 30.0
        assert d.fraction == pytest.approx(0.125)
        assert d.estimate() == "elapsed 0:30, about 3:30 left"
        bar.set_total(100)  # the budget shrank: the bar follows
        assert d.work_total == 100 and d.fraction == pytest.approx(0.25)
        assert d.lines() == ["stage 1/2: a  (elapsed 0:30, about 1:30 left)", "  50/100 step"]


def test_nested_displays_feed_the_outer_stage_and_estimate() -> None:
    """`genobench run` -> evaluate: inner lines say where the outer run is; one overall estimate."""
    out, clock = io.StringIO(), Clock()
    outer = _display(2, clock, out, label="run")
    with outer.stage("score markov:auto"):
        inner = progress.Display(4, parent=outer, clock=clock, label="evaluate")
        outer.child = inner
        with inner.stage("imputation PRO"):
            clock.now = 10.0
        assert outer.fraction == pytest.approx(0.125)
        outer.child = None
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "genobench: [1/2 score markov:auto] [1/4] imputation PRO: done in 0:10; elapsed 0:10, about 1:10 left"
    )
    assert lines[1].startswith("genobench: [1/2] score markov:auto: done in 0:10")


def test_stages_context_nests_and_quiet_wins() -> None:
    out = io.StringIO()
    with progress.stages(2, stream=out) as outer:
        assert isinstance(outer, progress.Display) and not outer.interactive  # pytest captures: no tty
        with outer.stage("first"):
            with progress.stages(1) as inner, inner.stage("inner"):
                assert isinstance(inner, progress.Display) and inner.parent is outer
                progress.work(10, "win").update(10)
                assert inner.work_done == 10 and outer.work_done == 0
            assert outer.child is None
        with outer.stage("second"), progress.stages(3, enabled=False) as quiet:
            assert not isinstance(quiet, progress.Display)
            with progress.stages(1) as inside_quiet:  # a display inside a quiet one stays quiet
                assert not isinstance(inside_quiet, progress.Display)
    assert [line.split(":")[1].strip() for line in out.getvalue().splitlines()] == [
        "[1/2 first] [1/1] inner",
        "[1/2] first",
        "[2/2] second",
    ]
    assert progress.work(5).display is None  # no display open: reporting work is a no-op


def test_a_failed_stage_writes_no_done_line() -> None:
    out = io.StringIO()
    d = _display(2, Clock(), out)
    with pytest.raises(RuntimeError), d.stage("breaks"):
        raise RuntimeError
    assert out.getvalue() == ""


def test_interactive_display_renders_stage_bar_and_estimate() -> None:
    """On a terminal: a live block (rich) with 'stage i/N', the bar and the estimate; nothing left behind."""
    from rich.console import Console

    out, clock = io.StringIO(), Clock()
    d = progress.Display(3, stream=out, interactive=True, clock=clock, label="evaluate m")
    with d.stage("imputation PRO"):
        progress.Work(d, 40, "win").update(10)
        clock.now = 5.0
        console = Console(file=io.StringIO(), width=100)
        console.print(d._renderable())
        text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "evaluate m stage 1/3: imputation PRO" in text and "10/40 win" in text
    assert "about 0:55 left" in text and "━" in text
    assert out.getvalue() == ""  # never the per-stage lines on a terminal


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.6, "1:00"), (3725, "1:02:05")])
def test_format_seconds(seconds: float, text: str) -> None:
    assert progress.format_seconds(seconds) == text


def test_evaluate_in_a_log_writes_one_line_per_stage(
    built_corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`genobench evaluate ... 2> log`: N stage lines with i/N and an estimate, no bar frames."""
    data, _ = built_corpus
    out = tmp_path / "r.json"
    argv = ["evaluate", "--model", "markov:2", "--tasks", "imputation,next_nucleotide", "--datasets", "VIR,EUK",
            "--data-dir", str(data), "--limit", "8", "--n-bootstrap", "10", "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("genobench: [")]
    pattern = (
        r"genobench: \[(\d)/4\] (\S+ \S+): done in \d+:\d\d, \d+ win; elapsed \d+:\d\d, about \d+:\d\d left"
    )
    found = [re.fullmatch(pattern, line) for line in lines]
    assert all(found), lines
    assert [(m[1], m[2]) for m in found if m] == [
        ("1", "imputation VIR"), ("2", "imputation EUK"), ("3", "next_nucleotide VIR"), ("4", "next_nucleotide EUK")
    ]  # fmt: skip
    assert "\r" not in err and "win/s" not in err  # no tqdm bars
    assert json.loads(out.read_text())["timing"]["sites_scored"] > 0
    assert main([*argv, "--quiet"]) == 0
    assert "genobench: [" not in capsys.readouterr().err


LIBRARY_BARS_SCRIPT = """
import importlib, io
from genobench_hf import progress
ds = importlib.import_module("datasets.utils.tqdm")
with progress.stages(1, stream=io.StringIO()) as d, d.stage("s"):
    import transformers.utils.logging as tl  # imported while a display runs: follows the Hub's switch
    assert not tl.is_progress_bar_enabled() and ds.are_progress_bars_disabled()
assert tl.is_progress_bar_enabled() and not ds.are_progress_bars_disabled()
with progress.stages(1, stream=io.StringIO()) as d, d.stage("s"):
    assert not tl.is_progress_bar_enabled() and ds.are_progress_bars_disabled()
assert tl.is_progress_bar_enabled() and not ds.are_progress_bars_disabled()
ds.disable_progress_bars()  # what the caller switched off stays off
with progress.stages(1, stream=io.StringIO()):
    pass
assert ds.are_progress_bars_disabled() and tl.is_progress_bar_enabled()
print("OK")
"""


def test_library_bars_are_off_inside_a_display_and_restored() -> None:
    """`Loading weights` / `Writing model shards` / dataset bars would add one bar per model or split.
    In a subprocess: this session switches those bars off through the environment (conftest)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if "DISABLE_PROGRESS_BARS" not in k}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY_BARS_SCRIPT], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stderr
