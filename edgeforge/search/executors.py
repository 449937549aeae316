"""Where the search's work runs: in this process (`local`) or as tasks on a Dask cluster (`dask`).

The unit of work is a `Job`: train one recipe at one fidelity (its parent first, if that is not
in the memo), convert it to each PTQ mode the search kept, and measure each conversion in the
runtimes of the targets that may use it. Every result lands in the memo; the search then reads
them back to score candidates per target, which is cheap and always happens in this process.

With `dask`, jobs run on the workers of the cluster at `search.dask_address`, a child recipe's
job after its parent's (so no two workers train the same parent). The workers must see the memo
folder at the same path (one machine, or a shared file system) and have edgeforge installed;
each runs one job at a time (TensorFlow uses all its cores). The exhaustive strategy hands all
its jobs over at once, so they run in parallel; the Optuna strategies decide one trial at a
time, so Dask gives them more memory and machines rather than parallelism.

    executor = make_executor(spec.search, evaluator)
    executor.run([Job(TrainingRecipe(sparsity=0.5), None, (("int8", ("tflite",)),))])
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, fields
from pathlib import Path

from edgeforge.errors import BuildError, UserError
from edgeforge.search.candidates import Candidate, TrainingRecipe
from edgeforge.search.candidates import parent_recipe
from edgeforge.search.evaluator import Evaluator, Stats

STAT_COUNTS = tuple(f.name for f in fields(Stats) if f.type in ("int", int))


@dataclass(frozen=True)
class Job:
    recipe: TrainingRecipe
    epochs: int | None  # fine-tune epochs (the fidelity); None = full
    work: tuple[tuple[str, tuple[str, ...]], ...]  # (PTQ mode, runtimes to measure it in)


def run_job(evaluator: Evaluator, job: Job) -> dict:
    """Do a job's work through the evaluator's memo; return what it added to the stats.

    A candidate that fails (training, conversion or the runtime refuses it) is skipped here: the
    search records the reason when it scores that candidate.
    """
    before = {name: getattr(evaluator.stats, name) for name in STAT_COUNTS}
    for mode, runtimes in job.work:
        candidate = Candidate(**job.recipe.config(), quantization=mode)
        try:
            for runtime in runtimes:
                evaluator.measured_for(candidate, runtime, job.epochs)
        except BuildError:
            continue
    delta = {name: getattr(evaluator.stats, name) - before[name] for name in STAT_COUNTS}
    delta["train_epochs"] = dict(evaluator.stats.train_epochs)
    return delta


class LocalExecutor:
    """Jobs one after another in this process (TensorFlow already uses every core for one)."""

    name = "local"

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator

    def run(self, jobs: list[Job]) -> None:
        for job in jobs:
            run_job(self.evaluator, job)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Jobs as tasks on a dask.distributed cluster; their results land in the shared memo."""

    name = "dask"

    def __init__(self, evaluator: Evaluator, address):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - dask[distributed] is a dependency
            from edgeforge.errors import MissingDependencyError

            raise MissingDependencyError("distributed", "dask") from None
        self.evaluator = evaluator
        try:
            self.client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise UserError(f"search.dask_address: cannot reach the Dask scheduler at {address}: {error}") from None
        self._payload = self.client.scatter(worker_payload(evaluator), broadcast=True)

    def run(self, jobs: list[Job]) -> None:
        futures: dict[tuple, object] = {}
        for job in sorted(jobs, key=lambda j: _depth(j.recipe)):
            parent = futures.get((parent_recipe(job.recipe), None))  # parents train in full
            futures[(job.recipe, job.epochs)] = self.client.submit(
                _run_on_worker, self._payload, job, parent, pure=False, key=f"edgeforge-{job.recipe.id}-{job.epochs}-{os.urandom(4).hex()}"
            )
        for delta in self.client.gather(list(futures.values())):
            self._add(delta)

    def _add(self, delta: dict) -> None:
        stats = self.evaluator.stats
        for name in STAT_COUNTS:
            setattr(stats, name, getattr(stats, name) + delta[name])
        stats.train_epochs.update(delta["train_epochs"])

    def close(self) -> None:
        self.client.close()


def make_executor(search, evaluator: Evaluator):
    if search.executor == "dask":
        return DaskExecutor(evaluator, search.dask_address)
    return LocalExecutor(evaluator)


# -- on the worker -----------------------------------------------------------------------------

def worker_payload(evaluator: Evaluator) -> dict:
    """What a worker needs to rebuild the evaluator: the spec, data, base model and memo folder."""
    from edgeforge.passes.io import save_trained

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "base.h5"
        save_trained(evaluator.base_model, path)
        base_h5 = path.read_bytes()
    return {
        "spec": evaluator.spec.model_dump(mode="json", by_alias=True),
        "splits": evaluator.splits,
        "base_h5": base_h5,
        "memo": str(Path(evaluator.memo.root).resolve()),
    }


_WORKER_EVALUATORS: dict[str, Evaluator] = {}
_WORKER_LOCK = threading.Lock()  # one job at a time per worker process: TensorFlow uses every core


def _run_on_worker(payload: dict, job: Job, _parent_done=None) -> dict:
    with _WORKER_LOCK:
        return run_job(_worker_evaluator(payload), job)


def _worker_evaluator(payload: dict) -> Evaluator:
    import hashlib

    from edgeforge.passes.io import load_trained
    from edgeforge.search.memo import Memo
    from edgeforge.spec.models import Spec

    token = hashlib.sha256(payload["base_h5"] + payload["memo"].encode() + repr(payload["spec"]).encode()).hexdigest()
    if token not in _WORKER_EVALUATORS:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "base.h5"
            path.write_bytes(payload["base_h5"])
            base_model = load_trained(path)
        spec = Spec.model_validate(payload["spec"])
        _WORKER_EVALUATORS[token] = Evaluator(spec, payload["splits"], base_model, Memo(payload["memo"]))
    evaluator = _WORKER_EVALUATORS[token]
    evaluator.stats.reset()  # each job reports only its own work
    return evaluator


def _depth(recipe: TrainingRecipe) -> int:
    depth = 0
    while not recipe.is_base:
        recipe, depth = parent_recipe(recipe), depth + 1
    return depth
