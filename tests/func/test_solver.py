"""The solver on real models: search → per-target results → select (Pareto fronts, relaxations) →
report, the bad inputs of the solver issue, and the Dask executor against the local one."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from edgeforge.atomic import atomic_dir
from edgeforge.errors import ConstraintsUnmetError, SpecError, UserError
from edgeforge.search.engine import run_search
from edgeforge.search.memo import Memo
from edgeforge.search.pareto import front_metrics
from edgeforge.search.results import write_search_outputs
from tests.conftest import REPO
from tests.unit.search.helpers import digits, quick_base_model, quick_spec

pytestmark = pytest.mark.slow

# One training recipe besides the base (pruning), two PTQ modes every target runs.
SMALL_SPACE = {"width": [1.0], "sparsity": [0.0, 0.5], "clusters": [0], "qat": [False], "quantization": ["float32", "int8"]}
# Limits the full-width int8 model meets on the MCU (its float32 kernels are too slow for 5 ms).
MCU_LIMITS = {"ram_kb": 16, "flash_kb": 160, "latency_ms": 5, "min_accuracy": 0.5}


def small_spec(constraints: dict | None = None, space: dict | None = None, **search):
    return quick_spec(
        space={**SMALL_SPACE, **(space or {})}, constraints={"mcu": MCU_LIMITS, **(constraints or {})}, **search
    )


@contextmanager
def working_directory(path: Path):
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(previous)


def build(root: Path, spec, memo: Path) -> dict:
    """Search into root/build/search and run select for every target; returns the search summary."""
    from edgeforge.stages import select

    result, evaluator = run_search(spec, digits(), quick_base_model(), Memo(memo))
    root.mkdir(parents=True, exist_ok=True)
    with working_directory(root):
        with atomic_dir(Path("build/search")) as out:
            summary = write_search_outputs(result, evaluator, out)
        for name in spec.targets:
            try:
                select.run(name)
            except ConstraintsUnmetError as error:
                (root / f"{name}.error").write_text(str(error))
    return summary


@pytest.fixture(scope="module")
def memo(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("memo")


@pytest.fixture(scope="module")
def built(tmp_path_factory, memo) -> Path:
    root = tmp_path_factory.mktemp("built")
    build(root, small_spec(), memo)
    return root


def test_search_scores_every_kept_candidate_on_every_target_that_runs_it(built):
    summary = json.loads((built / "build/search/summary.json").read_text())
    assert summary["strategy"] == "exhaustive"  # auto, for a space this small
    assert summary["space_size"] == 4 and summary["pruned_everywhere"] == 0
    everything = {"w1-s0-c0-float32", "w1-s0-c0-int8", "w1-s0.5-c0-float32", "w1-s0.5-c0-int8"}
    for name in ("mcu", "sbc"):
        result = json.loads((built / f"build/search/targets/{name}.json").read_text())
        scored, dropped = {c["id"] for c in result["candidates"]}, set(result["pruned_analytically"])
        assert scored | dropped == everything and not scored & dropped
        assert {c["id"]: c["epochs"] for c in result["candidates"]}["w1-s0.5-c0-int8"] == 1  # the fine-tune's fidelity
    # the MCU's float32 kernels are too slow for its latency limit: dropped before training
    mcu = json.loads((built / "build/search/targets/mcu.json").read_text())
    assert mcu["pruned_analytically"]["w1-s0-c0-float32"][0]["constraint"] == "latency_ms"
    assert summary["pruned_analytically"] == len(mcu["pruned_analytically"]) == summary["pruned_per_target"]["mcu"]


def test_select_writes_pareto_json_and_png_beside_the_choice(built):
    for name in ("mcu", "sbc"):
        folder = built / "build/targets" / name
        selected = json.loads((folder / "selected.json").read_text())
        pareto = json.loads((folder / "pareto.json").read_text())
        assert pareto["chosen"] == selected["candidate"]["id"] and pareto["feasible"]
        assert set(pareto["fronts"]) == set(front_metrics(pareto["binding"]["metric"]))
        assert "latency_ms" in pareto["fronts"]
        ids = {p["id"] for p in pareto["points"]}
        assert all(set(front) <= ids for front in pareto["fronts"].values())
        assert (folder / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((built / "build/targets/mcu/pareto.json").read_text())["binding"]["constraint"] in ("ram_kb", "flash_kb", "latency_ms")


def test_report_json_has_the_strategy_the_pruned_count_and_each_candidates_fidelity(built):
    from edgeforge.report import build_report

    report = build_report(built)
    assert report["search"]["strategy"] == "exhaustive"
    assert report["search"]["pruned_analytically"] == 2  # the MCU's two float32 candidates
    epochs = {c["id"]: c["epochs"] for c in report["candidates"]}
    assert epochs["w1-s0-c0-int8"] == 0 and epochs["w1-s0.5-c0-int8"] == 1
    assert report["targets"]["mcu"]["pareto"]["png"] == "build/targets/mcu/pareto.png"


def test_an_infeasible_target_is_explained_with_the_relaxation_that_fixes_it(tmp_path, memo):
    summary = build(tmp_path, small_spec(constraints={"sbc": {"min_accuracy": 0.999}}), memo)
    assert summary["trained"] == 0  # a constraint edit: everything comes from the memo
    message = (tmp_path / "sbc.error").read_text()
    assert "target 'sbc': no candidate meets every constraint" in message
    assert "to make it feasible: lower min_accuracy to 0." in message
    pareto = json.loads((tmp_path / "build/targets/sbc/pareto.json").read_text())
    assert not pareto["feasible"] and pareto["chosen"] is None
    assert pareto["relaxations"][0]["set"]["min_accuracy"] < 0.999
    assert not (tmp_path / "build/targets/sbc/selected.json").exists()


def test_a_space_pruned_entirely_fails_before_any_training_naming_the_constraint(tmp_path):
    spec = small_spec(constraints={"mcu": {"ram_kb": 1, "min_accuracy": 0.5}})
    with pytest.raises(UserError) as error:
        run_search(spec, digits(), quick_base_model(), Memo(tmp_path / "memo"))
    assert "targets.mcu.constraints: no combination of the search space can fit before any training" in str(error.value)
    assert "ram_kb = 1 excludes every one of the 4 combinations" in str(error.value)
    assert not (tmp_path / "memo" / "trained").exists()


def test_an_objective_naming_an_unknown_metric_lists_the_valid_ones():
    from edgeforge.spec.compose import compose_spec

    with pytest.raises(SpecError) as error:
        compose_spec(REPO / "specs", ["targets.mcu.objective=min_lag"])
    message = str(error.value)
    assert "targets.mcu.objective" in message
    assert all(name in message for name in ("max_accuracy", "min_latency", "min_flash", "min_ram", "min_energy"))


def test_the_budget_caps_the_trainings(tmp_path):
    spec = small_spec(space={"clusters": [0, 16]}, strategy="exhaustive", budget={"max_trainings": 1})  # 3 to train
    result, evaluator = run_search(spec, digits(), quick_base_model(), Memo(tmp_path / "memo"))
    assert evaluator.stats.trained == 1 and result.budget_exhausted


def test_dask_executor_gets_the_same_results_as_local(tmp_path, memo):
    from distributed import LocalCluster

    local = build(tmp_path / "local", small_spec(), tmp_path / "local-memo")
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        spec = small_spec(executor="dask", dask_address=cluster.scheduler_address)
        distributed = build(tmp_path / "dask", spec, tmp_path / "dask-memo")
    assert distributed["trained"] == local["trained"] == 1
    assert any((tmp_path / "dask-memo" / "trained").iterdir())  # the workers wrote the shared memo
    for name in ("mcu", "sbc"):
        results = [json.loads((tmp_path / run / f"build/search/targets/{name}.json").read_text()) for run in ("local", "dask")]
        assert [outcome(c) for c in results[0]["candidates"]] == [outcome(c) for c in results[1]["candidates"]]


def outcome(entry: dict) -> tuple:
    """A candidate's result (nothing in it depends on how fast the machine trained it)."""
    metrics = entry["metrics"] or {}
    return entry["id"], metrics, entry["feasible"], entry.get("sha256")


