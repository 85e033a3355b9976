"""One progress display per command: "stage i/N", the stage's bar, and an estimate for the whole run.

A command opens :func:`stages` with its number of stages and wraps each in ``display.stage(name)``; the
code doing the work inside (the chunked executor, training steps, probes) reports through :func:`work`,
which feeds the bar of whatever stage is running instead of opening a bar of its own (a long run used to
show hundreds of short-lived bars). A display opened while another runs (``genobench run`` -> evaluate,
train) nests: its stages become the current stage of the outer one, and the outer estimate follows.

On a terminal (stdout and stderr both) the display is one live block on stderr; otherwise, e.g. in a log
file or CI, it writes one line per finished stage and nothing else (no carriage returns, no bar frames).
The estimate is elapsed time scaled by the fraction done, counting the running stage by its bar: crude
when stages differ in cost, honest about being an estimate ("about").
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_STACK: list[Display | _Quiet] = []  # the open displays, outermost first


def format_seconds(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss``) for elapsed times and estimates."""
    s = max(round(seconds), 0)
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def is_terminal() -> bool:
    """Both streams are terminals (a live display on stderr would otherwise swallow or garble stdout)."""
    return all(getattr(s, "isatty", lambda: False)() for s in (sys.stdout, sys.stderr))


class Display:
    """The state of one level of stages; the outermost level also owns the output."""

    def __init__(
        self,
        total: int,
        *,
        label: str = "",
        stream: TextIO | None = None,
        interactive: bool | None = None,
        parent: Display | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.parent = parent
        self.clock = clock
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = is_terminal() if interactive is None else interactive
        self.started = clock()
        self.done = 0  # finished stages
        self.index = 0  # the running stage (1-based), 0 before the first
        self.name = ""
        self.stage_started = self.started
        self.work_total = 0
        self.work_done = 0
        self.unit = ""
        self.note = ""
        self.child: Display | None = None
        self._live: Any = None
        self._restore_bars: Callable[[], None] | None = None

    # -- state --------------------------------------------------------------------------------------
    @property
    def fraction(self) -> float:
        """Share of this level done, the running stage counted by its child or its bar."""
        if self.child is not None:
            part = self.child.fraction
        elif self.work_total > 0:
            part = min(self.work_done / self.work_total, 1.0)
        else:
            part = 0.0
        return min((self.done + (part if self.index > self.done else 0.0)) / self.total, 1.0)

    def estimate(self) -> str:
        """Elapsed time and the time left, estimated from the fraction done."""
        elapsed = self.clock() - self.started
        f = self.fraction
        left = f"about {format_seconds(elapsed * (1 - f) / f)} left" if f >= 0.005 else "estimating time left"
        return f"elapsed {format_seconds(elapsed)}, {left}"

    def prefix(self) -> str:
        """Where the outer levels are, e.g. ``[3/14 train lstm PRO] `` for an evaluation inside a run."""
        outer = self.parent
        parts = []
        while outer is not None:
            parts.append(f"[{outer.index}/{outer.total} {outer.name}] ")
            outer = outer.parent
        return "".join(reversed(parts))

    def root(self) -> Display:
        return self if self.parent is None else self.parent.root()

    # -- stages -------------------------------------------------------------------------------------
    @contextmanager
    def stage(self, name: str) -> Iterator[Display]:
        """Run one stage; when it ends normally it counts as done and (in a log) writes its line. A stage
        that raised writes none: the error, or the interrupt's resume line, says what happened."""
        self.index, self.name = self.done + 1, name
        self.stage_started = self.clock()
        self.work_total = self.work_done = 0
        self.unit = self.note = ""
        self.refresh()
        ok = False
        try:
            yield self
            ok = True
        finally:
            if ok:
                self.done = self.index
                self._finished_line()
            self.refresh()

    def _finished_line(self) -> None:
        if self.root().interactive:
            return
        took = format_seconds(self.clock() - self.stage_started)
        work = f", {self.work_done:,} {self.unit}".rstrip() if self.unit and self.work_total else ""
        line = f"genobench: {self.prefix()}[{self.index}/{self.total}] {self.name}: done in {took}{work}"
        root = self.root()
        root.stream.write(f"{line}; {root.estimate()}\n")
        root.stream.flush()

    # -- work inside the running stage ---------------------------------------------------------------
    def add_work(self, total: int, unit: str) -> None:
        """Grow (or, for a shrinking budget, shrink) the running stage's bar by ``total`` units."""
        self.work_total = max(self.work_total + int(total), 0)
        self.unit = unit
        self.refresh()

    def advance(self, n: int = 1) -> None:
        self.work_done += n

    # -- output -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        live = self.root()._live
        if live is not None:
            live.refresh()

    def lines(self) -> list[str]:
        """The text of this level and the levels inside it (the live block; also handy in tests)."""
        head = f"{self.label + ' ' if self.label else ''}stage {max(self.index, 1)}/{self.total}: {self.name}"
        out = [f"{head}  ({self.estimate()})"]
        if self.child is not None:
            return out + ["  " + line for line in self.child.lines()]
        if self.work_total:
            out.append(f"  {self.work_done:,}/{self.work_total:,} {self.unit} {self.note}".rstrip())
        return out

    def _renderable(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        rows: list[Any] = []
        level: Display | None = self
        while level is not None:
            rows.append(Text(level.lines()[0], overflow="ellipsis", no_wrap=True))
            if level.child is None and level.work_total:
                grid = Table.grid(padding=(0, 1))
                grid.add_row(
                    ProgressBar(total=level.work_total, completed=level.work_done, width=40),
                    Text(f"{level.work_done:,}/{level.work_total:,} {level.unit} {level.note}".rstrip()),
                )
                rows.append(grid)
            level = level.child
        return Group(*rows)

    def open(self) -> None:
        if self.parent is None:
            self._restore_bars = _library_bars_off()
        if self.interactive and self.parent is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream)
            self._live = Live(console=console, get_renderable=self._renderable, refresh_per_second=4,
                              transient=True, redirect_stdout=True, redirect_stderr=True)  # fmt: skip
            self._live.start()

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._restore_bars is not None:
            self._restore_bars()
            self._restore_bars = None


#: module -> (its state test: ``is_...`` true = bars on, ``are_..._disabled`` true = off; its "off" and
#: "on" functions); transformers copies huggingface_hub's state
#: when it is imported, so switching the Hub's off also covers a transformers imported during a display
_LIBRARY_BARS = {
    "huggingface_hub.utils": ("are_progress_bars_disabled", "disable_progress_bars", "enable_progress_bars"),
    "datasets.utils.tqdm": ("are_progress_bars_disabled", "disable_progress_bars", "enable_progress_bars"),
    "transformers.utils.logging": ("is_progress_bar_enabled", "disable_progress_bar", "enable_progress_bar"),
}


def _library_bars_off() -> Callable[[], None]:
    """Switch the Hugging Face libraries' bars (loading weights, writing shards, downloads, dataset splits)
    off while a display runs: each would add a bar per model or dataset beside it. Returns the function
    that switches on again exactly what was on."""
    import importlib

    for name in ("huggingface_hub.utils", "datasets.utils.tqdm"):
        importlib.import_module(name)
    was_on: dict[str, bool] = {}
    for name, (test, off, _on) in _LIBRARY_BARS.items():
        module = sys.modules.get(name)
        if module is not None:
            state = bool(getattr(module, test)())
            was_on[name] = state if test.startswith("is_") else not state
            getattr(module, off)()
    hub_on = was_on["huggingface_hub.utils"]

    def restore() -> None:
        for name, (_test, _off, on) in _LIBRARY_BARS.items():
            module = sys.modules.get(name)
            if module is not None and was_on.get(name, hub_on):
                getattr(module, on)()

    return restore


class _Quiet:
    """What :func:`stages` yields when progress is off: stages run, nothing is shown."""

    @contextmanager
    def stage(self, name: str) -> Iterator[_Quiet]:
        yield self


@contextmanager
def stages(
    total: int, *, label: str = "", enabled: bool = True, stream: TextIO | None = None
) -> Iterator[Display | _Quiet]:
    """Open a display of ``total`` stages, nested in the running one if any; ``enabled=False``: quiet.

    Inside a quiet display everything stays quiet, so ``genobench run --quiet`` holds for the
    evaluations and training it runs."""
    outer = _STACK[-1] if _STACK else None
    level: Display | _Quiet
    if not enabled or isinstance(outer, _Quiet):
        level = _Quiet()
    else:
        level = Display(total, label=label, stream=stream, parent=outer)
        if outer is not None:
            outer.child = level
        level.open()
    _STACK.append(level)
    try:
        yield level
    finally:
        _STACK.pop()
        if isinstance(level, Display):
            level.close()
            if isinstance(outer, Display):
                outer.child = None
                outer.refresh()


class Work:
    """A handle on the running stage's bar: ``update(n)``, ``set_total``, ``set_note``; no-op without one."""

    def __init__(self, display: Display | None, total: int | None, unit: str) -> None:
        self.display, self.unit, self.total = display, unit, 0
        self.set_total(total or 0)

    def set_total(self, total: int) -> None:
        """Change this handle's share of the bar (a training run learns its step count after a probe)."""
        if self.display is not None:
            self.display.add_work(total - self.total, self.unit)
        self.total = total

    def update(self, n: int = 1) -> None:
        if self.display is not None:
            self.display.advance(n)

    def set_note(self, text: str) -> None:
        if self.display is not None:
            self.display.note = text

    def close(self) -> None:
        pass

    def __enter__(self) -> Work:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def work(total: int | None, unit: str = "win", *, note: str = "", enabled: bool = True) -> Work:
    """Report ``total`` units of work (None: not known yet, see :meth:`Work.set_total`) in the running
    stage, labelled ``note``; a no-op when no display is open or ``enabled`` is false."""
    top = _STACK[-1] if _STACK and enabled else None
    handle = Work(top if isinstance(top, Display) else None, total, unit)
    if note:
        handle.set_note(note)
    return handle
