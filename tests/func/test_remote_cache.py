"""The remote cache of docs/remote.md and the CI recipe of docs/ci.md, against a real S3 server on
127.0.0.1 (moto in server mode, with credentials checked), started and stopped here.

One small project is built and pushed once per module; each test works on its own fresh clone."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from edgeforge.cli import main
from tests.conftest import REPO
from tests.func.test_pipeline import compose, edit_yaml  # the same project helpers
from tests.func.shell import BIN, dvc, run, stages_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BUCKET = "edgeforge-cache"
SERVER_START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on a free loopback port, with an IAM user whose keys it checks; stopped after."""
    import boto3

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "server.log"
    # The first four requests need no credentials (they create the user, its policy and keys, and
    # the bucket); from then on moto checks every request's signature against the user's keys.
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"}
    with open(log, "wb") as output:
        server = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, server)
        setup = {"endpoint_url": endpoint, "region_name": "us-east-1",
                 "aws_access_key_id": "bootstrap", "aws_secret_access_key": "bootstrap"}
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="ci")
        iam.put_user_policy(UserName="ci", PolicyName="cache", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="ci")["AccessKey"]
        credentials = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        boto3.client("s3", **{**setup, "aws_access_key_id": key["AccessKeyId"],
                              "aws_secret_access_key": key["SecretAccessKey"]}).create_bucket(Bucket=BUCKET)
        yield {"endpoint": endpoint, "credentials": credentials, "port": port}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"moto_server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"moto_server did not listen on {port} within {SERVER_START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def origin(tmp_path_factory, s3) -> Path:
    """A small project with the S3 remote committed, built, committed and pushed with its run-cache."""
    root = tmp_path_factory.mktemp("origin") / "project"
    assert main(["init", str(root)]) == 0
    edit_yaml(root / "specs/config.yaml", {"train.epochs": 4, "targets.mcu.constraints.latency_ms": 5,
                                            "targets.mcu.constraints.ram_kb": 16,
                                            "targets.mcu.constraints.min_accuracy": 0.8})
    (root / "specs/search/default.yaml").write_text("strategy: exhaustive\nspace:\n  quantization: [float32, int8]\n")
    compose(root)
    dvc("remote", "add", "-d", "storage", f"s3://{BUCKET}/cache", cwd=root)
    dvc("remote", "modify", "storage", "endpointurl", s3["endpoint"], cwd=root)
    build = dvc("repro", cwd=root)
    (root.parent / "repro.log").write_text(build.stdout + build.stderr)
    run("git", "add", "-A", cwd=root)
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "built", cwd=root)
    dvc("push", "--run-cache", cwd=root, env=s3["credentials"])
    return root


def fresh_clone(origin: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(origin), str(clone), cwd=tmp_path)
    return clone


def choices(root: Path) -> dict:
    report = json.loads(run(str(BIN / "edgeforge"), "report", "--json", cwd=root).stdout)
    return {name: (target["candidate"]["id"], target["feasible"]) for name, target in report["targets"].items()}


def summary(root: Path) -> dict:
    return json.loads((root / "build/search/summary.json").read_text())


def workspace_state(root: Path) -> dict[str, str]:
    """sha256 of every file of the workspace and DVC cache (DVC's own temp/state folders aside)."""
    skip = (".git/", ".dvc/tmp/")
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.relative_to(root).as_posix().startswith(skip)
    }


def test_the_build_log_has_progress_lines_and_no_library_noise(origin):
    """`dvc repro` without a terminal, as in CI: plain progress lines, none of TensorFlow's lines."""
    log = (origin.parent / "repro.log").read_text()
    assert re.search(r"^train \S+: \d+/4 epochs", log, re.M), log
    assert re.search(r"^search: \d+/\d+ evaluated, \d+ trained", log, re.M), log
    for noise in ("absl::InitializeLog", "I0000 ", "oneDNN custom operations", "cuInit", "XNNPACK",
                  "fully_quantize:", "UserWarning"):
        assert noise not in log, noise
    assert "\x1b[" not in log  # no terminal escapes


def test_a_fresh_clone_pulls_the_build_reproduces_nothing_and_reports_the_same_choices(origin, s3, tmp_path):
    clone = fresh_clone(origin, tmp_path)
    assert not (clone / "build").exists()
    dvc("pull", "--run-cache", cwd=clone, env=s3["credentials"])
    assert any((clone / "build/memo").rglob("seal.json"))  # the memo came with the outputs
    result = dvc("repro", cwd=clone)
    assert stages_run(result.stdout) == set(), result.stdout
    assert choices(clone) == choices(origin)


