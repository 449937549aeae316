"""Where the search's work runs: in this process (`local`) or as tasks on a Dask cluster (`dask`).

The unit of work is a `Job`: train one recipe at one fidelity (its parent first, if that is not
in the memo), convert it to each PTQ mode the search kept, and measure each conversion in the
runtimes of the targets that may use it. Every result lands in the memo; the search then reads
them back to score candidates per target, which is cheap and always happens in this process.

With `dask`, jobs run on the workers of the cluster at `search.dask_address`, a child recipe's
job after its parent's (so no two workers train the same parent). The workers must see the memo
folder at the same path (one machine, or a shared file system), and so the project folder when
the model is the user's (`model.path`, `model.factory`: jobs run there, as the search does, since
the spec's paths are relative to it), and have edgeforge installed;
each runs one job at a time (TensorFlow uses all its cores). The exhaustive strategy hands all
its jobs over at once, so they run in parallel; the Optuna strategies decide one trial at a
time, so Dask gives them more memory and machines rather than parallelism.

A worker that dies mid-job (killed, out of memory) costs only that job: the scheduler runs it
again on another worker (up to its `distributed.scheduler.allowed-failures`), or, when the dead
worker took the last copy of one of the task's inputs with it and the scheduler forgot the task,
the search submits the job again itself; what the dead worker had finished is in the memo
already. `retried` counts such jobs; the search summary reports it.

    executor = make_executor(spec.search, evaluator)
    executor.run([Job(TrainingRecipe(sparsity=0.5), None, (("int8", ("tflite",)),))], on_done=print)
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass, fields
from pathlib import Path

from edgeforge.errors import BuildError, UserError
from edgeforge.search.candidates import Candidate, TrainingRecipe
from edgeforge.search.candidates import parent_recipe, recipe_depth
from edgeforge.search.evaluator import Evaluator, Stats

STAT_COUNTS = tuple(f.name for f in fields(Stats) if f.type in ("int", int))
CONNECT_TIMEOUT_S = 10  # a scheduler that is up answers at once; this bounds the wait for one that is not
WORKERS_TIMEOUT_S = 60  # a scheduler without workers would leave the search waiting forever
MAX_RESUBMITS = 3  # times a job whose task Dask forgot (its worker died) is submitted again


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
    epochs_before = dict(evaluator.stats.train_epochs)
    for mode, runtimes in job.work:
        candidate = Candidate(**job.recipe.config(), quantization=mode)
        try:
            for runtime in runtimes:
                evaluator.measured_for(candidate, runtime, job.epochs)
        except BuildError:
            continue
    delta = {name: getattr(evaluator.stats, name) - before[name] for name in STAT_COUNTS}
    delta["train_epochs"] = {k: v for k, v in evaluator.stats.train_epochs.items() if k not in epochs_before}
    return delta


class LocalExecutor:
    """Jobs one after another in this process (TensorFlow already uses every core for one)."""

    name = "local"
    retried = 0  # nothing here dies without taking the search with it

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator

    def run(self, jobs: list[Job], on_done: Callable[[Job], None] | None = None) -> None:
        for job in jobs:
            run_job(self.evaluator, job)
            if on_done:
                on_done(job)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Jobs as tasks on a dask.distributed cluster; their results land in the shared memo."""

    name = "dask"

    def __init__(self, evaluator: Evaluator, address: str):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - dask[distributed] is a dependency
            from edgeforge.errors import MissingDependencyError

            raise MissingDependencyError("distributed", "dask") from None
        self.evaluator = evaluator
        self.retried = 0
        try:
            self.client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise UserError(
                f"search.dask_address: no Dask scheduler answers at {address} ({_first_line(error)}); "
                f"start one (`dask scheduler`) and its workers (`dask worker {address}`), or set search.executor: local"
            ) from None
        try:
            self._check_workers(address)
            self._payload = self.client.scatter(worker_payload(evaluator), broadcast=True)
        except BaseException:
            self.client.close()
            raise

    def _check_workers(self, address: str) -> None:
        """Workers exist and every one sees the memo folder, before any job is handed out."""
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
        except TimeoutError:
            raise UserError(
                f"search.dask_address: the Dask scheduler at {address} has no workers after {WORKERS_TIMEOUT_S} s; "
                f"start some with `dask worker {address}`"
            ) from None
        memo = Path(self.evaluator.memo.root).resolve()
        memo.mkdir(parents=True, exist_ok=True)
        memo = str(memo)
        problems = {worker: problem for worker, problem in self.client.run(memo_problem, memo).items() if problem}
        if problems:
            raise UserError(memo_error(memo, problems))
        project = project_folder(self.evaluator.spec)
        if project is not None:
            problems = {worker: problem for worker, problem in self.client.run(project_problem, project).items() if problem}
            if problems:
                raise UserError(project_error(project, problems))

    def run(self, jobs: list[Job], on_done: Callable[[Job], None] | None = None) -> None:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        futures: dict[tuple, object] = {}
        job_of: dict[str, Job] = {}
        resubmitted: dict[Job, int] = {}
        for job in sorted(jobs, key=lambda j: recipe_depth(j.recipe)):
            parent = futures.get((parent_recipe(job.recipe), None))  # parents train in full
            futures[(job.recipe, job.epochs)] = self._submit(job, parent, job_of)
        try:
            pending = as_completed(list(futures.values()), loop=self.client.loop)
            for future in pending:
                job = job_of[future.key]
                try:
                    delta = future.result()
                except KilledWorker as error:
                    raise BuildError(
                        f"search: Dask workers kept dying while running {job.recipe.id} ({error}); "
                        "see the workers' logs (memory?)"
                    ) from None
                except CancelledError:
                    # The dead worker held the last copy of an input of this task: the scattered
                    # payload (Dask's active memory manager drops replicas it deems spare) or its
                    # parent's result, so the scheduler forgot the task. Run it again with the
                    # payload sent anew and no parent to wait for (a job trains its parent itself
                    # when the memo lacks it; results land in the memo, so running twice is safe).
                    resubmitted[job] = resubmitted.get(job, 0) + 1
                    if resubmitted[job] > MAX_RESUBMITS:
                        raise BuildError(
                            f"search: Dask kept losing the task of {job.recipe.id} as its workers died; "
                            "see the workers' logs (memory?)"
                        ) from None
                    if any(part.status != "finished" for part in self._payload.values()):  # a future per key
                        self._payload = self.client.scatter(worker_payload(self.evaluator), broadcast=True)
                    futures[(job.recipe, job.epochs)] = retry = self._submit(job, None, job_of)
                    pending.add(retry)
                    continue
                self._add(delta)
                if on_done:
                    on_done(job)
            self.retried += self._count_retried(list(job_of)) + len(resubmitted)
        finally:
            for future in futures.values():
                future.release()

    def _submit(self, job: Job, parent, job_of: dict[str, Job]):
        """The job as a task after `parent` (a future, or None); its key is recorded in `job_of`."""
        key = f"edgeforge-{job.recipe.id}-{job.epochs}-{os.urandom(4).hex()}"
        job_of[key] = job
        return self.client.submit(_run_on_worker, self._payload, job, parent, pure=False, key=key, retries=0)

    def _count_retried(self, keys: list[str]) -> int:
        """Our tasks that the scheduler had to run again because their worker died running them."""

        def suspicious(dask_scheduler, keys):  # runs on the scheduler (pickled by value)
            return sum(1 for key in keys if key in dask_scheduler.tasks and dask_scheduler.tasks[key].suspicious)

        return int(self.client.run_on_scheduler(suspicious, keys=keys))

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


