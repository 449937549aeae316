"""The stage functions dvc.yaml runs: each reads params.yaml and build/, and writes its outputs
atomically (no training here: prepare runs for real, later stages read hand-written outputs)."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from edgeforge.errors import BuildError, ConstraintsUnmetError, UserError
from edgeforge.layout import BUILD
from edgeforge.outputs import ExportPlan, Selection, read_output, write_output
from edgeforge.search.select import export_candidate_of, export_plan
from edgeforge.stages import STAGES
from tests.fake_build import selection_of, target_search, write_target

MCU_LIMITS = {"ram_kb": 64, "latency_ms": 3, "min_accuracy": 0.9}


def compose_params(*overrides: str) -> None:
    """params.yaml from the project's specs/, as `edgeforge compose` writes it."""
    from edgeforge.spec.compose import compose, validate, write_params

    composition = compose("specs", list(overrides))
    validate(composition)
    write_params(composition.config, "params.yaml")


@pytest.mark.parametrize("name", STAGES)
def test_every_stage_is_a_module_with_a_run_function(name):
    assert callable(importlib.import_module(f"edgeforge.stages.{name}").run)


def test_prepare_writes_the_split_and_its_info(tmp_project):
    from edgeforge.data import load_splits
    from edgeforge.stages import prepare

    compose_params()
    prepare.run()
    assert sorted(path.name for path in (tmp_project / "build").iterdir()) == ["data"]  # no staging folder left
    assert sorted(path.name for path in (tmp_project / BUILD.data_dir).iterdir()) == ["info.json", "splits.npz"]
    splits = load_splits(BUILD.splits)
    info = json.loads((tmp_project / BUILD.data_dir / "info.json").read_text())
    assert {key: info[key] for key in ("input_shape", "num_classes", "train", "val", "test")} == {
        "input_shape": [8, 8, 1], "num_classes": 10, "train": len(splits.y_train), "val": len(splits.y_val),
        "test": len(splits.y_test)}
    assert info["class_names"] == [str(digit) for digit in range(10)] and info["source"]["kind"] == "digits"
    assert info["train"] + info["val"] + info["test"] == 1797


def test_prepare_writes_the_same_split_when_run_again(tmp_project):
    from edgeforge.data import load_splits
    from edgeforge.stages import prepare

    compose_params()
    prepare.run()
    first = load_splits(BUILD.splits).fingerprint()
    prepare.run()
    assert load_splits(BUILD.splits).fingerprint() == first


def test_prepare_keeps_the_previous_split_when_the_data_file_is_missing(tmp_project):
    from edgeforge.data import load_splits
    from edgeforge.stages import prepare

    compose_params()
    prepare.run()
    before = load_splits(BUILD.splits).fingerprint()
    compose_params("dataset.name=npz", "dataset.path=data/readings.npz")
    with pytest.raises(UserError, match="data/readings.npz does not exist"):
        prepare.run()
    assert load_splits(BUILD.splits).fingerprint() == before


def test_prepare_reads_an_npz_file(tmp_project):
    from edgeforge.data import load_splits
    from edgeforge.stages import prepare

    y = np.repeat(np.arange(3), 20)
    np.savez(tmp_project / "readings.npz", x=np.random.default_rng(0).random((60, 5)), y=y)
    compose_params("dataset.name=npz", "dataset.path=readings.npz", "model=mlp")
    prepare.run()
    splits = load_splits(BUILD.splits)
    assert splits.input_shape == (5,) and splits.num_classes == 3


def test_train_says_to_run_prepare_when_there_is_no_split(tmp_project):
    from edgeforge.stages import train

    compose_params()
    with pytest.raises(UserError, match=r"prepared data not found; run `dvc repro prepare`"):
        train.run()
    assert not (tmp_project / BUILD.base_dir).exists()


def test_select_writes_the_best_feasible_candidate_and_its_pareto_files(tmp_project):
    from edgeforge.stages import select

    result = target_search(
        {"fp32_big": {"arena_bytes": 200 * 1024, "latency_ms": 1.0},  # fastest, but over the RAM limit
         "int8_fast": {"latency_ms": 1.5}, "int8_slow": {"latency_ms": 2.5}},
        MCU_LIMITS,
    )
    write_target(tmp_project, result)
    select.run("mcu")
    selected = read_output(Selection, BUILD.selected("mcu"))
    assert selected == selection_of(result, "int8_fast")
    pareto = json.loads((tmp_project / BUILD.pareto_json("mcu")).read_text())
    assert pareto["chosen"] == "int8_fast" and pareto["feasible"] is True
    assert pareto["binding"]["constraint"] == "ram_kb"
    assert (tmp_project / BUILD.pareto_png("mcu")).read_bytes().startswith(b"\x89PNG")
    assert sorted(path.name for path in (tmp_project / BUILD.target_dir("mcu")).iterdir()) == [
        "candidates.json", "export_plan.json", "pareto.json", "pareto.png", "selected.json",
    ]


