"""The solver against exhaustive search: same choice per target, at what share of the trainings.

Composes the repo's specs (its targets and constraints), widens the search space to every
training-time pass (width x sparsity x clusters x QAT x 5 PTQ modes: 48 combinations), trains
the base model once, then runs the search twice from that same base model, each with a fresh
memo: `exhaustive`, and the default strategy (`auto`, which is multi-fidelity for this space).
Per target it prints both choices and whether they agree: the same candidate, or the solver's
is within 0.5 accuracy points of exhaustive's and meets every constraint. Targets: the same
choice with <= 35% of exhaustive's trainings.

    python benchmarks/solver.py                  # minutes on a 2-core machine
    python benchmarks/solver.py --epochs 5 --finetune-epochs 2   # a quick check
    python benchmarks/solver.py --json           # {"space_size", "targets", "trainings", "seconds"}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPACE = {
    "width": [1.0, 0.5], "sparsity": [0.0, 0.5], "clusters": [0, 16], "qat": [False, True],
    "quantization": ["float32", "float16", "dynamic", "int8", "int16x8"],
}
ACCURACY_TOLERANCE = 0.005  # "within 0.5 accuracy points"


def benchmark_spec(epochs: int | None, finetune_epochs: int | None, strategy: str = "exhaustive", seed: int | None = None):
    from edgeforge.spec.compose import compose_spec

    spec, _ = compose_spec(REPO / "specs")
    data = spec.model_dump(by_alias=True)
    if seed is not None:
        data["project"]["seed"] = seed
    if epochs:
        data["train"]["epochs"] = epochs
    if finetune_epochs:
        data["search"]["finetune_epochs"] = finetune_epochs
    data["search"]["space"].update(SPACE)
    data["search"].update({"strategy": strategy, "executor": "local", "budget": {}})
    return type(spec).model_validate(data)


def run(spec, splits, base_model, memo_root: Path) -> dict:
    """One search: its per-target choices, trainings and seconds."""
    from edgeforge.errors import ConstraintsUnmetError
    from edgeforge.search.engine import run_search
    from edgeforge.search.memo import Memo
    from edgeforge.search.results import write_search_outputs
    from edgeforge.search.select import select_candidate

    started = time.perf_counter()
    result, evaluator = run_search(spec, splits, base_model, Memo(memo_root / "memo"))
    seconds = time.perf_counter() - started
    out = memo_root / "search"
    out.mkdir()
    write_search_outputs(result, evaluator, out)
    choices = {}
    for name in spec.targets:
        target_result = json.loads((out / "targets" / f"{name}.json").read_text())
        try:
            choices[name] = select_candidate(target_result)
        except ConstraintsUnmetError:
            choices[name] = None
    return {"strategy": result.strategy, "choices": choices, "trainings": evaluator.stats.trained,
            "train_epochs": sum(evaluator.stats.train_epochs.values()), "seconds": seconds,
            "space_size": len(result.space)}


def same_choice(exhaustive: dict | None, solver: dict | None) -> bool:
    if exhaustive is None or solver is None:
        return exhaustive is None and solver is None
    if exhaustive["id"] == solver["id"]:
        return True
    close = abs(exhaustive["metrics"]["accuracy"] - solver["metrics"]["accuracy"]) <= ACCURACY_TOLERANCE + 1e-9
    return close and solver["feasible"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="base-model epochs (default: the spec's)")
    parser.add_argument("--finetune-epochs", type=int, help="full fine-tune epochs (default: the spec's)")
    parser.add_argument("--strategy", default="auto", help="the solver's strategy (default: auto)")
    parser.add_argument("--seed", type=int, help="project.seed: data split, initial weights, sampler (default: the spec's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", help="keep memos and results in this directory")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.simplefilter("ignore")

    from edgeforge.data.loaders import load_dataset, split_dataset
    from edgeforge.models.training import train_base

    spec = benchmark_spec(args.epochs, args.finetune_epochs, seed=args.seed)
    x, y = load_dataset(spec.dataset)
    splits = split_dataset(x, y, spec.dataset, seed=spec.project.seed)
    base_model, _ = train_base(spec.model, spec.train, splits, spec.project.seed)
    root = Path(args.keep or tempfile.mkdtemp(prefix="edgeforge-solver-"))
    runs = {}
    for label, strategy in (("exhaustive", "exhaustive"), ("solver", args.strategy)):
        (root / label).mkdir(parents=True, exist_ok=False)
        runs[label] = run(benchmark_spec(args.epochs, args.finetune_epochs, strategy, args.seed), splits, base_model, root / label)
    report = {
        "space_size": runs["exhaustive"]["space_size"],
        "targets": {
            name: {
                "same_choice": same_choice(runs["exhaustive"]["choices"][name], runs["solver"]["choices"][name]),
                "exhaustive": (runs["exhaustive"]["choices"][name] or {}).get("id"),
                "solver": (runs["solver"]["choices"][name] or {}).get("id"),
            }
            for name in spec.targets
        },
        "trainings": {label: runs[label]["trainings"] for label in runs},
        "seconds": {label: round(runs[label]["seconds"], 1) for label in runs},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print_table(report, runs, root)


def print_table(report: dict, runs: dict, root: Path) -> None:
    ex, so = runs["exhaustive"], runs["solver"]
    print(f"space: {report['space_size']} combinations; solver strategy: {so['strategy']}; results in {root}")
    for name, row in report["targets"].items():
        accuracies = [(runs[label]["choices"][name] or {}).get("metrics", {}).get("accuracy") for label in runs]
        verdict = "same choice" if row["same_choice"] else "DIFFERENT"
        print(f"  {name:8s} exhaustive {row['exhaustive']} (acc {accuracies[0]})  solver {row['solver']} (acc {accuracies[1]})  {verdict}")
    ratio = so["trainings"] / max(ex["trainings"], 1)
    epochs_ratio = so["train_epochs"] / max(ex["train_epochs"], 1)
    print(f"  trainings  exhaustive {ex['trainings']:4d}   solver {so['trainings']:4d}   ratio {ratio:.2f} (target <= 0.35)")
    print(f"  epochs     exhaustive {ex['train_epochs']:4d}   solver {so['train_epochs']:4d}   ratio {epochs_ratio:.2f}")
    print(f"  seconds    exhaustive {ex['seconds']:6.1f} solver {so['seconds']:6.1f} ratio {so['seconds'] / ex['seconds']:.2f}")
    ok = all(row["same_choice"] for row in report["targets"].values()) and ratio <= 0.35
    print("target met" if ok else "target NOT met")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
