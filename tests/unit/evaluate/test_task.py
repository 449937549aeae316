"""Tasks: what the base model trains on, and how a runtime's outputs become the task's quality."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data.splits import Splits
from edgeforge.evaluate import TASKS, get_task
from edgeforge.evaluate.quality import roc_auc
from tests.unit.evaluate.synthetic import vibration_frames


def anomaly_splits() -> Splits:
    x, y = vibration_frames(normal=200, anomalous=40)
    return Splits(x[:160], y[:160], x[160:200], y[160:200], x[200:], y[200:])


def pca_reconstructor(normal_x: np.ndarray, components: int):
    """A linear autoencoder (PCA): what a trained autoencoder does, in closed form."""
    mean = normal_x.mean(axis=0)
    _, _, vt = np.linalg.svd(normal_x - mean, full_matrices=False)
    basis = vt[:components]
    return lambda x: (x - mean) @ basis.T @ basis + mean


def test_tasks_name_their_metric_constraints_and_objective():
    anomaly = get_task("anomaly_detection")
    assert (anomaly.metric, anomaly.min_constraint, anomaly.drop_constraint, anomaly.objective) == (
        "auc", "min_auc", "max_auc_drop", "max_auc")
    classification = TASKS["classification"]
    assert (classification.min_constraint, classification.objective) == ("min_accuracy", "max_accuracy")


def test_anomaly_training_sees_normal_samples_only_with_the_input_as_target():
    splits = anomaly_splits()
    view = get_task("anomaly_detection").training_splits(splits)
    assert len(view.x_train) == int((splits.y_train == 0).sum()) and len(view.x_val) == int((splits.y_val == 0).sum())
    np.testing.assert_array_equal(view.y_train, view.x_train.reshape(len(view.x_train), -1))
    assert get_task("anomaly_detection").output_size(splits) == 64
    assert get_task("classification").training_splits(splits) is splits


def test_anomaly_measure_scores_auc_on_test_and_picks_the_threshold_on_validation():
    splits = anomaly_splits()
    task = get_task("anomaly_detection")
    reconstruct = pca_reconstructor(splits.x_train[splits.y_train == 0], components=6)  # 3 harmonics x (sin, cos)
    record = task.measure(reconstruct, splits.x_test, splits.y_test, splits.x_val, splits.y_val)
    errors = np.mean((reconstruct(splits.x_test) - splits.x_test) ** 2, axis=1)
    assert record["accuracy"] == record["auc"] == round(roc_auc(splits.y_test, errors), 6)
    assert record["auc"] > 0.95  # the generated faults lie off the normal subspace
    assert record["metric"] == "auc" and record["samples"] == len(splits.y_test)
    val_errors = np.mean((reconstruct(splits.x_val) - splits.x_val) ** 2, axis=1)
    # the threshold separates the validation split's normal frames from its anomalies as well as any cut can
    assert val_errors[splits.y_val == 0].max() < record["threshold"] or record["val_auc"] < 1
    flagged = errors > record["threshold"]
    assert record["detection_rate"] == pytest.approx(flagged[splits.y_test == 1].mean(), abs=1e-6)
    assert record["false_alarm_rate"] == pytest.approx(flagged[splits.y_test == 0].mean(), abs=1e-6)


def test_an_identity_model_scores_chance_and_a_useless_model_cannot_separate():
    splits = anomaly_splits()
    record = get_task("anomaly_detection").measure(lambda x: x, splits.x_test, splits.y_test, splits.x_val, splits.y_val)
    assert record["auc"] == 0.5  # every error is 0: no ranking at all


def test_classification_measure_is_top1_accuracy_and_its_share_per_class():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    record = get_task("classification").measure(lambda x: scores, np.zeros((3, 2)), np.array([0, 1, 1]), None, None)
    assert record == {"accuracy": round(2 / 3, 6), "samples": 3, "class_accuracy": [1.0, 0.5], "class_samples": [1, 2]}


def test_anomaly_splits_problem_names_the_split_without_anomalies():
    splits = anomaly_splits()
    task = get_task("anomaly_detection")
    assert task.splits_problem(splits) is None
    no_val_anomalies = Splits(splits.x_train, splits.y_train, splits.x_val, np.zeros_like(splits.y_val), splits.x_test, splits.y_test)
    assert "the validation split has no anomalous (1) samples" in task.splits_problem(no_val_anomalies)
    three_classes = Splits(splits.x_train, splits.y_train * 2, splits.x_val, splits.y_val, splits.x_test, splits.y_test)
    assert "needs 0 (normal) and 1 (anomaly)" in task.splits_problem(three_classes)


def test_anomaly_label_order_puts_normal_first_whatever_the_names_sort_as():
    task = get_task("anomaly_detection")
    assert task.label_order(["0", "1"]) == ["0", "1"]
    assert task.label_order(["anomalous", "normal"]) == ["normal", "anomalous"]
    with pytest.raises(ValueError, match=r"the data's classes are \['idle', 'run', 'walk'\]: relabel them"):
        task.label_order(["idle", "run", "walk"])
    assert get_task("classification").label_order(["b", "a"]) == ["b", "a"]


def test_bundle_decision_ships_the_threshold_for_anomaly_detection_only():
    metrics = {"threshold": 0.25, "auc": 0.93, "detection_rate": 0.9, "false_alarm_rate": 0.05}
    decision = get_task("anomaly_detection").bundle_decision(metrics)
    assert decision["task"] == "anomaly_detection" and decision["anomaly"]["threshold"] == 0.25
    assert "Youden" in decision["anomaly"]["rule"]
    assert get_task("classification").bundle_decision({"accuracy": 0.9}) == {}


def test_evaluation_problem_names_held_out_samples_without_anomalies():
    task = get_task("anomaly_detection")
    assert task.evaluation_problem(np.array([0, 1, 0])) is None
    assert task.evaluation_problem(np.array([0, 0])) == "the 2 held-out samples evaluated hold no anomalies: ROC AUC needs both"
    assert get_task("classification").evaluation_problem(np.array([0, 0])) is None
