"""The rows the terminal and Markdown reports share: a chosen model's metrics against its limits,
and numbers written short enough for an 80-column terminal (`84.2k` MACs, `3.8 KiB`)."""

from __future__ import annotations

from edgeforge.outputs import CONSTRAINT_METRICS

METRICS = (
    ("accuracy", "accuracy", "{:.4f}"),
    ("latency", "latency_ms", "{:.3f} ms"),
    ("arena", "arena_bytes", "kib"),
    ("RAM reserved", "ram_bytes", "kib"),  # what ram_kb limits: the arena and the runtime's margin
    ("flash", "flash_bytes", "kib"),
    ("model", "model_bytes", "kib"),
    ("download", "download_bytes", "kib"),  # what download_kb limits: the released bundle.tar.gz
    ("energy", "energy_mj", "{:.4f} mJ"),
)


def format_metric(value, style: str) -> str:
    if value is None:
        return "-"
    return f"{value / 1024:.1f} KiB" if style == "kib" else style.format(value)


def short_number(value) -> str:
    """At most 6 characters: 512, 84.2k, 12.3M."""
    if value is None:
        return "-"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:g}"


def quality_label(metrics: dict | None) -> str:
    """How the chosen model's quality is named: its task's metric (`accuracy`, `ROC AUC`)."""
    from edgeforge.evaluate import TASKS

    metric = (metrics or {}).get("metric", "accuracy")
    return next((task.metric_label for task in TASKS.values() if task.metric == metric), metric)


def metric_rows(target: dict) -> list[tuple[str, str, str, bool | None]]:
    """(label, value, limit, ok) per metric of the chosen model; limit '' and ok None when unset.
    The quality row is named by the task's metric; an anomaly detector adds its threshold."""
    metrics = target["metrics"]
    limits = {CONSTRAINT_METRICS[key][0]: (key, check) for key, check in target["constraints"].items()
              if key in CONSTRAINT_METRICS}
    quality = target.get("metric_label") or quality_label(metrics)
    rows = []
    for label, key, style in METRICS:
        constraint, check = limits.get(key, (None, None))
        rows.append((
            quality if key == "accuracy" else label, format_metric(metrics.get(key), style),
            f"{constraint} {check['limit']:g}" if check else "", check["ok"] if check else None,
        ))
    if "accuracy_drop" in limits:
        constraint, check = limits["accuracy_drop"]
        rows.append((f"{quality} drop", f"{metrics['accuracy_drop']:.4f}", f"{constraint} {check['limit']:g}", check["ok"]))
    if "threshold" in metrics:  # anomaly_detection: what the bundle ships, and how it does on the held-out split
        rows.append((
            "anomaly threshold",
            f"{metrics['threshold']:.4g} (detects {metrics['detection_rate']:.1%}, false alarms {metrics['false_alarm_rate']:.1%})",
            "", None,
        ))
    return rows


def search_line(search: dict) -> str:
    """The search in one line, with what it did not do: failures, never-evaluated combinations, an
    exhausted budget, and why it trained beyond the region an earlier search explored."""
    line = (
        f"search ({search['strategy']}): {search['space_size']} candidates in the space, "
        f"{search['evaluated']} evaluated, {search['trained']} trained, {search['memo_hits']} memo hits, "
        f"{search.get('pruned_analytically', 0)} pruned analytically"
    )
    if search.get("failed"):
        line += f", {search['failed']} failed"
    unevaluated = max((search.get("unevaluated_per_target") or {}).values(), default=0)
    if search.get("budget_exhausted"):
        line += f"; the training budget ran out with up to {unevaluated} combinations per target never evaluated"
    for target, why in (search.get("new_region") or {}).items():
        line += f"; {target}: {why}"
    return line
