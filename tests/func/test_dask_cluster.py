"""The Dask executor on a real cluster: `dask scheduler` and two `dask worker` processes on
127.0.0.1, each its own process, started and stopped here. A search of 8 training recipes gets
the local executor's choices; killing a worker mid-search (SIGKILL) costs a retried task, not the
search; and a scheduler that is not there is one clear line and exit 2."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edgeforge.atomic import atomic_dir
from edgeforge.errors import ConstraintsUnmetError
from edgeforge.search.engine import run_search
from edgeforge.search.memo import Memo
from edgeforge.search.results import write_search_outputs
from tests.unit.search.helpers import digits, quick_base_model, quick_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BIN = Path(sys.executable).parent
# 8 training recipes (the base and 7 of pruning, clustering and QAT), one PTQ mode every target runs.
SPACE = {"width": [1.0], "sparsity": [0.0, 0.5], "clusters": [0, 16], "qat": [False, True], "quantization": ["int8"]}
MCU_LIMITS = {"ram_kb": 16, "flash_kb": 160, "latency_ms": 5, "min_accuracy": 0.5}
START_TIMEOUT_S = 90


def spec_for(**search):
    """The quick spec with the MCU target only: every recipe is measured once, in TFLite Micro."""
    spec = quick_spec(space=SPACE, constraints={"mcu": MCU_LIMITS}, strategy="exhaustive", **search)
    data = spec.model_dump(by_alias=True)
    data["targets"] = {"mcu": data["targets"]["mcu"]}
    return type(spec).model_validate(data)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A scheduler and two workers, each a process of its own; `kill_busy_worker()` SIGKILLs one."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> Cluster:
        self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"])
        for name in ("worker-1", "worker-2"):
            self._spawn(name, ["worker", self.address, "--host", "127.0.0.1", "--name", name, "--nthreads", "1",
                               "--no-nanny", "--no-dashboard", "--death-timeout", "60",
                               "--local-directory", str(self.folder / name)])
        with self.client() as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        return self

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.folder / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def client(self):
        from distributed import Client

        return Client(self.address, timeout="30s", set_as_default=False)

    def kill_busy_worker(self, memo: Path, timeout_s: float = 300) -> str:
        """Once the search has finished a job (a trained model is in the memo), SIGKILL a worker
        that is running one; returns its name."""
        deadline = time.monotonic() + timeout_s
        with self.client() as client:
            while time.monotonic() < deadline:
                trained = memo / "trained"
                if trained.is_dir() and any(not p.name.startswith(".") for p in trained.iterdir()):
                    busy = [address for address, keys in client.processing().items() if keys]
                    workers = client.scheduler_info()["workers"]
                    for address in busy:
                        name = workers[address]["name"]
                        if name in self.processes and self.processes[name].poll() is None:
                            self.processes[name].send_signal(signal.SIGKILL)
                            self.processes[name].wait(timeout=30)
                            return name
                time.sleep(0.05)
        raise AssertionError("no worker was busy mid-search")

    def stop(self) -> None:
        """Workers first (a worker waits for its scheduler otherwise), each by its pid."""
        for name in ("worker-1", "worker-2", "scheduler"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One cluster for the module: the killing test comes last in it."""
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def search(root: Path, spec, memo: Path) -> dict:
    """The search into root/build/search and select for every target: the summary and each choice."""
    from edgeforge.stages import select

    result, evaluator = run_search(spec, digits(), quick_base_model(), Memo(memo))
    root.mkdir(parents=True, exist_ok=True)
    previous = Path.cwd()
    os.chdir(root)
    try:
        with atomic_dir(Path("build/search")) as out:
            summary = write_search_outputs(result, evaluator, out)
        chosen = {}
        for name in spec.targets:
            try:
                select.run(name)
                chosen[name] = json.loads(Path(f"build/targets/{name}/selected.json").read_text())["candidate"]["id"]
            except ConstraintsUnmetError:
                chosen[name] = None
    finally:
        os.chdir(previous)
    outcomes = {name: [outcome(c) for c in json.loads((root / f"build/search/targets/{name}.json").read_text())["candidates"]]
                for name in spec.targets}
    return {"summary": summary, "chosen": chosen, "outcomes": outcomes}


def outcome(entry: dict) -> tuple:
    """A candidate's result (nothing in it depends on how fast the machine trained it)."""
    metrics = entry["metrics"] or {}
    return entry["id"], json.dumps(metrics, sort_keys=True), entry["feasible"], entry.get("sha256")


