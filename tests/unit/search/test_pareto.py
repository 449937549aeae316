import json

from edgeforge.search.pareto import binding_resource, pareto_front, plot_fronts, target_fronts


def test_pareto_front_keeps_only_points_no_other_beats_on_both_axes():
    points = [
        {"id": "a", "accuracy": 0.90, "latency_ms": 1.0},
        {"id": "b", "accuracy": 0.95, "latency_ms": 2.0},
        {"id": "c", "accuracy": 0.93, "latency_ms": 3.0},  # slower and less accurate than b
        {"id": "d", "accuracy": 0.97, "latency_ms": 5.0},
        {"id": "e", "accuracy": 0.90, "latency_ms": 1.5},  # as accurate as a, slower
    ]
    assert [p["id"] for p in pareto_front(points, "latency_ms")] == ["a", "b", "d"]


def test_binding_resource_is_the_constraint_that_excludes_most(target_result):
    result = target_result({"ram_kb": 64, "flash_kb": 1000, "latency_ms": 10}, {
        "a": {"arena_bytes": 70 * 1024}, "b": {"arena_bytes": 80 * 1024}, "c": {"latency_ms": 20},
    })
    assert binding_resource(result) == "ram_kb"


def test_binding_resource_without_resource_limits_follows_the_objective(target_result):
    assert binding_resource(target_result({"min_accuracy": 0.9}, {"a": {}}, objective="min_ram")) == "ram_kb"
    assert binding_resource(target_result({"min_accuracy": 0.9}, {"a": {}}, objective="max_accuracy")) == "flash_kb"


def test_target_fronts_json_and_png(target_result, tmp_path):
    result = target_result({"ram_kb": 64, "min_accuracy": 0.9}, {
        "small": {"arena_bytes": 20 * 1024, "accuracy": 0.91, "latency_ms": 1.0},
        "large": {"arena_bytes": 60 * 1024, "accuracy": 0.96, "latency_ms": 3.0},
        "too_large": {"arena_bytes": 90 * 1024, "accuracy": 0.98, "latency_ms": 2.0},
    })
    fronts = target_fronts(result, "small")
    assert fronts["binding"]["constraint"] == "ram_kb" and fronts["chosen"] == "small"
    assert fronts["fronts"]["ram_bytes"] == ["small", "large", "too_large"]
    assert fronts["fronts"]["latency_ms"] == ["small", "too_large"]
    json.dumps(fronts)
    plot_fronts(fronts, tmp_path / "pareto.png")
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
