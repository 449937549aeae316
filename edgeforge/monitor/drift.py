"""Data drift: summary features of model inputs, the training-time reference, and PSI against it.

Which features are compared. A model input of at most MAX_ELEMENT_FEATURES elements per sample
(tabular data, 8x8 digits, sensor windows) is compared element by element (`x[0]`, `x[1]`, ...).
A larger input (images, spectrograms) would give thousands of noisy, correlated features, so
each sample is summarised instead by a fixed set: its `mean`, `std`, 5th and 95th percentile
(`p05`, `p95`), and for a channels-last input with 2 to 16 channels the mean of each channel
(`mean_c0`, ...). `summary_features` is the one function that does this, for the reference at
build time and for telemetry on the device, so both sides always compare the same quantities.

Binning. Each feature's bin edges are the unique deciles (quantiles, `bins` of them) of the
training data; bin i holds values v with edges[i-1] < v <= edges[i], the first bin is open to
-inf and the last to +inf. A constant feature gets one edge, so any change of it is visible.

PSI (population stability index) = sum over bins of (actual - expected) * ln(actual / expected),
proportions floored at PSI_FLOOR. The usual reading: < 0.1 stable, 0.1-0.25 moderate shift,
> 0.25 significant shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_ELEMENT_FEATURES = 64
MAX_CHANNELS = 16
PSI_FLOOR = 1e-4
WARN_PSI = 0.1
DRIFT_PSI = 0.25
REFERENCE_SCHEMA_VERSION = 1


def summary_features(x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The (n, k) float64 features compared for drift, one row per sample, and their names."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("inputs must have a leading batch axis")
    flat = x.reshape(len(x), -1)
    if flat.shape[1] <= MAX_ELEMENT_FEATURES:
        return flat, [f"x[{i}]" for i in range(flat.shape[1])]
    columns = [flat.mean(axis=1), flat.std(axis=1), *np.percentile(flat, [5, 95], axis=1)]
    names = ["mean", "std", "p05", "p95"]
    channels = x.shape[-1]
    if x.ndim >= 4 and 1 < channels <= MAX_CHANNELS:
        per_channel = x.reshape(len(x), -1, channels).mean(axis=1)
        columns += list(per_channel.T)
        names += [f"mean_c{c}" for c in range(channels)]
    return np.stack(columns, axis=1), names


def class_labels(y: np.ndarray) -> np.ndarray | None:
    """Integer class per sample from labels, one-hot rows or scores; None for non-class outputs."""
    y = np.asarray(y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1).astype(np.int64)
    return None


def drift_reference_from(x_train: np.ndarray, y_train: np.ndarray, bins: int = 10) -> dict:
    """The drift reference stored in a bundle: per-feature bins and proportions, class shares.

    JSON-ready and deterministic for the same inputs (floats rounded to 6 significant digits).
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    features, names = summary_features(x_train)
    reference_features = []
    for name, values in zip(names, features.T):
        edges = bin_edges(values, bins)
        reference_features.append(
            {
                "name": name,
                "edges": edges,
                "proportions": _rounded(bin_proportions(values, edges)),
                "mean": _round(values.mean()),
                "std": _round(values.std()),
            }
        )
    labels = class_labels(y_train)
    classes = None
    if labels is not None:
        n_classes = int(labels.max()) + 1
        if np.asarray(y_train).ndim == 2:
            n_classes = max(n_classes, np.asarray(y_train).shape[1])
        counts = np.bincount(labels, minlength=n_classes)
        classes = {"count": n_classes, "proportions": _rounded(counts / counts.sum())}
    return {
        "schema_version": REFERENCE_SCHEMA_VERSION,
        "bins": bins,
        "samples": int(len(features)),
        "input_shape": [int(d) for d in np.shape(x_train)[1:]],
        "features": reference_features,
        "classes": classes,
    }


def bin_edges(values: np.ndarray, bins: int) -> list[float]:
    quantiles = np.quantile(values, np.arange(1, bins) / bins)
    return sorted({_round(q) for q in quantiles})


def bin_proportions(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Share of values per bin; len(edges) + 1 bins, as described in the module docstring."""
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.maximum(np.asarray(expected, dtype=np.float64), PSI_FLOOR)
    actual = np.maximum(np.asarray(actual, dtype=np.float64), PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass(frozen=True)
class DriftReport:
    """PSI of every feature and of the predicted classes, with a verdict against a threshold."""

    feature_psi: dict[str, float]
    output_psi: float | None
    threshold: float
    samples: int
    class_shares: tuple[list[float], list[float]] | None = None  # (reference, observed)

    @property
    def max_psi(self) -> float:
        values = list(self.feature_psi.values())
        if self.output_psi is not None:
            values.append(self.output_psi)
        return max(values, default=0.0)

    @property
    def verdict(self) -> str:
        """'drift' above the threshold, 'warn' above WARN_PSI, else 'ok'."""
        if self.max_psi > self.threshold:
            return "drift"
        return "warn" if self.max_psi > WARN_PSI else "ok"

    def worst_features(self, count: int = 5) -> list[tuple[str, float]]:
        return sorted(self.feature_psi.items(), key=lambda item: -item[1])[:count]


def compare(
    reference: dict,
    features: np.ndarray,
    classes: np.ndarray | None = None,
    *,
    threshold: float = DRIFT_PSI,
) -> DriftReport:
    """PSI of observed summary features (and predicted classes) against a drift reference."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"the drift threshold must be a finite PSI above 0 (0.25 is usual), not {threshold!r}")
    names = [feature["name"] for feature in reference["features"]]
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    if features.shape[1] != len(names):
        raise ValueError(
            f"observed inputs give {features.shape[1]} features, the reference has {len(names)}: "
            "the telemetry comes from a different model input"
        )
    feature_psi = {
        feature["name"]: round(psi(feature["proportions"], bin_proportions(column, feature["edges"])), 6)
        for feature, column in zip(reference["features"], features.T)
    }
    output_psi, shares = None, None
    if reference.get("classes") and classes is not None and len(classes):
        expected = np.asarray(reference["classes"]["proportions"])
        classes = np.asarray(classes, dtype=np.int64)
        if classes.min() < 0 or classes.max() >= len(expected):
            raise ValueError(
                f"predicted class {classes.max() if classes.max() >= len(expected) else classes.min()} is outside "
                f"the model's {len(expected)} classes (0..{len(expected) - 1}): the telemetry comes from another model"
            )
        counts = np.bincount(classes, minlength=len(expected))
        observed = counts / max(counts.sum(), 1)
        output_psi = round(psi(expected, observed), 6)
        shares = (expected.tolist(), _rounded(observed))
    return DriftReport(feature_psi, output_psi, threshold, samples=len(features), class_shares=shares)


def _round(value: float) -> float:
    return float(f"{float(value):.6g}")


def _rounded(values: np.ndarray) -> list[float]:
    return [_round(v) for v in values]
