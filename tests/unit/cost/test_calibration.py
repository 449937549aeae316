"""The latency calibration: presets regenerate from the reference data, held-out points stay held out."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

from edgeforge.cost import calibration
from edgeforge.cost.graph import read_graph
from tests.conftest import REPO

REFERENCE = REPO / "benchmarks" / "latency_reference.yaml"


def _fit_script():
    spec = importlib.util.spec_from_file_location("fit_latency", REPO / "benchmarks" / "fit_latency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference():
    return calibration.load_reference(REFERENCE)


@pytest.fixture(scope="module")
def updates(reference):
    return _fit_script().preset_updates(reference)


def test_every_fitted_number_in_a_preset_regenerates_from_the_reference_file(updates):
    for preset, blocks in updates.items():
        written = yaml.safe_load((REPO / "specs" / "device" / f"{preset}.yaml").read_text())
        for runtime, (figures, sources) in blocks.items():
            assert written["throughput"][runtime] == {k: v for k, v in figures.items() if v != {}}, (
                f"{preset}: throughput.{runtime} is stale; run: python benchmarks/fit_latency.py --write"
            )
            for key, source in sources.items():
                assert written["sources"][key] == source, f"{preset}: sources.{key} is stale"


def test_fitted_sources_name_the_reference_file_and_point_count(updates):
    sources = updates["nucleo_l4r5zi"]["tflite-micro"][1]
    assert sources["throughput.tflite-micro.op_rates"].startswith("fitted: benchmarks/latency_reference.yaml, 2 points")


def test_mlperf_tiny_v05_results_are_never_fitted(reference):
    v05 = [p for p in reference["points"] if p["source"].startswith("MLPerf Tiny v0.5")]
    assert v05 and all(p["role"] == "held_out" for p in v05)


def test_only_the_runtime_of_its_group_is_fitted(reference):
    for point in reference["points"]:
        if point["role"] in ("fit", "held_out"):
            assert point["runtime"] == reference["groups"][point["group"]]["runtime"], point["source"]


def test_every_point_names_a_known_group_model_and_role(reference):
    for point in reference["points"]:
        assert point["group"] in reference["groups"] and point["model"] in reference["models"]
        assert point["role"] in ("fit", "held_out", "context") and point["source"].strip()


@pytest.mark.parametrize("name", ["kws_int8", "vww_int8", "ic_int8", "ad_int8", "kws_float32", "ic_float32"])
def test_vendored_model_work_in_the_reference_matches_a_recount(reference, name):
    path = REPO / _fit_script().VENDORED[name]
    counted = calibration.model_work(name, read_graph(path))
    stored = reference["models"][name]
    assert (stored["dtype"], stored["ops"], stored["macs"], stored["memory_bytes"]) == (
        counted.dtype, counted.ops, counted.macs, counted.memory_bytes
    )


def test_fit_recovers_rates_from_points_made_with_the_prior_shape():
    works = {
        "a": calibration.ModelWork("a", "int8", 10, {"conv": 1_000_000, "pointwise": 200_000}, 5_000, 1_000),
        "b": calibration.ModelWork("b", "int8", 30, {"pointwise": 3_000_000, "depthwise": 400_000}, 20_000, 4_000),
        "c": calibration.ModelWork("c", "int8", 8, {"fully_connected": 250_000}, 500, 100),
    }
    ratios, scale, op_cycles = calibration.PRIORS["cmsis-nn"], 4.0, calibration.PRIOR_OP_CYCLES["cmsis-nn"]
    points = []
    for board, clock in (("one", 100.0), ("two", 200.0)):
        for name, work in works.items():
            cycles = scale * calibration._prior_units(work, ratios) + op_cycles * work.ops
            points.append(calibration.Point("test", "tflite-micro", "g", board, name, cycles / (clock * 1e3), clock, "fit"))
    fit = calibration.fit_group("g", points, works, "cmsis-nn")
    assert fit.op_cycles == pytest.approx(op_cycles, rel=1e-3)
    assert fit.cycles[("conv", "int8")] == pytest.approx(scale * ratios["conv"], rel=1e-3)
    for point in points:
        assert calibration.predict_point(point, fit, works) == pytest.approx(point.latency_ms, rel=1e-3)


def test_error_bar_covers_ninety_percent_of_errors():
    errors = [0.01 * i for i in range(1, 11)]  # 1% .. 10%
    assert calibration.error_bar(errors) == pytest.approx(0.09)


def test_tied_kinds_share_one_scale_at_their_prior_ratio_and_each_point_can_be_left_out():
    works = {
        "a": calibration.ModelWork("a", "float32", 10, {"conv": 1_000_000, "pointwise": 200_000}, 5_000, 1_000),
        "b": calibration.ModelWork("b", "float32", 30, {"pointwise": 3_000_000, "depthwise": 400_000}, 20_000, 4_000),
        "c": calibration.ModelWork("c", "float32", 8, {"fully_connected": 250_000}, 500, 100),
    }
    # the fully connected layer runs 3x slower per MAC than the prior says: tied, the fit cannot follow
    points = [
        calibration.Point("test", "tflite", "g", "one", name, cycles / 1e6, 1000.0, "fit")
        for name, cycles in (("a", 1_300_000), ("b", 4_500_000), ("c", 800_000))
    ]
    fit = calibration.fit_group("g", points, works, "xnnpack")
    ratios, tied = calibration.PRIORS["xnnpack"], calibration.TIED["xnnpack"]
    for kind, representative in tied.items():
        assert fit.cycles[(kind, "float32")] / fit.cycles[(representative, "float32")] == pytest.approx(
            ratios[kind] / ratios[representative])
    left_out = calibration.leave_one_point_out("g", points, works, "xnnpack")
    assert [p.model for p, _ in left_out] == ["a", "b", "c"]
    assert all(abs(error) < 10 for _, error in left_out)


def test_measure_host_rewrites_only_the_latency_and_source_of_the_points_it_measured(tmp_path, monkeypatch, reference):
    script = _fit_script()
    copy = tmp_path / "latency_reference.yaml"
    copy.write_text(REFERENCE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(script, "REFERENCE", copy)
    host = [i for i, p in enumerate(reference["points"]) if p.get("preset") == script.HOST_PRESET]
    script.write_measurements(reference, {host[0]: (1.25, 'timed "here"'), host[-1]: (0.5, "timed")})
    rewritten = yaml.safe_load(copy.read_text(encoding="utf-8"))["points"]
    for index, (old, new) in enumerate(zip(reference["points"], rewritten, strict=True)):
        changed = {key for key in old if old[key] != new[key]}
        assert changed == ({"latency_ms", "source"} if index in (host[0], host[-1]) else set())
    assert rewritten[host[0]]["latency_ms"] == 1.25 and rewritten[host[0]]["source"] == 'timed "here"'


def test_a_group_with_many_points_chooses_a_weaker_pull_towards_the_prior_by_cross_validation():
    # twelve models whose depthwise convolutions run 4x slower per MAC than the prior says
    ratios = dict(calibration.PRIORS["xnnpack"], depthwise=4 * calibration.PRIORS["xnnpack"]["depthwise"])
    works = {
        f"m{i}": calibration.ModelWork(f"m{i}", "float32", 10 + 5 * i,
                                       {"conv": 1_000_000 * (1 + i % 3), "depthwise": 150_000 * (1 + i % 4)}, 4_000 * i, 100)
        for i in range(12)
    }
    points = [
        calibration.Point("test", "tflite", "g", "one", name, (calibration._prior_units(work, ratios) + 5000 * work.ops) / 1e6,
                          1000.0, "fit")
        for name, work in works.items()
    ]
    ridge = calibration.choose_ridge("g", points, works, "xnnpack")
    assert ridge < calibration.RIDGE
    errors = {r: [abs(e) for _, e in calibration.leave_one_point_out("g", points, works, "xnnpack", r)]
              for r in (ridge, calibration.RIDGE)}
    assert sum(errors[ridge]) < sum(errors[calibration.RIDGE])
    # too few points to tell the pulls apart: the documented default
    assert calibration.choose_ridge("g", points[: calibration.RIDGE_SCAN_MIN - 1], works, "xnnpack") == calibration.RIDGE