def memo_problem(memo: str) -> str | None:
    """Why this process cannot use the memo folder at `memo`, or None (runs on each worker)."""
    path = Path(memo)
    if not path.is_dir():
        return "does not see it"
    if not os.access(path, os.W_OK | os.X_OK):
        return "cannot write to it"
    return None


def memo_error(memo: str, problems: dict[str, str]) -> str:
    workers = "; ".join(f"{worker} {problem}" for worker, problem in sorted(problems.items()))
    return (
        f"search.executor dask: the memo folder {memo} must be seen by every worker at the same path ({workers}); "
        "put it on a file system they all mount (EDGEFORGE_MEMO_DIR=/shared/path) or run the workers on this machine"
    )


def project_folder(spec) -> str | None:
    """The folder the spec's paths are relative to (this process's), when a job reads them: the
    user's model file or factory module; None for a registry model."""
    return str(Path.cwd().resolve()) if spec.model.path or spec.model.factory else None


def project_problem(project: str) -> str | None:
    """Why this process cannot run jobs in the project folder, or None (runs on each worker)."""
    return None if Path(project).is_dir() else "does not see it"


def project_error(project: str, problems: dict[str, str]) -> str:
    workers = "; ".join(f"{worker} {problem}" for worker, problem in sorted(problems.items()))
    return (
        f"search.executor dask: the project folder {project} must be seen by every worker at the same path ({workers}): "
        "jobs read model.path or model.factory's module there; run the workers on this machine or on a file system "
        "that mounts the project at that path"
    )


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