@pytest.fixture(scope="module")
def local_search(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("local")
    return search(folder / "project", spec_for(), folder / "memo")


def test_a_real_cluster_gets_the_local_executors_choices(cluster, local_search, tmp_path):
    assert len({c[0].rsplit("-", 1)[0] for c in local_search["outcomes"]["mcu"]}) >= 8  # 8 recipes searched
    distributed = search(tmp_path / "project", spec_for(executor="dask", dask_address=cluster.address), tmp_path / "memo")
    assert distributed["chosen"] == local_search["chosen"] and any(distributed["chosen"].values())
    assert distributed["outcomes"] == local_search["outcomes"]
    assert distributed["summary"]["trained"] == local_search["summary"]["trained"] >= 7
    assert distributed["summary"]["retried_tasks"] == 0


def test_a_users_model_is_searched_on_the_cluster_from_its_project_folder(cluster, tmp_path):
    """The workers run in another folder than the project's: a job finds the factory's module (and
    the model code its memo key hashes) in the project folder, as the search does."""
    from tests.func.shell import dvc
    from tests.func.test_byom import FACTORY, project, summary
    from tests.func.test_data import commit

    def generate(root: Path) -> None:
        (root / "nets").mkdir()
        (root / "nets/__init__.py").write_text("")
        (root / "nets/conv.py").write_text(FACTORY)

    model = {"factory": "nets.conv:build", "factory_file": "nets/conv.py", "weights_file": "nets/conv.py"}
    space = f"  width: [1.0, 0.5]\n  quantization: [int8]\nexecutor: dask\ndask_address: {cluster.address}\n"
    root = project(tmp_path / "factory", model, space, generate)
    commit(root)
    dvc("repro", "search", cwd=root)
    assert summary(root)["trained"] >= 1  # the width-0.5 student, distilled on a worker
    measured = json.loads((root / "build/search/targets/mcu.json").read_text())["candidates"]
    assert {c["id"] for c in measured if c["metrics"]} >= {"w1-s0-c0-int8", "w0.5-s0-c0-int8"}


def test_an_onnx_graph_kept_as_the_base_is_searched_on_the_cluster(cluster, tmp_path):
    """An op no converter handles (Erf): the base is the .onnx itself, with no .h5 to send the
    workers; they read it in the project folder and measure it in ONNX Runtime."""
    import yaml

    from tests.func.shell import dvc
    from tests.func.test_byom import digits_onnx
    from tests.func.test_data import commit, make_project

    def generate(root: Path) -> None:
        digits_onnx(root / "models/net.onnx", extra="Erf")
        (root / "specs/model/mine.yaml").write_text(yaml.safe_dump(model))
        config = yaml.safe_load((root / "specs/config.yaml").read_text())
        config["defaults"] = [{"device@targets.host.device": "x86_host"} if isinstance(d, dict) and "device@targets.mcu.device" in d
                              else d for d in config["defaults"] if not (isinstance(d, dict) and "device@targets.sbc.device" in d)]
        config["train"]["epochs"] = 0
        config["targets"] = {"host": {"runtime": "onnxruntime", "formats": ["onnx"], "objective": "min_latency",
                                      "constraints": {"max_accuracy_drop": 0.05}}}
        (root / "specs/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (root / "specs/search/default.yaml").write_text(
            f"strategy: exhaustive\nexecutor: dask\ndask_address: {cluster.address}\nspace:\n  quantization: [float32, int8]\n")

    model = {"path": "models/net.onnx", "factory_file": "models/net.onnx", "weights_file": "models/net.onnx"}
    root = make_project(tmp_path / "erf", {"name": "digits", "path": "specs/dataset/digits.yaml"}, "mine", generate)
    commit(root)
    dvc("repro", "search", cwd=root)
    assert not (root / "build/base/model.h5").exists()
    measured = {c["id"]: c["metrics"] for c in json.loads((root / "build/search/targets/host.json").read_text())["candidates"]
                if c["metrics"]}
    assert set(measured) == {"w1-s0-c0-float32", "w1-s0-c0-int8"}
    assert all(metrics["accuracy_runtime"] == "onnxruntime" for metrics in measured.values())


def test_a_worker_killed_mid_search_costs_a_retried_task_not_the_search(cluster, local_search, tmp_path):
    from edgeforge.stages.search import search_line

    memo = tmp_path / "memo"
    spec = spec_for(executor="dask", dask_address=cluster.address)
    finished: dict = {}

    def run() -> None:
        try:
            finished["result"] = search(tmp_path / "project", spec, memo)
        except BaseException as error:  # re-raised below, in the test's thread
            finished["error"] = error

    searching = threading.Thread(target=run)
    searching.start()
    killed = cluster.kill_busy_worker(memo)
    searching.join(timeout=600)
    assert not searching.is_alive(), "the search did not finish after a worker was killed"
    if "error" in finished:
        raise finished["error"]
    result = finished["result"]
    assert cluster.processes[killed].returncode == -signal.SIGKILL
    assert result["chosen"] == local_search["chosen"]
    assert result["outcomes"] == local_search["outcomes"]
    assert result["summary"]["retried_tasks"] >= 1
    assert "retried after a Dask worker died" in search_line(result["summary"])


def test_a_scheduler_that_is_not_running_is_one_line_and_exit_2(tmp_path):
    """Through the CLI, as `dvc repro` runs it: the search stage of a project whose dask_address
    has no scheduler fails before any work, with one line."""
    from edgeforge.cli import main
    from edgeforge.passes.io import save_trained

    root = tmp_path / "project"
    assert main(["init", str(root)]) == 0
    (root / "specs/search/default.yaml").write_text(
        f"executor: dask\ndask_address: tcp://127.0.0.1:{free_port()}\n"
        "space: {width: [1.0], sparsity: [0.0], clusters: [0], qat: [false], quantization: [int8]}\n")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for command in (["compose"], ["stage", "prepare"]):
        subprocess.run([str(BIN / "edgeforge"), *command], cwd=root, env=env, check=True, capture_output=True, timeout=120)
    save_trained(quick_base_model(), root / "build/base/model.h5")  # what `train` makes, without its epochs
    started = time.monotonic()
    result = subprocess.run([str(BIN / "edgeforge"), "stage", "search"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeforge stage: error: search.dask_address: no Dask scheduler answers at"), result.stderr
    assert time.monotonic() - started < 60
    assert not (root / "build/search").exists()
