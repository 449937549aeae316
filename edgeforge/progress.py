"""Progress of a long stage, readable on a terminal and in a log.

On a terminal it is a live rich bar that disappears when done. Anywhere else (CI logs, `dvc queue
logs`, a file) a bar would print nothing useful or a wall of redraws, so it is a plain line at most
every PROGRESS_INTERVAL_S seconds (EDGEFORGE_PROGRESS_INTERVAL_S overrides it):

    search: 12/48 evaluated, 3 trained, ~40 s left

    with StageProgress("search", "evaluated") as progress:
        progress.update(12, 48, "3 trained")
"""

from __future__ import annotations

import os
import sys
import time

PROGRESS_INTERVAL_S = 5.0
INTERVAL_ENV = "EDGEFORGE_PROGRESS_INTERVAL_S"


class StageProgress:
    """`update(done, total, detail)` as work goes; a bar on a TTY, a throttled line otherwise."""

    def __init__(self, label: str, unit: str, total: int | None = None, stream=None, interval_s: float | None = None):
        self.label = label
        self.unit = unit
        self.total = total
        self.stream = stream or sys.stdout
        self.interval_s = interval_s if interval_s is not None else _interval_from_env()
        self.started = time.monotonic()
        self._last_line_at: float | None = None
        self._bar = None
        self._task = None

    def __enter__(self) -> StageProgress:
        if _is_terminal(self.stream):
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(transient=True, console=Console(file=self.stream))
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, done: int, total: int | None = None, detail: str = "") -> None:
        self.total = total if total is not None else self.total
        text = self.line(done, detail)
        if self._bar is not None:
            self._bar.update(self._task, description=text, completed=done, total=self.total)
            return
        now = time.monotonic()
        if self._last_line_at is not None and now - self._last_line_at < self.interval_s:
            return
        self._last_line_at = now
        print(text, file=self.stream, flush=True)

    def line(self, done: int, detail: str = "") -> str:
        """`label: done/total unit, detail, ~N s left` (the estimate once something is done)."""
        count = f"{done}/{self.total}" if self.total else f"{done}"
        parts = [f"{self.label}: {count} {self.unit}"] + ([detail] if detail else [])
        left_s = self.seconds_left(done)
        if left_s is not None:
            parts.append(f"~{left_s:.0f} s left")
        return ", ".join(parts)

    def seconds_left(self, done: int) -> float | None:
        if not self.total or done <= 0 or done >= self.total:
            return None
        elapsed_s = time.monotonic() - self.started
        return elapsed_s / done * (self.total - done)


def _interval_from_env() -> float:
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, PROGRESS_INTERVAL_S)))
    except ValueError:
        return PROGRESS_INTERVAL_S


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