def test_a_teammates_constraint_edit_on_a_fresh_clone_trains_nothing(origin, s3, tmp_path):
    clone = fresh_clone(origin, tmp_path)
    dvc("pull", "--run-cache", cwd=clone, env=s3["credentials"])
    compose(clone, "targets.mcu.constraints.latency_ms=3")
    ran = stages_run(dvc("repro", cwd=clone).stdout)
    assert "search" in ran and not {"prepare", "train"} & ran
    after = summary(clone)
    assert (after["trained"], after["converted"], after["measured"]) == (0, 0, 0)

    # Once more, keeping the MCU's choice: neither export@mcu nor package@mcu runs (they depend on
    # select@mcu's export plan, which comes out byte for byte as before), and select imports neither
    # TensorFlow nor a runtime.
    chosen = json.loads((clone / "build/targets/mcu/export/exports.json").read_text())["candidate"]
    plan = (clone / "build/targets/mcu/export_plan.json").read_bytes()
    compose(clone, "targets.mcu.constraints.latency_ms=3.5")
    ran = stages_run(dvc("repro", cwd=clone).stdout)
    assert {"search", "select@mcu"} <= ran and not {"export@mcu", "package@mcu"} & ran
    assert (clone / "build/targets/mcu/export_plan.json").read_bytes() == plan
    assert json.loads((clone / "build/targets/mcu/export/exports.json").read_text())["candidate"] == chosen

    # Should the plan change with the same choice, export@mcu reuses its files from the export memo
    # (filled once per clone: it is local), and neither it nor select imports TensorFlow or a runtime.
    run(sys.executable, "-c", "from edgeforge.stages import export\nexport.run('mcu')\n", cwd=clone)
    compose(clone, "targets.mcu.constraints.latency_ms=3.2")
    dvc("repro", "search", cwd=clone)
    probe = (
        "import sys\n"
        "from edgeforge.stages import export, select\n"
        "select.run('mcu'); export.run('mcu')\n"
        "heavy = ('tensorflow', 'tf_keras', 'ai_edge_litert', 'tflite_micro', 'onnxruntime', 'tf2onnx')\n"
        "print('HEAVY', sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = run(sys.executable, "-c", probe, cwd=clone)
    assert "HEAVY []" in result.stdout, result.stdout
    assert json.loads((clone / "build/targets/mcu/export/exports.json").read_text())["candidate"] == chosen


def test_an_interrupted_pull_is_finished_by_the_next_one(origin, s3, tmp_path):
    clone = fresh_clone(origin, tmp_path)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **s3["credentials"]}
    cache = clone / ".dvc/cache/files/md5"
    expected = sum(1 for path in (origin / ".dvc/cache/files/md5").rglob("*") if path.is_file())
    # One download at a time, killed (as a CI job is) once part of the objects are in.
    pull = subprocess.Popen([sys.executable, "-m", "dvc", "pull", "-j", "1"], cwd=clone, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    fetched = 0
    while pull.poll() is None and time.monotonic() < deadline:
        fetched = sum(1 for path in cache.rglob("*") if path.is_file()) if cache.exists() else 0
        if fetched >= 3:
            pull.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    pull.wait(timeout=30)
    assert pull.returncode == -signal.SIGKILL, "the pull ended before it could be interrupted"
    assert 3 <= fetched < expected
    assert dvc("status", cwd=clone).stdout.strip() != "Data and pipelines are up to date."

    dvc("pull", cwd=clone, env=s3["credentials"])
    assert stages_run(dvc("repro", cwd=clone).stdout) == set()
    assert choices(clone) == choices(origin)


@pytest.mark.parametrize("failure", ["wrong credentials", "unreachable remote"])
def test_a_failing_remote_is_one_error_line_and_leaves_the_workspace_as_it_was(origin, s3, tmp_path, failure):
    clone = fresh_clone(origin, tmp_path)
    env = dict(s3["credentials"])
    if failure == "wrong credentials":
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        expected = re.compile(r"ERROR: .*(403|Forbidden)")
    else:
        dvc("remote", "modify", "--local", "storage", "endpointurl", f"http://127.0.0.1:{free_port()}", cwd=clone)
        expected = re.compile(r"ERROR: .*Could not connect to the endpoint URL")
    before = workspace_state(clone)
    result = dvc("pull", "--run-cache", cwd=clone, env=env, check=False)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and expected.match(errors[0]), result.stderr
    assert workspace_state(clone) == before
    assert not (clone / "build").exists()


# -- docs/ci.md ----------------------------------------------------------------------------------

def ci_steps() -> list[tuple[str, str]]:
    """(name, script) of every `run:` step of the workflow in docs/ci.md, in order."""
    text = (REPO / "docs/ci.md").read_text()
    workflow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    steps = workflow["jobs"]["build"]["steps"]
    return [(step["name"], step["run"]) for step in steps if "run" in step]


def run_step(script: str, clone: Path, env: dict) -> subprocess.CompletedProcess:
    return run("bash", "-e", "-c", script, cwd=clone, env=env, check=False)


def test_the_ci_workflow_commands_pull_build_push_and_fail_on_an_infeasible_target(origin, s3, tmp_path):
    steps = ci_steps()
    names = [name for name, _ in steps]
    assert names[0].startswith("Install")  # left to the project's own pins: not run here
    env = {**s3["credentials"], "EDGEFORGE_PROGRESS_INTERVAL_S": "10"}

    clone = fresh_clone(origin, tmp_path)
    outputs = {}
    for name, script in steps[1:]:
        result = run_step(script, clone, env)
        assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
        outputs[name] = result.stdout
    assert stages_run(outputs[names[3]]) == set()  # everything came from the pulled cache
    assert choices(clone) == choices(origin)

    # A commit that makes a target infeasible: the build step goes red, after pushing.
    compose(clone, "targets.mcu.constraints.min_accuracy=0.9999")
    build = dict(steps)[names[3]]
    result = run_step(build, clone, env)
    assert result.returncode != 0
    assert "failed to reproduce 'select@mcu'" in result.stderr
    assert re.search(r"(\d+ files? pushed|Everything is up to date)", result.stdout), result.stdout  # pushed anyway
