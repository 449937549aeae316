"""A device sweep as docs/sweeps.md describes it: `dvc exp run --queue -S ...`, `dvc queue start`
with a shared memo, then `dvc exp show` listing each experiment's per-target metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from edgeforge.cli import main

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DEVICES = ("nrf5340_dk", "nucleo_h7a3zi")
QUEUE_TIMEOUT_S = 1500


def run(*command: str, cwd: Path, env: dict | None = None) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def dvc(*args: str, cwd: Path, env: dict | None = None) -> str:
    return run(sys.executable, "-m", "dvc", *args, cwd=cwd, env=env)


def small_project(root: Path) -> Path:
    """`edgeforge init` with a quick base training, two PTQ modes and MCU limits every device
    of the sweep can meet, committed."""
    assert main(["init", str(root)]) == 0
    config = root / "specs/config.yaml"
    data = yaml.safe_load(config.read_text())
    data["train"]["epochs"] = 4
    data["targets"]["mcu"]["constraints"] = {"ram_kb": 64, "flash_kb": 256, "latency_ms": 20, "min_accuracy": 0.5}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    (root / "specs/search/default.yaml").write_text("space:\n  quantization: [float32, int8]\n")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["compose"]) == 0
    finally:
        os.chdir(cwd)
    run("git", "add", "-A", cwd=root)
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=root)
    return root


def wait_for_queue(root: Path) -> str:
    deadline = time.monotonic() + QUEUE_TIMEOUT_S
    while time.monotonic() < deadline:
        status = dvc("queue", "status", cwd=root)
        if not any(state in status for state in ("Queued", "Running")):
            return status
        time.sleep(5)
    raise AssertionError(f"queue still busy after {QUEUE_TIMEOUT_S} s:\n{status}")


def test_a_queued_device_sweep_runs_and_exp_show_lists_per_target_metrics(tmp_path):
    root = small_project(tmp_path / "project")
    memo = {"EDGEFORGE_MEMO_DIR": str(tmp_path / "memo")}
    dvc("repro", cwd=root, env=memo)  # the baseline; its stages land in DVC's run cache
    trained = tmp_path / "memo" / "trained"
    trained_before = sorted(trained.iterdir()) if trained.exists() else []

    dvc("exp", "run", "--queue", "-S", f"device@targets.mcu.device={','.join(DEVICES)}", cwd=root)
    assert dvc("queue", "status", cwd=root).count("Queued") == len(DEVICES)
    try:
        dvc("queue", "start", "--jobs", "1", cwd=root, env=memo)
        status = wait_for_queue(root)
    finally:
        dvc("queue", "stop", cwd=root)
    assert status.count("Success") == len(DEVICES), status

    rows = experiments(json.loads(dvc("exp", "show", "--json", cwd=root)))
    by_device = {row["params"]["targets"]["mcu"]["device"]["name"]: row for row in rows}
    assert set(DEVICES) <= set(by_device)
    for device in DEVICES:
        metrics = by_device[device]["metrics"]
        for target in ("mcu", "sbc"):
            selected = metrics[f"build/targets/{target}/selected.json"]["data"]
            assert selected["target"] == target and selected["candidate"]["id"]
            assert {"accuracy", "latency_ms", "arena_bytes", "flash_bytes"} <= set(selected["metrics"])
        assert metrics["build/targets/mcu/selected.json"]["data"]["device"] == device
    # the shared memo served the experiments: the same models, measured for other devices, no new training
    assert (sorted(trained.iterdir()) if trained.exists() else []) == trained_before


def experiments(shown: list[dict]) -> list[dict]:
    """The experiments' rows of `dvc exp show --json`: {"params": {...}, "metrics": {...}} each."""
    rows = []
    for commit in shown:
        for experiment in commit.get("experiments") or []:
            for revision in experiment.get("revs") or []:
                data = revision.get("data") or {}
                params = (data.get("params") or {}).get("params.yaml", {}).get("data", {})
                if params:
                    rows.append({"params": params, "metrics": data.get("metrics") or {}})
    return rows
