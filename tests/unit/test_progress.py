"""Progress lines when the output is not a terminal (CI logs, `dvc queue logs`)."""

from __future__ import annotations

import io

from edgeforge.progress import StageProgress


def test_a_log_gets_plain_lines_with_counts_and_an_estimate():
    log = io.StringIO()
    with StageProgress("search", "evaluated", stream=log, interval_s=0) as progress:
        progress.update(0, 48, "0 trained")
        progress.update(12, 48, "3 trained")
    lines = log.getvalue().splitlines()
    assert lines[0] == "search: 0/48 evaluated, 0 trained"
    assert lines[1].startswith("search: 12/48 evaluated, 3 trained, ~") and lines[1].endswith(" s left")
    assert "\x1b" not in log.getvalue()  # no terminal escapes in a log


def test_lines_come_at_most_once_per_interval():
    log = io.StringIO()
    with StageProgress("train tiny_cnn", "epochs", total=15, stream=log, interval_s=3600) as progress:
        for epoch in range(1, 16):
            progress.update(epoch)
    assert log.getvalue().splitlines() == ["train tiny_cnn: 1/15 epochs, ~0 s left"]


def test_the_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("EDGEFORGE_PROGRESS_INTERVAL_S", "0")
    assert StageProgress("export mcu", "formats", stream=io.StringIO()).interval_s == 0
    monkeypatch.setenv("EDGEFORGE_PROGRESS_INTERVAL_S", "soon")
    assert StageProgress("export mcu", "formats", stream=io.StringIO()).interval_s == 5.0
