"""How long the default build takes, and what an edit costs, measured in one run against DVC's floor.

Creates a fresh project with `edgeforge init` (the embedded default spec) in a temporary
directory and times `dvc repro`: the full build, a no-op, a constraint edit (tighter accuracy on the
MCU target), a format edit (one more format for the SBC target) and a device swap (another MCU
board). DVC's floor is measured in the same run: a no-op `dvc repro` of a trivial pipeline with as
many stages (each an `echo`), so machine load affects both alike; and for each edit, the same trivial
pipeline re-running as many stages as the edit did (`dvc_floor_s`: what DVC itself costs to run that
many stage processes and record them, against which the edit's own work is the rest). Prints seconds
and ratios to the full build; targets (issue 20): constraint edit <= 5% of full with zero trainings,
no-op <= floor + 0.3 s.

The stages run as from a normal install: PYTHONDONTWRITEBYTECODE is dropped from their environment
(with it every process recompiles edgeforge's sources, which no user's machine does).

    python benchmarks/incremental.py [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
DVC = [sys.executable, "-m", "dvc"]
EDGEFORGE = [str(BIN / "edgeforge")]
NOOP_RUNS = 3  # the median of three: a no-op is short enough for one hiccup to matter
CONSTRAINT_EDIT_MAX_RATIO = 0.05
NOOP_OVER_FLOOR_MAX_S = 0.3
EDITS = {  # name -> `edgeforge compose` overrides, applied on top of the edits before (one change each)
    "constraint_edit": ["targets.mcu.constraints.min_accuracy=0.96"],
    "format_edit": ["targets.sbc.formats=[tflite,onnx]"],
    "device_swap": ["device@targets.mcu.device=nrf5340_dk"],
}


def environment() -> dict:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = run(command, cwd)
    return time.perf_counter() - started, result.stdout


def stages_run(output: str) -> list[str]:
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]


def trivial_pipeline(root: Path, stages: int) -> Path:
    """`stages` chained echo stages: DVC's own cost per stage, with nothing to compute."""
    root.mkdir(parents=True)
    run(["git", "init", "-q"], root)
    run(DVC + ["init", "-q"], root)
    lines = ["stages:"]
    for index in range(stages):
        lines += [f"  s{index}:", f"    cmd: echo {index} > out{index}.txt", "    outs:", f"      - out{index}.txt"]
        if index:
            lines += ["    deps:", f"      - out{index - 1}.txt"]
    (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
    run(DVC + ["repro"], root)
    return root


def rerun_floor_seconds(root: Path, stages: int, rerun: int) -> float:
    """DVC's cost of re-running the last `rerun` of `stages` chained trivial stages: each copies its
    own input and the previous stage's output (so an edit flows down the chain), and the first of
    those `rerun` gets a new input. The median of NOOP_RUNS edits."""
    if not rerun:
        return 0.0
    if not root.exists():
        root.mkdir(parents=True)
        run(["git", "init", "-q"], root)
        run(DVC + ["init", "-q"], root)
        lines = ["stages:"]
        for index in range(stages):
            previous = f" out{index - 1}.txt" if index else ""
            (root / f"in{index}.txt").write_text("0\n")
            lines += [f"  s{index}:", f"    cmd: cat in{index}.txt{previous} > out{index}.txt", "    deps:", f"      - in{index}.txt"]
            lines += [f"      - out{index - 1}.txt"] if index else []
            lines += ["    outs:", f"      - out{index}.txt"]
        (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
        run(DVC + ["repro"], root)
    edited = root / f"in{stages - rerun}.txt"
    seconds = []
    for _ in range(NOOP_RUNS):
        edited.write_text(f"{int(edited.read_text()) + 1}\n")
        elapsed, output = timed(DVC + ["repro"], root)
        if len(stages_run(output)) != rerun:
            raise SystemExit(f"the trivial pipeline in {root} re-ran {stages_run(output)}, not {rerun} stages")
        seconds.append(elapsed)
    return statistics.median(seconds)


def selected(project: Path) -> dict[str, str]:
    """target -> the candidate its bundle ships."""
    chosen = {}
    for path in sorted((project / "build/targets").glob("*/export/exports.json")):
        chosen[path.parent.parent.name] = json.loads(path.read_text())["candidate"]
    return chosen


def noop_seconds(root: Path) -> float:
    return statistics.median(timed(DVC + ["repro"], root)[0] for _ in range(NOOP_RUNS))


def measure(workdir: Path) -> dict:
    project = workdir / "project"
    run(EDGEFORGE + ["init", str(project)], workdir)
    full_s, _ = timed(DVC + ["repro"], project)
    stages = len(run(DVC + ["stage", "list", "--name-only"], project).stdout.split())
    noop_s = noop_seconds(project)
    floor_s = noop_seconds(trivial_pipeline(workdir / "trivial", stages))

    edits, overrides = {}, []
    for name, more in EDITS.items():
        overrides += more  # `edgeforge compose` starts from specs/ each time
        before = selected(project)
        run(EDGEFORGE + ["compose", *overrides], project)
        seconds, output = timed(DVC + ["repro"], project)
        summary = json.loads((project / "build/search/summary.json").read_text())
        edits[name] = {
            "overrides": list(more),
            "seconds": round(seconds, 3),
            "ratio_to_full": round(seconds / full_s, 4),
            "stages_run": stages_run(output),
            # DVC's own cost for as many re-running stages (trivial ones), measured now
            "dvc_floor_s": round(rerun_floor_seconds(workdir / "trivial-rerun", stages, len(stages_run(output))), 3),
            "selection_changed": sorted(t for t, chosen in selected(project).items() if before.get(t) != chosen),
            "trained": summary["trained"],
            "converted": summary["converted"],
            "measured": summary["measured"],
        }
    constraint = edits["constraint_edit"]
    return {
        "project": str(project),
        "stages": stages,
        "full_s": round(full_s, 3),
        "noop_s": round(noop_s, 3),
        "noop_ratio_to_full": round(noop_s / full_s, 4),
        "dvc_floor_noop_s": round(floor_s, 3),
        # DVC re-reads and rewrites the whole dvc.lock after every stage it runs: its size is a cost per stage
        "dvc_lock_bytes": (project / "dvc.lock").stat().st_size,
        "noop_over_floor_s": round(noop_s - floor_s, 3),
        "edits": edits,
        "targets": {
            "constraint_edit_max_ratio": CONSTRAINT_EDIT_MAX_RATIO,
            "noop_over_floor_max_s": NOOP_OVER_FLOOR_MAX_S,
            "constraint_edit_met": constraint["ratio_to_full"] <= CONSTRAINT_EDIT_MAX_RATIO and constraint["trained"] == 0,
            "noop_met": noop_s - floor_s <= NOOP_OVER_FLOOR_MAX_S,
        },
    }


def print_table(figures: dict) -> None:
    print(f"project: {figures['project']} ({figures['stages']} stages)")
    print(f"full build        {figures['full_s']:8.2f} s")
    print(f"dvc.lock          {figures['dvc_lock_bytes']:8d} bytes (rewritten after every stage that runs)")
    print(f"no-op dvc repro   {figures['noop_s']:8.2f} s   DVC's floor ({figures['stages']} trivial stages) "
          f"{figures['dvc_floor_noop_s']:.2f} s, over it {figures['noop_over_floor_s']:+.2f} s (target <= +{NOOP_OVER_FLOOR_MAX_S} s)")
    for name, edit in figures["edits"].items():
        print(f"{name.replace('_', ' '):17} {edit['seconds']:8.2f} s   ratio to full {edit['ratio_to_full']:6.3f}   "
              f"DVC's floor for {len(edit['stages_run'])} trivial stages {edit['dvc_floor_s']:.2f} s; "
              f"trained {edit['trained']}, converted {edit['converted']}, measured {edit['measured']}; "
              f"ran {', '.join(edit['stages_run']) or 'nothing'}; new choice for {', '.join(edit['selection_changed']) or 'no target'}")
    print(f"targets: constraint edit <= {CONSTRAINT_EDIT_MAX_RATIO:.0%} of full with 0 trainings: "
          f"{'met' if figures['targets']['constraint_edit_met'] else 'NOT met'}; no-op within floor + "
          f"{NOOP_OVER_FLOOR_MAX_S} s: {'met' if figures['targets']['noop_met'] else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="build in this directory and keep it")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="edgeforge-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures = measure(workdir)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_table(figures)


if __name__ == "__main__":
    main()
