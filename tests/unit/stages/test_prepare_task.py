"""The prepare stage's task step: labels in the order model.task reads them, checked per split."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data.loaders import Prepared
from edgeforge.data.splits import Splits
from edgeforge.errors import DataError
from edgeforge.stages.prepare import for_task


def prepared(y_train, y_val, y_test, names) -> Prepared:
    def x(y):
        return np.zeros((len(y), 4), dtype=np.float32)

    splits = Splits(x(y_train), np.array(y_train), x(y_val), np.array(y_val), x(y_test), np.array(y_test))
    return Prepared(splits=splits, info={"class_names": names, "num_classes": len(names)})


def test_named_classes_are_relabelled_normal_zero_anomaly_one():
    # "anomalous" sorts first, so the loader gave it label 0
    result = for_task("anomaly_detection", prepared([1, 1, 0], [1, 0], [0, 1, 1], ["anomalous", "normal"]), "params.yaml")
    assert result.info["class_names"] == ["normal", "anomalous"]
    assert result.splits.y_train.tolist() == [0, 0, 1] and result.splits.y_test.tolist() == [1, 0, 0]


def test_classification_data_is_left_as_it_is():
    data = prepared([1, 0], [1, 0], [0, 1], ["anomalous", "normal"])
    assert for_task("classification", data, "params.yaml") is data


def test_a_test_split_without_anomalies_stops_prepare_naming_the_fix():
    with pytest.raises(DataError, match=r"params.yaml: model.task: the test split has no anomalous \(1\) samples.*test_fraction"):
        for_task("anomaly_detection", prepared([0, 1], [0, 1], [0, 0], ["0", "1"]), "params.yaml")


def test_three_classes_stop_prepare_asking_for_relabelling():
    with pytest.raises(DataError, match="params.yaml: model.task: anomaly_detection reads labels 0"):
        for_task("anomaly_detection", prepared([0, 1, 2], [0, 1], [0, 1], ["a", "b", "c"]), "params.yaml")