def test_select_plans_the_export_of_the_choice_then_the_next_selectable_candidates(tmp_project):
    from edgeforge.stages import select

    bundle = {"download_bytes": 9000, "download_source": "bundle"}
    write_target(tmp_project, target_search(
        {"fp32_big": {"arena_bytes": 200 * 1024, "latency_ms": 1.0}, "int8_slow": {"latency_ms": 2.5, **bundle},
         "int8_fast": {"latency_ms": 1.5, **bundle}, "int8_mid": {"latency_ms": 2.0, **bundle}},
        MCU_LIMITS,
    ))
    select.run("mcu")
    plan = read_output(ExportPlan, BUILD.export_plan("mcu"))
    assert plan.target == "mcu"
    assert [entry.candidate.id for entry in plan.candidates] == ["int8_fast", "int8_mid", "int8_slow"]  # not fp32_big
    assert plan.candidates[0].metrics["latency_ms"] == 1.5 and "arena_bytes" in plan.candidates[0].metrics
    assert not any(key in entry.metrics for entry in plan.candidates for key in ("download_bytes", "download_source"))


def test_select_rewrites_the_export_plan_byte_for_byte_when_an_edit_keeps_the_choice(tmp_project):
    # what lets DVC skip export@T after a constraint edit: only the plan's bytes count, and the
    # limits, the checks and the predicted download (it counts the spec's hash) are not in it
    from edgeforge.stages import select

    metrics = {"int8_fast": {"latency_ms": 1.5, "download_bytes": 9000}, "int8_slow": {"latency_ms": 2.5, "download_bytes": 9100}}
    write_target(tmp_project, target_search(metrics, MCU_LIMITS))
    select.run("mcu")
    plan = (tmp_project / BUILD.export_plan("mcu")).read_bytes()
    selected = (tmp_project / BUILD.selected("mcu")).read_bytes()
    edited = {name: {**figures, "download_bytes": figures["download_bytes"] + 3} for name, figures in metrics.items()}
    write_target(tmp_project, target_search(edited, {**MCU_LIMITS, "min_accuracy": 0.93, "latency_ms": 2.9}))
    select.run("mcu")
    assert (tmp_project / BUILD.export_plan("mcu")).read_bytes() == plan
    assert (tmp_project / BUILD.selected("mcu")).read_bytes() != selected  # the limits it was checked against
    write_target(tmp_project, target_search(edited, {**MCU_LIMITS, "latency_ms": 2}))  # int8_slow drops out
    select.run("mcu")
    assert [entry.candidate.id for entry in read_output(ExportPlan, BUILD.export_plan("mcu")).candidates] == ["int8_fast"]


def test_select_draws_the_plot_once_per_picture(tmp_project, monkeypatch):
    import edgeforge.search.pareto as pareto
    from edgeforge.search.pareto import plot_fronts
    from edgeforge.stages import select

    metrics = {"fp32_big": {"arena_bytes": 200 * 1024, "latency_ms": 1.0}, "int8_fast": {"latency_ms": 1.5},
               "int8_slow": {"latency_ms": 2.5}}
    write_target(tmp_project, target_search(metrics, MCU_LIMITS))
    select.run("mcu")
    png = tmp_project / BUILD.pareto_png("mcu")
    drawn = png.read_bytes()
    # the plot is drawn from `drawn(fronts)` alone: the whole pareto.json draws the same bytes
    plot_fronts(json.loads((tmp_project / BUILD.pareto_json("mcu")).read_text()), tmp_project / "full.png")
    assert (tmp_project / "full.png").read_bytes() == drawn

    calls = []
    monkeypatch.setattr(pareto, "plot_fronts", lambda fronts, path: calls.append(fronts) or plot_fronts(fronts, path))
    png.unlink()
    write_target(tmp_project, target_search(metrics, {**MCU_LIMITS, "min_accuracy": 0.5}))  # no point moves
    select.run("mcu")
    assert calls == [] and png.read_bytes() == drawn  # from the memo
    write_target(tmp_project, target_search({**metrics, "int8_slow": {"latency_ms": 3.0}}, MCU_LIMITS))
    select.run("mcu")
    assert len(calls) == 1 and png.read_bytes() != drawn  # a point moved: drawn again


