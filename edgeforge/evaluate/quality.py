"""Quality figures computed from a runtime's outputs: accuracy, reconstruction error, ROC AUC and
the anomaly threshold. NumPy only, so the search, export and tests share one definition."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported in each function: specs import the tasks, and most stages never need NumPy
    import numpy as np


def top1_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose highest score is their label's."""
    import numpy as np

    return float(np.mean(np.argmax(scores, axis=1) == y))


def class_accuracies(scores: np.ndarray, y: np.ndarray) -> tuple[list[float | None], list[int]]:
    """Per class index 0..outputs-1: the share of its samples whose highest score is theirs (its
    recall; None when the split has none of it), and how many samples it has. From the same
    scores as `top1_accuracy`, so the two always agree: sum(accuracy x samples) / len(y)."""
    import numpy as np

    predicted = np.argmax(scores, axis=1)
    samples = np.bincount(y, minlength=scores.shape[1])
    correct = np.bincount(y[predicted == y], minlength=scores.shape[1])
    shares = [round(float(c / n), 6) if n else None for c, n in zip(correct, samples)]
    return shares, [int(n) for n in samples]


def reconstruction_errors(reconstructions: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mean squared error per sample between an autoencoder's output and its input (any shape)."""
    import numpy as np

    outputs = np.asarray(reconstructions, dtype=np.float64).reshape(len(x), -1)
    inputs = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if outputs.shape != inputs.shape:
        from edgeforge.errors import BuildError

        raise BuildError(
            f"the model reconstructs {outputs.shape[1]} values per sample, its input has {inputs.shape[1]}; "
            "an anomaly_detection model must output its input's size"
        )
    return np.mean((outputs - inputs) ** 2, axis=1)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of `scores` (higher = more anomalous) for labels 1 (positive) and
    0: the probability that a random positive scores above a random negative, ties counting half
    (the Mann-Whitney U statistic over the rank sums, tied scores sharing their average rank)."""
    import numpy as np

    labels = np.asarray(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"ROC AUC needs both classes; got {positives} anomalies and {negatives} normal samples")
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    u = ranks[labels].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[0, np.nonzero(np.diff(sorted_values))[0] + 1]
    ends = np.r_[starts[1:], len(values)]  # exclusive
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


def choose_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The decision threshold (a sample is an anomaly when its score is above it) that maximizes
    Youden's J = true-positive rate - false-positive rate on these samples.

    Cuts are tried between consecutive distinct scores; among cuts with equal J the highest wins
    (fewer false alarms). The threshold is the midpoint between the lowest score flagged and the
    next lower one, so samples scoring like the validation ones fall on the same side.
    """
    import numpy as np

    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"a threshold needs both classes; got {positives} anomalies and {negatives} normal samples")
    order = np.argsort(-scores, kind="stable")
    descending, flagged_labels = scores[order], labels[order]
    last_of_group = np.r_[np.nonzero(np.diff(descending))[0], len(descending) - 1]
    true_positive_rate = np.cumsum(flagged_labels)[last_of_group] / positives
    false_positive_rate = np.cumsum(~flagged_labels)[last_of_group] / negatives
    best = int(np.argmax(true_positive_rate - false_positive_rate))  # first maximum: the highest cut
    lowest_flagged = descending[last_of_group[best]]
    if last_of_group[best] + 1 < len(descending):
        return float((lowest_flagged + descending[last_of_group[best] + 1]) / 2)
    return float(np.nextafter(lowest_flagged, -np.inf))  # everything flagged: just below the lowest score


def detection_rates(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    """(true-positive rate, false-positive rate) when scores above `threshold` are flagged."""
    import numpy as np

    labels = np.asarray(labels).astype(bool)
    flagged = np.asarray(scores) > threshold
    return float(flagged[labels].mean()), float(flagged[~labels].mean())
