"""Commands the end-to-end tests run as a user would: each in its own process, with this
interpreter's scripts (`dvc`, `edgeforge`) first on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
COMMAND_TIMEOUT_S = 900  # a hung command fails its test instead of stalling the suite


def run(*command: str, cwd: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run `command` in `cwd`; with `check`, a non-zero exit fails the test with its output."""
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    result = subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def dvc(*args: str, cwd: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "dvc", *args, cwd=cwd, env=env, check=check)


def edgeforge(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """The CLI as a user types it; the exit code is the caller's to check."""
    return run(str(BIN / "edgeforge"), *args, cwd=cwd, env=env, check=False)


def stages_run(output: str) -> set[str]:
    """Names of the stages `dvc repro` ran (not skipped), from its output."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}