def test_select_ranks_feasible_candidates_by_the_objective(tmp_project):
    from edgeforge.stages import select

    write_target(tmp_project, target_search(
        {"int8_fast": {"latency_ms": 1.5, "accuracy": 0.92}, "int16_accurate": {"latency_ms": 2.5, "accuracy": 0.97}},
        MCU_LIMITS, objective="max_accuracy",
    ))
    select.run("mcu")
    assert read_output(Selection, BUILD.selected("mcu")).candidate.id == "int16_accurate"


def test_select_raises_and_leaves_no_selection_when_nothing_is_feasible(tmp_project):
    from edgeforge.stages import select

    result = target_search({"int8_fast": {"latency_ms": 1.5}, "int8_slow": {"latency_ms": 2.5}}, {"latency_ms": 1})
    write_target(tmp_project, result)
    write_output(BUILD.selected("mcu"), selection_of(result, "int8_fast"))  # a stale choice from an earlier run
    write_output(BUILD.export_plan("mcu"), export_plan(result, result.candidates[0]))
    with pytest.raises(ConstraintsUnmetError, match="target 'mcu': no candidate meets every constraint"):
        select.run("mcu")
    assert not (tmp_project / BUILD.selected("mcu")).exists()
    assert not (tmp_project / BUILD.export_plan("mcu")).exists()
    pareto = json.loads((tmp_project / BUILD.pareto_json("mcu")).read_text())
    assert pareto["feasible"] is False and pareto["chosen"] is None
    assert [relaxation["set"] for relaxation in pareto["relaxations"]] == [{"latency_ms": 1.5}]


def test_select_says_to_run_search_when_the_target_has_no_results(tmp_project):
    from edgeforge.stages import select

    with pytest.raises(BuildError, match=r"mcu\.json: missing; run `dvc repro search`"):
        select.run("mcu")


def test_export_lists_the_targets_when_the_target_is_unknown(tmp_project):
    from edgeforge.stages import export

    compose_params()
    with pytest.raises(BuildError, match=r"no target 'phone' in params\.yaml; targets: mcu, sbc"):
        export.run("phone")


def test_export_says_to_run_select_when_nothing_was_selected(tmp_project):
    from edgeforge.stages import export

    compose_params()
    with pytest.raises(BuildError, match=r"export_plan\.json: missing; run `dvc repro select`"):
        export.run("mcu")


def test_export_refuses_a_selected_model_that_changed_since_selection(tmp_project):
    from edgeforge.stages import export

    compose_params()
    result = target_search({"int8_fast": {}}, MCU_LIMITS)
    write_target(tmp_project, result, chosen="int8_fast")
    model = tmp_project / result.candidates[0].artifact
    model.parent.mkdir(parents=True)
    model.write_bytes(b"not the selected model")
    with pytest.raises(BuildError, match=r"int8_fast\.tflite: contents differ from what was selected; run `dvc repro -f search`"):
        export.run("mcu")
    assert not (tmp_project / BUILD.export_dir("mcu")).exists()


def test_the_export_memo_key_ignores_the_bundle_download_size_but_not_the_model_figures(tmp_project):
    # a constraint edit moves the bundle's download size (its manifest hashes the spec), never the files
    from edgeforge.data import load_splits
    from edgeforge.spec import load_params
    from edgeforge.stages import prepare
    from edgeforge.stages.export import export_key

    compose_params()
    prepare.run()
    spec, splits = load_params("params.yaml"), load_splits(BUILD.splits)
    result = target_search({"int8_fast": {}}, MCU_LIMITS)
    selected = export_candidate_of(result, result.candidates[0])
    model = tmp_project / selected.tflite_artifact
    model.parent.mkdir(parents=True)
    model.write_bytes(b"model")

    def key(**metrics) -> str:
        return export_key(spec, "mcu", selected.model_copy(update={"metrics": {**selected.metrics, **metrics}}), splits)

    assert key(download_bytes=123, download_source="bundle") == key(download_bytes=124, download_source="other")
    assert key(arena_bytes=4096) != key(arena_bytes=8192)  # the tflm_c exporter writes the arena size


def test_package_says_to_run_export_when_nothing_was_exported(tmp_project):
    from edgeforge.stages import package

    compose_params()
    write_target(tmp_project, target_search({"int8_fast": {}}, MCU_LIMITS), chosen="int8_fast")
    with pytest.raises(BuildError, match=r"exports\.json: missing; run `dvc repro export`"):
        package.run("mcu")
    assert not (tmp_project / BUILD.bundle_dir("mcu")).exists()


