"""`model.task`: constraints and objectives name the task's metric; each misuse names the key and the fix."""

from __future__ import annotations

import pytest

from edgeforge.errors import SpecError
from edgeforge.spec import compose_spec

# the repo's default, made an anomaly task whose constraints and objectives are right
ANOMALY = [
    "+model.task=anomaly_detection",
    "~targets.mcu.constraints.min_accuracy", "+targets.mcu.constraints.min_auc=0.9",
    "~targets.sbc.constraints.max_accuracy_drop", "+targets.sbc.constraints.max_auc_drop=0.02",
    "targets.sbc.objective=max_auc",
]


def problems_of(overrides) -> str:
    with pytest.raises(SpecError) as raised:
        compose_spec("specs", list(overrides))
    return str(raised.value)


def test_task_defaults_to_classification_and_leaves_the_composed_spec_as_it_was(tmp_project):
    spec, composition = compose_spec("specs")
    assert spec.model.task == "classification"
    assert "task" not in composition.config["model"]  # params.yaml gains no key: DVC sees no change


def test_anomaly_task_takes_min_auc_max_auc_drop_and_max_auc(tmp_project):
    spec, _ = compose_spec("specs", ANOMALY)
    assert spec.model.task == "anomaly_detection"
    assert spec.targets["mcu"].constraints.limits() == {"ram_kb": 5, "flash_kb": 128, "latency_ms": 1, "min_auc": 0.9}
    assert spec.targets["sbc"].objective == "max_auc"


def test_min_accuracy_on_an_anomaly_task_names_min_auc(tmp_project):
    message = problems_of([o for o in ANOMALY if "min_a" not in o])
    assert ("targets.mcu.constraints.min_accuracy: model.task anomaly_detection is scored by ROC AUC, not accuracy; "
            "use min_auc") in message


def test_max_accuracy_objective_on_an_anomaly_task_names_max_auc(tmp_project):
    message = problems_of([o for o in ANOMALY if "objective" not in o] + ["targets.sbc.objective=max_accuracy"])
    assert "targets.sbc.objective: max_accuracy ranks by accuracy, but model.task anomaly_detection is scored by ROC AUC; use objective: max_auc" in message


def test_min_auc_on_a_classification_task_names_min_accuracy(tmp_project):
    message = problems_of(["+targets.sbc.constraints.min_auc=0.9"])
    assert "targets.sbc.constraints.min_auc: model.task classification is scored by accuracy, not ROC AUC; use min_accuracy" in message


def test_width_students_are_allowed_on_an_anomaly_task(tmp_project):
    spec, _ = compose_spec("specs", ANOMALY)  # the default space has width [1.0, 0.5]: students are distilled
    assert spec.search.space.width == [1.0, 0.5]


def test_unknown_task_lists_the_tasks(tmp_project):
    message = problems_of(["+model.task=regression"])
    assert "model.task" in message and "classification" in message and "anomaly_detection" in message