# -- on the worker -----------------------------------------------------------------------------

def worker_payload(evaluator: Evaluator) -> dict:
    """What a worker needs to rebuild the evaluator: the spec, data, base model file and memo folder.

    The base model travels as its .h5 bytes, read from the file the search was given (so a search
    whose every job is a memo hit never imports TensorFlow here either). A user's ONNX graph kept
    as the base has no .h5: the worker reads it where the search does, in the project folder."""
    onnx_base = evaluator.trainer.onnx_base_reason is not None
    return {
        "spec": evaluator.spec.model_dump(mode="json", by_alias=True),
        "splits": evaluator.splits,
        "base_h5": b"" if onnx_base else base_model_h5(evaluator.trainer),
        "base_path": str(evaluator.trainer._base_model) if onnx_base else None,
        "memo": str(Path(evaluator.memo.root).resolve()),
        "project": project_folder(evaluator.spec),
    }


def base_model_h5(trainer) -> bytes:
    base = trainer._base_model  # a path until something loads it (Trainer loads it lazily)
    if isinstance(base, (str, Path)):
        return Path(base).read_bytes()
    from edgeforge.passes.io import save_trained

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "base.h5"
        save_trained(base, path)
        return path.read_bytes()


_WORKER_EVALUATORS: dict[str, Evaluator] = {}
_WORKER_LOCK = threading.Lock()  # one job at a time per worker process: TensorFlow uses every core


def _run_on_worker(payload: dict, job: Job, _parent_done=None) -> dict:
    # in the project folder, as the search runs (the spec's model paths are relative to it); the
    # lock keeps one job at a time in this process, so no other job sees the change of folder
    project = payload["project"]
    with _WORKER_LOCK, contextlib.chdir(project) if project else contextlib.nullcontext():
        return run_job(_worker_evaluator(payload), job)


def _worker_evaluator(payload: dict) -> Evaluator:
    import hashlib

    from edgeforge.search.memo import Memo
    from edgeforge.spec.models import Spec

    problem = memo_problem(payload["memo"])
    if problem:
        raise UserError(memo_error(payload["memo"], {_worker_name(): problem}))
    token = hashlib.sha256(
        payload["base_h5"] + payload["memo"].encode() + repr([payload[k] for k in ("spec", "base_path", "project")]).encode()
    ).hexdigest()
    if token not in _WORKER_EVALUATORS:
        # The base model stays a file: the Trainer loads it only for a job that must train.
        path = payload["base_path"]
        if path is None:
            folder = tempfile.mkdtemp(prefix="edgeforge-worker-")
            atexit.register(shutil.rmtree, folder, True)
            path = Path(folder) / "base.h5"
            path.write_bytes(payload["base_h5"])
        spec = Spec.model_validate(payload["spec"])
        _WORKER_EVALUATORS[token] = Evaluator(spec, payload["splits"], path, Memo(payload["memo"]))
    evaluator = _WORKER_EVALUATORS[token]
    evaluator.stats.reset()  # each job reports only its own work
    return evaluator


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return f"worker {get_worker().address}"
    except (ImportError, ValueError):
        return "this process"
