"""The measurer scores the spec's task; an anomaly task needs anomalies among the samples it evaluates."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data.splits import Splits
from edgeforge.errors import UserError
from edgeforge.search.measurement import Measurer
from edgeforge.search.memo import Memo, Stats


def splits() -> Splits:
    x = np.zeros((10, 4), dtype=np.float32)
    y_test = np.array([0, 0, 0, 1, 1])
    return Splits(x, np.zeros(10, dtype=np.int64), x[:4], np.array([0, 1, 0, 1]), x[:5], y_test)


def test_eval_samples_that_leave_no_anomalies_stop_the_search_naming_the_key(tmp_path):
    with pytest.raises(UserError, match=r"search.eval_samples 3: the 3 held-out samples evaluated hold no anomalies"):
        Measurer(Memo(tmp_path / "memo"), splits(), 3, Stats(), "anomaly_detection")


def test_classification_keeps_its_measurement_keys_and_anomaly_detection_gets_its_own(tmp_path):
    memo = Memo(tmp_path / "memo")
    classification = Measurer(memo, splits(), None, Stats())
    anomaly = Measurer(memo, splits(), None, Stats(), "anomaly_detection")
    assert Measurer(memo, splits(), None, Stats(), "classification")._data_key == classification._data_key
    assert anomaly._data_key != classification._data_key  # same model bytes, another figure: never a memo hit
