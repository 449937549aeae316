"""Rank a target's feasible candidates by its objective (constraints are checked in `cost.fits`).

The objective decides. Where it cannot, because candidates tie on a resource (pruning, clustering
and QAT leave a model's latency and arena as they were) or because it is accuracy itself, the
choice follows the one-standard-error rule of model selection (Breiman et al., CART; glmnet's
`lambda.1se`): among the candidates whose accuracy is within one standard error of the most
accurate one's, the simplest wins, the one with the fewest training passes, then the cheapest.
A test set of 360 samples cannot tell 96.1% from 95.6% (two samples); preferring the former
would pick noise, and ship a longer recipe for it. Beyond one standard error, accuracy decides.

A latency measured on this machine (`latency_source: measured`, the x86_host preset) is noisy
too: the MLPerf Tiny KWS model, timed four times in a row here, took 0.044 to 0.055 ms. So
candidates doing the same work (equal `latency_predicted_ms`: the same ops on the same shapes, as
the pruned, clustered and QAT variants of one model are) tie on measured latency and energy, at
the fastest of their measurements; the timer only ranks candidates whose work differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

# objective -> (metric, True when larger is better)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "max_accuracy": ("accuracy", True),
    "max_auc": ("accuracy", True),  # anomaly_detection's quality, kept under `accuracy` (evaluate/task.py)
    "min_latency": ("latency_ms", False),
    "min_flash": ("flash_bytes", False),
    "min_ram": ("ram_bytes", False),
    "min_energy": ("energy_mj", False),
    "min_model_size": ("model_bytes", False),
}
# once accuracy is settled, the cheaper candidate: these metrics in turn (smaller first)
COST_ORDER = ("latency_ms", "flash_bytes", "ram_bytes", "model_bytes")
MEASURED = ("latency_ms", "energy_mj")  # the objective metrics a runtime may time on this machine

Entry = TypeVar("Entry")


def accuracy_stderr(metrics: dict) -> float:
    """One standard error of a measured accuracy: binomial over the `samples` it was measured on,
    with two successes and two failures added (Agresti-Coull), so that 100% of a few samples still
    has one. 0 for another quality (ROC AUC: its error needs the class counts) or no count."""
    samples = metrics.get("samples")
    if not samples or metrics.get("metric", "accuracy") != "accuracy":
        return 0.0
    smoothed = (metrics["accuracy"] * samples + 2) / (samples + 4)
    return math.sqrt(smoothed * (1 - smoothed) / (samples + 4))


def choose(entries: list[Entry], objective: str, metrics: Callable[[Entry], dict],
           simplicity: Callable[[Entry], tuple]) -> Entry | None:
    """The entry the objective ranks first (None if there is none): among those tied on its metric
    (all of them for an accuracy objective), the simplest within one standard error of the most
    accurate. `simplicity` sorts entries simplest first: (training passes, candidate id)."""
    if not entries:
        return None
    metric, larger_is_better = OBJECTIVES[objective]
    if metric != "accuracy":
        value = _objective_values(entries, metric, metrics)
        best = (max if larger_is_better else min)(value.values())
        entries = [entry for entry in entries if value[id(entry)] == best]
    top = metrics(max(entries, key=lambda entry: metrics(entry)["accuracy"]))
    floor = top["accuracy"] - accuracy_stderr(top) - 1e-9
    within = [entry for entry in entries if metrics(entry)["accuracy"] >= floor]

    def preference(entry) -> tuple:
        passes, *name = simplicity(entry)
        return passes, *(metrics(entry).get(key, 0.0) for key in COST_ORDER), -metrics(entry)["accuracy"], *name

    return min(within, key=preference)


def rank(entries: list[Entry], objective: str, metrics: Callable[[Entry], dict],
         simplicity: Callable[[Entry], tuple]) -> list[Entry]:
    """`entries` best first: `choose`'s pick, then its pick among the rest, and so on."""
    remaining, ranked = list(entries), []
    while remaining:
        pick = choose(remaining, objective, metrics, simplicity)
        ranked.append(pick)
        remaining = [entry for entry in remaining if entry is not pick]
    return ranked


def passed_over(entries: list[Entry], chosen: Entry, objective: str, metrics: Callable[[Entry], dict],
                simplicity: Callable[[Entry], tuple]) -> tuple[list[Entry], str] | None:
    """The entries more accurate than `chosen` that tie it on the objective (any, for an accuracy
    objective), most accurate first, and a sentence on why the rule kept `chosen`; None if none."""
    metric, _ = OBJECTIVES[objective]
    mine = metrics(chosen)
    value = _objective_values(entries, metric, metrics) if metric != "accuracy" else {}
    better = [entry for entry in entries if entry is not chosen and metrics(entry)["accuracy"] > mine["accuracy"]
              and (metric == "accuracy" or value[id(entry)] == value[id(chosen)])]
    if not better:
        return None
    better.sort(key=lambda entry: -metrics(entry)["accuracy"])
    top = metrics(better[0])
    why = (f"within one standard error of the most accurate ({top['accuracy']:.2%} ± {accuracy_stderr(top) * 100:.2f} "
           f"points on {top['samples']} test samples), the candidate with the fewest training passes "
           f"({simplicity(chosen)[0]}), then the cheapest, is kept")
    return better, why


def timed_faster(entries: list[Entry], chosen: Entry, objective: str, metrics: Callable[[Entry], dict]) -> list[Entry]:
    """The entries doing the same work as `chosen` (`same_work`) whose measured objective figure
    came out better: the timer's noise, which the ranking does not follow."""
    metric, _ = OBJECTIVES[objective]
    work = same_work(metrics(chosen), metric)
    if work is None:
        return []
    return [entry for entry in entries if entry is not chosen and same_work(metrics(entry), metric) == work
            and metrics(entry)[metric] < metrics(chosen)[metric]]


def same_work(metrics: dict, metric: str) -> float | None:
    """The predicted latency that stands for a candidate's work when `metric` was measured on this
    machine (candidates with equal ones run the same ops), else None: a counted or predicted
    figure does not vary from run to run, so it is compared as it is."""
    if metric in MEASURED and metrics.get("latency_source") == "measured":
        return metrics.get("latency_predicted_ms")
    return None


def _objective_values(entries: list[Entry], metric: str, metrics: Callable[[Entry], dict]) -> dict[int, float]:
    """id(entry) -> the figure the objective compares: its metric, or for a measured one the fastest
    measurement of all the candidates doing the same work (`same_work`)."""
    fastest: dict[float, float] = {}
    for entry in entries:
        work = same_work(metrics(entry), metric)
        if work is not None:
            fastest[work] = min(fastest.get(work, math.inf), metrics(entry)[metric])
    return {id(entry): fastest.get(same_work(metrics(entry), metric), metrics(entry)[metric]) for entry in entries}
