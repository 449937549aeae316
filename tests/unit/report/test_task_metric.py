"""The report names the task's quality: ROC AUC and the anomaly threshold for anomaly_detection."""

from __future__ import annotations

from edgeforge.report.metrics import headline_metrics
from edgeforge.report.rows import metric_rows, quality_label

AUC_METRICS = {"accuracy": 0.9564, "accuracy_drop": -0.0026, "metric": "auc", "auc": 0.9564, "threshold": 0.0631432,
               "detection_rate": 0.8125, "false_alarm_rate": 0.09375, "latency_ms": 0.107, "ram_bytes": 4240,
               "flash_bytes": 40336, "arena_bytes": 2912, "model_bytes": 11152, "energy_mj": 0.035}


def target(metrics: dict, label: str | None) -> dict:
    constraints = {"min_auc": {"limit": 0.85, "value": metrics["accuracy"], "ok": True}} if label else {
        "min_accuracy": {"limit": 0.9, "value": metrics["accuracy"], "ok": True}}
    entry = {"metrics": metrics, "constraints": constraints, "candidate": {"id": "w1-s0-c0-int8"}}
    return {**entry, "metric_label": label} if label else entry


def test_anomaly_rows_show_roc_auc_against_min_auc_and_the_threshold():
    rows = metric_rows(target(AUC_METRICS, "ROC AUC"))
    assert rows[0] == ("ROC AUC", "0.9564", "min_auc 0.85", True)
    assert ("anomaly threshold", "0.06314 (detects 81.2%, false alarms 9.4%)", "", None) in rows


def test_classification_rows_stay_accuracy():
    rows = metric_rows(target({"accuracy": 0.97, "latency_ms": 1.0}, None))
    assert rows[0] == ("accuracy", "0.9700", "min_accuracy 0.9", True)
    assert not any(row[0] == "anomaly threshold" for row in rows)


def test_quality_label_follows_the_metrics_when_the_report_has_no_spec():
    assert quality_label(AUC_METRICS) == "ROC AUC" and quality_label({"accuracy": 0.9}) == "accuracy"


def test_headline_metrics_file_the_quality_under_auc():
    report = {"targets": {"mcu": target(AUC_METRICS, "ROC AUC")}, "search": {"trained": 3}}
    figures = headline_metrics(report)
    assert figures["auc"] == {"mcu": 0.9564} and "accuracy" not in figures