def test_search_line_says_what_failed_and_that_the_budget_ran_out():
    from edgeforge.stages.search import search_line

    summary = {
        "strategy": "multi_fidelity", "space_size": 48, "evaluated": 30, "trained": 9, "memo_hits": 4,
        "failed_per_target": {"mcu": {"w1-s0-c0-qat-int8": "TF-MOT cannot wrap Conv1D"}, "sbc": {}},
        "budget_exhausted": True, "unevaluated_per_target": {"mcu": 18, "sbc": 12},
    }
    line = search_line(summary)
    assert line.startswith("search (multi_fidelity): 48 candidates, 30 evaluated, 9 trained, 4 memo hits")
    assert "1 failed" in line and "budget exhausted: up to 18 combinations per target never evaluated" in line
    quiet = {**summary, "failed_per_target": {"mcu": {}}, "budget_exhausted": False}
    assert "failed" not in search_line(quiet) and "budget" not in search_line(quiet)


def test_package_and_report_omit_the_targets_params_because_their_inputs_hash_the_target():
    """dvc.yaml's package@T and report stages list neither targets.T nor targets (their largest
    dvc.lock entries, which DVC rewrites after every stage). The report depends on the search's
    per-target file, whose target_sha256 changes with every figure of the target (the search lists
    `targets`); package@T on the export plan, whose target_build_sha256 changes with every figure
    but the constraints and the objective, which no bundle depends on."""
    import yaml
    from pydantic import ValidationError

    from edgeforge.outputs import SELECTION_SETTINGS, target_sha256
    from tests.conftest import REPO
    from tests.unit.search.helpers import quick_spec

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert "targets" in stages["search"]["params"]
    assert not any(key.startswith("targets") for key in stages["report"]["params"] + stages["package"]["do"]["params"])
    assert "build/targets/${key}/export_plan.json" in stages["package"]["do"]["deps"]
    assert not any(dep.startswith("build/search") for dep in stages["package"]["do"]["deps"])
    assert "build/search" in stages["report"]["deps"]
    spec = quick_spec()
    before = target_sha256(spec.targets["mcu"])
    build_before = target_sha256(spec.targets["mcu"], without=SELECTION_SETTINGS)

    def leaves(node, path=()):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, (*path, key))
        elif isinstance(node, list):
            yield path
        elif not isinstance(node, bool) and node is not None:
            yield path

    edited = {"selection": 0, "build": 0}
    for path in leaves(spec.targets["mcu"].model_dump(by_alias=True)):
        data = spec.model_dump(by_alias=True)
        parent = data["targets"]["mcu"]
        for key in path[:-1]:
            parent = parent[key]
        value = parent[path[-1]]
        if isinstance(value, list):
            parent[path[-1]] = value[:-1]
        elif isinstance(value, str):
            parent[path[-1]] = value + " (edited)"
        else:
            parent[path[-1]] = value + 1 if isinstance(value, int) else value * 0.999
        try:
            changed = type(spec).model_validate(data)
        except ValidationError:
            continue
        assert target_sha256(changed.targets["mcu"]) != before, path
        selection = path[0] in SELECTION_SETTINGS
        assert (target_sha256(changed.targets["mcu"], without=SELECTION_SETTINGS) == build_before) == selection, path
        edited["selection" if selection else "build"] += 1
    assert edited["selection"] >= 2 and edited["build"] > 20  # the constraints; the device's figures and sources, the formats


def test_package_takes_the_exported_candidate_s_metrics_once_the_export_plan_holds_it(tmp_project):
    from edgeforge.outputs import Exports
    from edgeforge.stages.package import exported_metrics

    result = target_search({"int8_fast": {"download_bytes": 9000, "download_source": "bundle"}, "int8_slow": {}}, MCU_LIMITS)
    write_target(tmp_project, result, chosen="int8_fast", formats={"tflite": ["model.tflite"]})
    exports = read_output(Exports, BUILD.exports("mcu"))
    assert "download_bytes" not in exports.selection.metrics  # no manifest carries it
    assert exported_metrics("mcu", exports) == exports.selection.metrics
    remeasured = target_search({"int8_fast": {"latency_ms": 9.0}, "int8_slow": {}}, MCU_LIMITS)
    write_target(tmp_project, remeasured, chosen="int8_fast")  # a new plan, not exported yet
    with pytest.raises(BuildError, match=r"exports\.json: exported int8_fast, which .*export_plan\.json does not hold as exported then; run `dvc repro export@mcu`"):
        exported_metrics("mcu", exports)
