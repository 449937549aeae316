"""How long the default build takes, and what an edit costs, measured in one run.

Creates a fresh project with `edgeforge init` (the embedded default spec) in a temporary
directory, then times: the full `dvc repro`, a no-op `dvc repro`, `dvc repro` after tightening a
constraint and after relaxing one. Prints seconds and ratios; targets: full <= 180 s, no-op <= 1.5 s,
constraint edit <= 10% of full with zero trainings.

    python benchmarks/incremental.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="build in this directory and keep it")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="edgeforge-bench-")) / "project"
    edgeforge, dvc = [str(BIN / "edgeforge")], [sys.executable, "-m", "dvc"]
    subprocess.run(edgeforge + ["init", str(root)], check=True, capture_output=True)

    full = timed(dvc + ["repro"], root)
    noop = timed(dvc + ["repro"], root)
    # Tightening a limit: everything it needs was measured in the full build.
    subprocess.run(edgeforge + ["compose", "targets.mcu.constraints.min_accuracy=0.96"], cwd=root, check=True, capture_output=True)
    edit = timed(dvc + ["repro"], root)
    summary = json.loads((root / "build/search/summary.json").read_text())
    # Relaxing one: candidates the solver had pruned for it become worth training.
    subprocess.run(edgeforge + ["compose", "targets.mcu.constraints.latency_ms=4"], cwd=root, check=True, capture_output=True)
    relax = timed(dvc + ["repro"], root)
    relaxed = json.loads((root / "build/search/summary.json").read_text())

    print(f"project: {root}")
    print(f"full build            {full:8.2f} s   (target <= 180 s)")
    print(f"no-op dvc repro       {noop:8.2f} s   ratio to full {noop / full:6.3f}   (target <= 1.5 s)")
    print(f"constraint edit       {edit:8.2f} s   ratio to full {edit / full:6.3f}   (target <= 0.10)")
    print(f"  trainings {summary['trained']}, runtime measurements {summary['measured']}, conversions {summary['converted']}")
    print(f"constraint relaxation {relax:8.2f} s   ratio to full {relax / full:6.3f}")
    print(f"  trainings {relaxed['trained']}, runtime measurements {relaxed['measured']}, conversions {relaxed['converted']}")


if __name__ == "__main__":
    main()