# -- benchmarks/solver.py, one seed at reduced size ------------------------------------------------

# The benchmark's three targets on a smaller space (6 recipes: 5 trainings; the full one has 35),
# evaluated on 120 held-out samples: about two minutes on 2 cores. Multi-fidelity is forced (auto
# would search a space this small exhaustively). At this size the two need not agree (the solver's
# budget is 2 trainings), so only the shape of the result and feasibility are checked.
BENCHMARK_SMALL_SPACE = {"width": [1.0, 0.5, 0.25], "sparsity": [0.0], "clusters": [0, 16], "qat": [False],
                         "quantization": ["int8"]}


def load_solver_benchmark():
    import importlib.util

    spec = importlib.util.spec_from_file_location("solver_benchmark", REPO / "benchmarks" / "solver.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_solver_benchmark_reports_every_target_for_a_seed(tmp_path):
    benchmark = load_solver_benchmark()
    entry = benchmark.run_seed(0, "multi_fidelity", epochs=3, finetune_epochs=2, root=tmp_path, space=BENCHMARK_SMALL_SPACE,
                               eval_samples=120)
    report = json.loads(json.dumps(benchmark.summarize([entry])))  # what --json prints
    assert set(report) == {"seeds", "same_choice_everywhere", "same_candidate_everywhere", "max_training_share", "goal_met"}
    [seed] = report["seeds"]
    assert seed["seed"] == 0 and seed["space_size"] == 6 and seed["solver_strategy"] == "multi_fidelity"
    assert set(seed["targets"]) == set(benchmark.TARGETS) == {"mcu", "sbc", "lut"}
    for name, row in seed["targets"].items():
        assert set(row) == {"exhaustive", "solver", "same_candidate", "equivalent"}
        assert seed["feasible"][name], f"{name}: no feasible choice ({row})"
        assert row["exhaustive"] and row["solver"]
    assert seed["trainings"]["exhaustive"] == 5 and 0 < seed["trainings"]["solver"] < 5
    assert seed["training_share"] == round(seed["trainings"]["solver"] / 5, 3)
    assert report["goal_met"] == (report["same_candidate_everywhere"] and report["max_training_share"] <= 0.25)
    # the least flash under LUT compression is a clustered student's; RAM leaves the mcu a student
    assert seed["targets"]["lut"]["exhaustive"] == "w0.25-s0-c16-int8"
    assert seed["targets"]["mcu"]["exhaustive"].startswith("w0.25-")
