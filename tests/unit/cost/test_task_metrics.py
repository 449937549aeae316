"""A candidate's metrics carry the task's own figures; constraints on them judge the task's quality."""

from __future__ import annotations

from edgeforge.cost.fits import check_constraints, check_fits
from edgeforge.cost.metrics import task_metrics
from edgeforge.search.constraints import choose
from edgeforge.spec.models import Constraints

MEASURED_AUC = {"accuracy": 0.93, "samples": 112, "metric": "auc", "auc": 0.93, "val_auc": 0.97, "threshold": 0.06,
                "detection_rate": 0.85, "false_alarm_rate": 0.07, "accuracy_runtime": "tflite-micro"}


def test_anomaly_metrics_name_auc_its_drop_and_the_threshold():
    figures = task_metrics(MEASURED_AUC, base_accuracy=0.95)
    assert figures == {"metric": "auc", "auc": 0.93, "val_auc": 0.97, "threshold": 0.06, "detection_rate": 0.85,
                       "false_alarm_rate": 0.07, "auc_drop": 0.02}


def test_classification_metrics_gain_nothing():
    assert task_metrics({"accuracy": 0.97, "samples": 360, "accuracy_runtime": "tflite"}, base_accuracy=0.98) == {}


def test_min_auc_and_max_auc_drop_judge_the_measured_auc():
    metrics = {"accuracy": 0.93, "accuracy_drop": 0.02, "auc": 0.93, "auc_drop": 0.02}
    checks = {c.constraint: c for c in check_constraints(metrics, Constraints(min_auc=0.95, max_auc_drop=0.05))}
    assert (checks["min_auc"].value, checks["min_auc"].ok) == (0.93, False)
    assert checks["min_auc"].describe() == "min_auc = 0.93, needs at least 0.95 (off by 2%)"
    assert (checks["max_auc_drop"].value, checks["max_auc_drop"].ok) == (0.02, True)


def test_auc_constraints_wait_for_a_trained_model_in_the_prefilter():
    assert check_fits({"ram_bytes": 1000, "flash_bytes": 1000}, None, Constraints(ram_kb=4, min_auc=0.9)).keys() == {"ram_kb"}


def test_max_auc_ranks_the_higher_auc_first():
    better = {"accuracy": 0.96, "samples": 112, "metric": "auc", "latency_ms": 2.0, "model_bytes": 10}
    worse = {"accuracy": 0.95, "samples": 112, "metric": "auc", "latency_ms": 1.0, "model_bytes": 5}
    simplest_first = {id(better): (1, "b"), id(worse): (0, "w")}
    # ROC AUC has no binomial standard error: the higher AUC wins outright
    assert choose([worse, better], "max_auc", lambda m: m, lambda m: simplest_first[id(m)]) is better
