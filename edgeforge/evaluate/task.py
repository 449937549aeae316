"""What a task (`model.task`) changes: what the base model learns, how a runtime's outputs are scored,
and the names its metric goes by in constraints and objectives.

    classification      softmax scores; quality = top-1 accuracy         min_accuracy, max_accuracy
    anomaly_detection   an autoencoder trained on normal samples only     min_auc, max_auc
                        (target = input); score = mean squared
                        reconstruction error; quality = ROC AUC of that
                        score on the held-out split; threshold chosen on
                        the validation split (Youden's J) and shipped

Everything downstream (constraints, objectives, the search's ranking, Pareto fronts) reads one
number per candidate, the task's quality, kept under the metrics key `accuracy` (the search's
name for "higher is better, measured in the runtime"); a task whose metric is not accuracy also
records it under its own name (`auc`) with `metric` naming it, and the report labels it so.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from edgeforge.evaluate.quality import (
    choose_threshold, class_accuracies, detection_rates, reconstruction_errors, roc_auc, top1_accuracy,
)

if TYPE_CHECKING:  # imported where arrays are scored: specs import the tasks, and most stages never need NumPy
    import numpy as np

Predict = Callable[["np.ndarray"], "np.ndarray"]
THRESHOLD_RULE = "anomaly when the reconstruction error (mean squared, per sample) is above threshold; " \
    "threshold maximizes Youden's J (TPR - FPR) on the validation split"


class Task(ABC):
    """One kind of problem; see the module docstring. Subclasses set the class attributes."""

    name: ClassVar[str]
    metric: ClassVar[str]  # the quality's name: in constraints (min_<metric>) and objectives (max_<metric>)
    metric_label: ClassVar[str]  # how reports name it
    loss: ClassVar[str]  # the Keras loss the base model and every fine-tune train with
    # export parity (export/parity.py): outputs of two runtimes agree on a sample when they lead to
    # the same decision; parity.json names the share of such samples by this key
    agreement_key: ClassVar[str]

    @property
    def min_constraint(self) -> str:
        return f"min_{self.metric}"

    @property
    def drop_constraint(self) -> str:
        return f"max_{self.metric}_drop"

    @property
    def objective(self) -> str:
        return f"max_{self.metric}"

    @abstractmethod
    def output_size(self, splits) -> int:
        """Values per sample the model outputs (a factory's or registry builder's `num_classes`)."""
        ...

    def training_splits(self, splits):
        """The splits as training sees them (x_train/y_train the inputs and targets of `fit`)."""
        return splits

    def splits_problem(self, splits) -> str | None:
        """Why the prepared data cannot be used for this task, or None."""
        return None

    def evaluation_problem(self, y_eval: np.ndarray) -> str | None:
        """Why the held-out labels the search evaluates on cannot give this task's quality, or None."""
        return None

    def label_order(self, class_names: list[str]) -> list[str]:
        """The data's class names in the order of the labels this task reads (the same, by default).
        Raises ValueError, saying why, when the classes do not fit the task."""
        return class_names

    @abstractmethod
    def measure(self, predict: Predict, x_eval: np.ndarray, y_eval: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> dict:
        """{accuracy: the quality, samples, ...} from the runtime's `predict` on the held-out
        split (and on the validation split where the task calibrates something there)."""
        ...

    @abstractmethod
    def keras_quality(self, model, splits) -> dict:
        """Validation figures of the trained (and compiled) Keras base model, for the train stage's metrics."""
        ...

    def bundle_decision(self, metrics: dict) -> dict:
        """What preprocessing.json adds so that a device turns the model's output into a verdict
        (from the shipped candidate's `metrics`); {} when class_names say it all."""
        return {}

    @abstractmethod
    def quality(self, outputs: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        """The task's quality of one runtime's `outputs` for inputs `x` with labels `y`."""
        ...

    @abstractmethod
    def agreement(self, outputs: np.ndarray, reference: np.ndarray, x: np.ndarray, metrics: dict) -> float:
        """The share of samples on which `outputs` and `reference` lead to the same decision (the
        selected candidate's `metrics` hold what the decision needs, e.g. a threshold)."""
        ...


class Classification(Task):
    name: ClassVar[str] = "classification"
    metric: ClassVar[str] = "accuracy"
    metric_label: ClassVar[str] = "accuracy"
    loss: ClassVar[str] = "sparse_categorical_crossentropy"
    agreement_key: ClassVar[str] = "top1_agreement"

    def output_size(self, splits) -> int:
        return splits.num_classes

    def measure(self, predict, x_eval, y_eval, x_val, y_val) -> dict:
        scores = predict(x_eval)
        class_accuracy, class_samples = class_accuracies(scores, y_eval)  # the report's per-class table
        return {
            "accuracy": round(top1_accuracy(scores, y_eval), 6), "samples": len(y_eval),
            "class_accuracy": class_accuracy, "class_samples": class_samples,
        }

    def keras_quality(self, model, splits) -> dict:
        """Keras's own accuracy metric (the model is compiled with it: `compile_for_task`)."""
        _, val_accuracy = model.evaluate(splits.x_val, splits.y_val, verbose=0)
        return {"val_accuracy": round(float(val_accuracy), 6)}

    def quality(self, outputs, x, y) -> float:
        return top1_accuracy(outputs, y)

    def agreement(self, outputs, reference, x, metrics) -> float:
        return float((outputs.argmax(axis=1) == reference.argmax(axis=1)).mean())


class AnomalyDetection(Task):
    name: ClassVar[str] = "anomaly_detection"
    metric: ClassVar[str] = "auc"
    metric_label: ClassVar[str] = "ROC AUC"
    loss: ClassVar[str] = "mse"
    agreement_key: ClassVar[str] = "decision_agreement"

    def output_size(self, splits) -> int:
        return math.prod(splits.input_shape)

    def training_splits(self, splits):
        """Normal samples only, each its own target (flattened: the autoencoder's output)."""
        normal_train = splits.x_train[splits.y_train == 0]
        normal_val = splits.x_val[splits.y_val == 0]
        return replace(
            splits, x_train=normal_train, y_train=normal_train.reshape(len(normal_train), -1),
            x_val=normal_val, y_val=normal_val.reshape(len(normal_val), -1),
        )

    def label_order(self, class_names: list[str]) -> list[str]:
        """Label 0 is normal, 1 anomaly: classes "0" and "1", or two classes one of which is named
        "normal" (a csv column of names sorts them alphabetically, "anomalous" before "normal")."""
        if class_names in (["0", "1"], ["0"], ["1"]):
            return class_names
        normal = [name for name in class_names if name.lower() == "normal"]
        if len(class_names) == 2 and len(normal) == 1:
            return normal + [name for name in class_names if name != normal[0]]
        raise ValueError(
            f"anomaly_detection reads labels 0 (normal) and 1 (anomaly), or two classes one of which is named "
            f"'normal'; the data's classes are {class_names[:6]}: relabel them"
        )

    def evaluation_problem(self, y_eval: np.ndarray) -> str | None:
        import numpy as np

        if np.any(y_eval == 0) and np.any(y_eval == 1):
            return None
        return f"the {len(y_eval)} held-out samples evaluated hold no {'anomalies' if not np.any(y_eval == 1) else 'normal samples'}: ROC AUC needs both"

    def splits_problem(self, splits) -> str | None:
        import numpy as np

        labels = np.unique(np.concatenate([splits.y_train, splits.y_val, splits.y_test]))
        if not set(labels.tolist()) <= {0, 1}:
            return f"labels are {labels.tolist()[:6]}; anomaly_detection needs 0 (normal) and 1 (anomaly)"
        for split, y in (("train", splits.y_train), ("validation", splits.y_val), ("test", splits.y_test)):
            needed = (0,) if split == "train" else (0, 1)  # training sees normal samples only
            missing = [label for label in needed if not np.any(y == label)]
            if missing:
                what = "normal (0)" if missing[0] == 0 else "anomalous (1)"
                return (f"the {split} split has no {what} samples; anomaly_detection scores ROC AUC on the test split "
                        "and picks its threshold on the validation split, so both need normal and anomalous samples: "
                        "add anomalies to the data, or raise dataset.test_fraction / dataset.val_fraction")
        return None

    def measure(self, predict, x_eval, y_eval, x_val, y_val) -> dict:
        errors = reconstruction_errors(predict(x_eval), x_eval)
        val_errors = reconstruction_errors(predict(x_val), x_val)
        threshold = choose_threshold(y_val, val_errors)
        auc = round(roc_auc(y_eval, errors), 6)
        detected, false_alarms = detection_rates(y_eval, errors, threshold)
        return {
            "accuracy": auc,  # the task's quality, under the search's key (module docstring)
            "samples": len(y_eval),
            "metric": self.metric,
            "auc": auc,
            "val_auc": round(roc_auc(y_val, val_errors), 6),
            "threshold": float(f"{threshold:.7g}"),
            "detection_rate": round(detected, 6),  # on the held-out split, at the threshold
            "false_alarm_rate": round(false_alarms, 6),
        }

    def keras_quality(self, model, splits) -> dict:
        errors = reconstruction_errors(model.predict(splits.x_val, batch_size=256, verbose=0), splits.x_val)
        normal = splits.y_val == 0
        return {"val_auc": round(roc_auc(splits.y_val, errors), 6), "val_normal_mse": round(float(errors[normal].mean()), 6)}

    def quality(self, outputs, x, y) -> float:
        return roc_auc(y, reconstruction_errors(outputs, x))

    def agreement(self, outputs, reference, x, metrics) -> float:
        """Samples both call anomalous, or both normal, at the shipped threshold."""
        threshold = metrics["threshold"]
        return float(((reconstruction_errors(outputs, x) > threshold) == (reconstruction_errors(reference, x) > threshold)).mean())

    def bundle_decision(self, metrics: dict) -> dict:
        """The threshold, chosen on the validation split with the shipped model in its runtime."""
        return {
            "task": self.name,
            "anomaly": {
                "score": "mean squared reconstruction error over the flattened input (after normalize, if any)",
                "threshold": metrics["threshold"],
                "rule": THRESHOLD_RULE,
                "auc": metrics["auc"],
                "detection_rate": metrics["detection_rate"],
                "false_alarm_rate": metrics["false_alarm_rate"],
            },
        }


TASKS: dict[str, Task] = {task.name: task for task in (Classification(), AnomalyDetection())}
AGREEMENT_KEYS = tuple(task.agreement_key for task in TASKS.values())  # parity.json's names for agreement


def get_task(name: str) -> Task:
    return TASKS[name]
