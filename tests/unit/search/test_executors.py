"""The executors' plumbing: jobs in order with a progress hook, the memo check every Dask worker
makes, and one clear line when no Dask scheduler answers. (The real cluster, with a worker killed
mid-search: tests/func/test_dask_cluster.py.)"""

from __future__ import annotations

import socket
import time

import pytest

from edgeforge.errors import BuildError, UserError
from edgeforge.search import executors
from edgeforge.search.candidates import TrainingRecipe
from edgeforge.search.executors import DaskExecutor, Job, LocalExecutor, _worker_evaluator, memo_problem, run_job
from edgeforge.search.memo import Stats


class CountingEvaluator:
    """Stands in for the Evaluator's memo work: a measurement per (candidate, runtime); int16x8 fails."""

    def __init__(self):
        self.stats = Stats()
        self.calls = []

    def measured_for(self, candidate, runtime, epochs=None):
        if candidate.quantization == "int16x8":
            raise BuildError("the runtime refuses int16x8 here")
        self.calls.append((candidate.id, runtime, epochs))
        self.stats.measured += 1
        return {"accuracy": 0.9}


def test_run_job_measures_every_mode_in_every_runtime_and_skips_a_failing_candidate():
    evaluator = CountingEvaluator()
    job = Job(TrainingRecipe(sparsity=0.5), 1, (("int16x8", ("tflite",)), ("int8", ("tflite", "tflite-micro"))))
    delta = run_job(evaluator, job)
    assert [(runtime, epochs) for _, runtime, epochs in evaluator.calls] == [("tflite", 1), ("tflite-micro", 1)]
    assert delta["measured"] == 2 and delta["trained"] == 0 and delta["train_epochs"] == {}


def test_the_local_executor_runs_jobs_in_order_and_reports_each_one_done():
    evaluator = CountingEvaluator()
    jobs = [Job(TrainingRecipe(), None, (("int8", ("tflite",)),)), Job(TrainingRecipe(sparsity=0.5), None, (("int8", ("tflite",)),))]
    done = []
    LocalExecutor(evaluator).run(jobs, on_done=done.append)
    assert done == jobs
    assert LocalExecutor(evaluator).retried == 0


def test_the_memo_check_names_a_folder_a_worker_cannot_see(tmp_path):
    assert memo_problem(str(tmp_path)) is None
    assert memo_problem(str(tmp_path / "elsewhere")) == "does not see it"


def test_the_project_folder_is_needed_on_workers_only_for_a_users_model(tmp_path, monkeypatch):
    from tests.unit.search.helpers import quick_spec

    monkeypatch.chdir(tmp_path)
    spec = quick_spec()
    assert executors.project_folder(spec) is None  # a registry model: nothing of the project is read
    mine = spec.model_copy(update={"model": spec.model.model_copy(update={"name": None, "factory": "nets.conv:build"})})
    assert executors.project_folder(mine) == str(tmp_path.resolve())
    assert executors.project_problem(str(tmp_path)) is None
    assert executors.project_problem(str(tmp_path / "elsewhere")) == "does not see it"
    message = executors.project_error("/work/p", {"worker tcp://10.0.0.2:1": "does not see it"})
    assert message.startswith("search.executor dask: the project folder /work/p must be seen by every worker")
    assert "worker tcp://10.0.0.2:1 does not see it" in message and "\n" not in message


def test_a_worker_without_the_memo_folder_refuses_the_job_with_the_fix(tmp_path):
    payload = {"memo": str(tmp_path / "not-mounted-here"), "base_h5": b"", "spec": {}, "splits": None, "project": None,
               "base_path": None}
    with pytest.raises(UserError) as error:
        _worker_evaluator(payload)
    message = str(error.value)
    assert f"the memo folder {tmp_path / 'not-mounted-here'} must be seen by every worker" in message
    assert "does not see it" in message and "EDGEFORGE_MEMO_DIR" in message
    assert "\n" not in message


def test_no_scheduler_at_the_address_is_one_clear_line_quickly(monkeypatch):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 2)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(UserError) as error:
        DaskExecutor(CountingEvaluator(), f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - started < 30
    message = str(error.value)
    assert message.startswith(f"search.dask_address: no Dask scheduler answers at tcp://127.0.0.1:{port}")
    assert "dask scheduler" in message and "search.executor: local" in message
    assert "\n" not in message
