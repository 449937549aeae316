"""Models run in their real runtime, memoized: the task's quality on the held-out split
(`evaluate.task`: accuracy, or an autoencoder's ROC AUC and threshold), the figures a
runtime measures or compiles itself for a device (`Runtime.device_costs`: TFLite Micro's arena,
Vela's cycles), and the file a target's device loads (`Runtime.device_artifact`: TFLite Micro's
offline memory plan). A measurement's memo key covers the model's bytes and the runtime's code."""

from __future__ import annotations

import hashlib

from edgeforge.runtimes import get_runtime
from edgeforge.search.codeversion import measurement_version
from edgeforge.search.memo import Memo, Stats, hash_of


class Measurer:
    def __init__(self, memo: Memo, splits, eval_samples: int | None, stats: Stats, task: str = "classification"):
        from edgeforge.evaluate import get_task

        self.memo = memo
        self.stats = stats
        self.task = get_task(task)
        self.x_eval = splits.x_test[:eval_samples] if eval_samples else splits.x_test
        self.y_eval = splits.y_test[:eval_samples] if eval_samples else splits.y_test
        self.x_val, self.y_val = splits.x_val, splits.y_val  # where a task calibrates (the anomaly threshold)
        problem = self.task.evaluation_problem(self.y_eval)
        if problem:  # the split has both (prepare checks it): only eval_samples can cut one away
            from edgeforge.errors import UserError

            raise UserError(f"search.eval_samples {eval_samples}: {problem}; raise it, or remove it to evaluate every test sample")
        self._data_key = hash_of(splits.fingerprint(), len(self.y_eval))
        if self.task.name != "classification":  # classification keeps the keys it always had
            self._data_key = hash_of(self._data_key, self.task.name)

    def accuracy(self, model_bytes: bytes, runtime: str) -> dict:
        """{accuracy: the task's quality, samples, ...} of the model on the held-out split, run in
        `runtime` (`Task.measure`: an anomaly task adds auc, threshold and the rates at it)."""
        implementation = get_runtime(runtime)

        def measure() -> dict:
            return self.task.measure(
                lambda x: implementation.predict(model_bytes, x), self.x_eval, self.y_eval, self.x_val, self.y_val
            )

        key = hash_of(_sha256(model_bytes), runtime, self._data_key, measurement_version(implementation))
        return self._memoized("measured", key, measure)

    def device_costs(self, model_bytes: bytes, runtime: str, device) -> dict:
        """What `runtime` measures or compiles itself for the model on `device` ({} for none)."""
        implementation = get_runtime(runtime)
        key = hash_of(
            _sha256(model_bytes), runtime, device.model_dump(mode="json", by_alias=True), measurement_version(implementation),
            implementation.machine_key(device),  # a latency measured on this machine is this machine's
        )
        return self._memoized("device_costs", key, lambda: implementation.device_costs(model_bytes, device), count=False)

    def device_artifact(self, model_bytes: bytes, runtime: str, target) -> bytes:
        """The file a device of `target` loads (`Runtime.device_artifact`; for TFLite Micro, the
        model with its verified offline memory plan), checked on the held-out split, memoized.
        The key covers the target's device, `memory_plan` and `compression`, the settings that step reads."""
        implementation = get_runtime(runtime)
        key = hash_of(
            _sha256(model_bytes), runtime, target.device.model_dump(mode="json", by_alias=True), target.memory_plan,
            target.compression,
            self._data_key, measurement_version(implementation),
        )
        folder = self.memo.entry("device_artifact", key)
        if folder is None:
            def write(out):
                (out / "model.bin").write_bytes(implementation.device_artifact(model_bytes, target, self.x_eval))

            folder = self.memo.store("device_artifact", key, write)
        return (folder / "model.bin").read_bytes()

    def _memoized(self, kind: str, key: str, measure, count: bool = True) -> dict:
        record = self.memo.record(kind, key)
        if record is None:
            self.memo.store(kind, key, lambda out: measure())
            self.stats.measured += count
            record = self.memo.record(kind, key)
            self.memo.hits -= 1  # reading back what we just wrote is not a hit
        return record


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
