import pytest

from edgeforge.errors import UserError
from edgeforge.search.candidates import Candidate
from edgeforge.search.prefilter import MARGIN, Exclusion, Prefilter, check_some_fit, exclusions
from edgeforge.spec.models import Constraints
from tests.unit.search.helpers import FULL_SPACE, digits, quick_base_model, quick_spec

PREDICTED = {"flash_bytes": 100 * 1024, "arena_bytes": 20 * 1024, "ram_bytes": 20 * 1024, "latency_ms": 2.0, "energy_mj": 0.4, "model_bytes": 9000}


def test_exclusions_name_each_resource_limit_the_prediction_exceeds():
    found = exclusions(PREDICTED, Constraints(ram_kb=16, flash_kb=200, latency_ms=1.0, min_accuracy=0.9))
    assert [e.constraint for e in found] == ["ram_kb", "latency_ms"]
    assert found[0] == Exclusion(constraint="ram_kb", limit=16.0, predicted=20.0)


def test_exclusions_keep_a_prediction_within_the_margin_of_the_limit():
    limit_kb = 20 * (1 - MARGIN / 2)  # the prediction is only MARGIN/2 over it
    assert exclusions(PREDICTED, Constraints(ram_kb=limit_kb)) == []


def test_accuracy_constraints_are_never_prefiltered():
    assert exclusions(PREDICTED, Constraints(min_accuracy=0.999, max_accuracy_drop=0.0)) == []


def test_a_target_that_keeps_nothing_fails_naming_the_constraint_that_excludes_everything():
    candidates = [Candidate(quantization="int8"), Candidate(width=0.5, quantization="int8")]
    prefilter = Prefilter(
        predictions={c.id: {"mcu": {**PREDICTED, "arena_bytes": (20 + i) * 1024, "ram_bytes": (20 + i) * 1024}} for i, c in enumerate(candidates)},
        kept={"mcu": [], "sbc": candidates},
        dropped={"mcu": {c.id: [Exclusion(constraint="ram_kb", limit=2.0, predicted=20.0 + i)] for i, c in enumerate(candidates)}, "sbc": {}},
    )
    with pytest.raises(UserError) as error:
        check_some_fit(prefilter)
    message = str(error.value)
    assert message.startswith("targets.mcu.constraints: no combination of the search space can fit before any training")
    assert "ram_kb = 2 excludes every one of the 2 combinations (the smallest predicted is 20)" in message
    assert "sbc" not in message


@pytest.mark.slow
def test_prediction_never_exceeds_the_measured_cost_on_the_default_space(tmp_path):
    """Every combination of the default space, trained briefly, measured on every target: what the
    pre-filter predicts (less its margin) is at most what is measured, so with the repo's own
    constraints no combination that fits is dropped."""
    from edgeforge.search.candidates import enumerate_space
    from edgeforge.search.session import reference_accuracy, targets_for
    from edgeforge.search.evaluator import Evaluator
    from edgeforge.search.memo import Memo
    from edgeforge.search.prefilter import RESOURCE_CONSTRAINTS, run_prefilter
    from edgeforge.outputs import CONSTRAINT_METRICS

    spec = quick_spec(space={key: sorted(set(FULL_SPACE[key]) | set(getattr(quick_spec().search.space, key)))
                             for key in FULL_SPACE})
    evaluator = Evaluator(spec, digits(), quick_base_model(), Memo(tmp_path / "memo"))
    space = enumerate_space(spec.search.space)
    assert len(space) >= 48
    prefilter = run_prefilter(evaluator, space, lambda c: targets_for(spec, c))
    base_accuracy = reference_accuracy(evaluator)
    compared = 0
    for candidate in space:
        for name in targets_for(spec, candidate):
            target = spec.targets[name]
            measured = evaluator.target_metrics(candidate, target, base_accuracy)
            predicted = prefilter.predictions[candidate.id][name]
            for metric in ("flash_bytes", "arena_bytes", "ram_bytes", "latency_ms", "energy_mj"):
                assert predicted[metric] * (1 - MARGIN) <= measured[metric], (candidate.id, name, metric)
            fits = all(
                measured[CONSTRAINT_METRICS[key][0]] * CONSTRAINT_METRICS[key][1] <= getattr(target.constraints, key)
                for key in RESOURCE_CONSTRAINTS if getattr(target.constraints, key) is not None
            )
            assert not fits or candidate in prefilter.kept[name], (candidate.id, name)
            compared += 1
    assert compared >= 48


@pytest.mark.slow
def test_every_preset_and_runtime_composes_and_prefilters_with_the_default_modes(tmp_path):
    """A target for every device preset x runtime, added to the default spec: each gets the modes
    its runtime and device both run, and the pre-filter prices every kept combination."""
    from edgeforge.models import build_model
    from edgeforge.runtimes import RUNTIMES
    from edgeforge.search.candidates import enumerate_space
    from edgeforge.search.evaluator import Evaluator
    from edgeforge.search.memo import Memo
    from edgeforge.search.prefilter import run_prefilter
    from edgeforge.search.session import targets_for
    from edgeforge.spec.compose import compose_spec
    from edgeforge.spec.presets import load_presets
    from tests.conftest import REPO

    overrides = []
    for device in load_presets(REPO / "specs"):
        for runtime in device.runtimes:
            name = f"{device.name}_{runtime}".replace("-", "_")
            formats = [fmt for fmt in RUNTIMES[runtime].formats][:1]
            overrides += [
                f"+device@targets.{name}.device={device.name}",
                f"+targets.{name}.runtime={runtime}",
                f"+targets.{name}.formats=[{','.join(formats)}]",
            ]
    spec, _ = compose_spec(REPO / "specs", overrides)
    assert len(spec.targets) >= 20
    for name, target in spec.targets.items():
        modes = spec.modes_for(name)
        assert modes, name
        assert all(target.device.runs_mode(target.runtime, mode) for mode in modes)
    model = build_model(spec.model.name, digits().input_shape, digits().num_classes)
    evaluator = Evaluator(spec, digits(), model, Memo(tmp_path / "memo"))
    space = enumerate_space(spec.search.space)
    prefilter = run_prefilter(evaluator, space, lambda c: targets_for(spec, c))
    for name in spec.targets:
        for candidate in space:
            if candidate.quantization in spec.modes_for(name):
                assert name in prefilter.predictions[candidate.id]
                assert prefilter.predictions[candidate.id][name]["latency_ms"] > 0


def test_a_tensorrt_target_leaves_out_the_modes_its_device_has_no_kernels_for():
    from edgeforge.spec.compose import compose_spec
    from tests.conftest import REPO

    spec, _ = compose_spec(REPO / "specs", [
        "+device@targets.gpu.device=jetson_orin_nano", "+targets.gpu.runtime=tensorrt", "+targets.gpu.formats=[tensorrt]",
        "search.space.quantization=[float32,float16,int8,int16x8]",
    ])
    assert spec.modes_for("gpu") == ["float32", "float16", "int8"]
