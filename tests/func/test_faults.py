"""Fault injection: a damaged memo, a build killed with SIGKILL in the middle of the search, writers
sharing one memo. After each, the next run recovers by itself, with byte-identical models and
bundles, and `edgeforge verify` finds what `dvc status` does not.

One small project is built once (tests/func/test_pipeline.py's `make_project`); each test works on
a copy of it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeforge.search.memo import SEAL, entry_problem
from tests.func.test_pipeline import BIN, dvc, make_project, run

pytestmark = pytest.mark.slow

# Every model and bundle file a build ships: they must come out byte-identical after any fault.
SHIPPED = ("build/search/models", "build/targets/mcu/export", "build/targets/sbc/export",
           "build/targets/mcu/bundle", "build/targets/sbc/bundle")


def shipped_files(root: Path) -> dict[str, str]:
    """sha256 of every shipped file, by path (export reports such as parity.json included)."""
    files = {}
    for folder in SHIPPED:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                files[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def memo_entries(memo: Path) -> list[Path]:
    return sorted(entry for kind in memo.iterdir() if kind.is_dir() for entry in kind.iterdir() if not entry.name.startswith("."))


def memo_leftovers(memo: Path) -> list[str]:
    return sorted(entry.name for kind in memo.iterdir() if kind.is_dir() for entry in kind.iterdir() if entry.name.startswith("."))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("faults") / "project")


@pytest.fixture
def project(built, tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(built, copy, symlinks=True)
    return copy


def test_damaged_memo_entries_are_recomputed_with_identical_results(built, project):
    memo = project / "build/memo"
    converted = sorted((memo / "converted").iterdir())
    data = bytearray((converted[0] / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0x04  # bit-rot in a converted model: it must never be measured or shipped
    (converted[0] / "model.tflite").write_bytes(bytes(data))
    measured = sorted((memo / "measured").iterdir())[0] / "record.json"
    measured.write_bytes(measured.read_bytes()[:7])  # a truncated record
    damaged = [converted[0], measured.parent]

    result = dvc("repro", "-f", "search", cwd=project)
    assert result.returncode == 0
    assert "discarded, it will be recomputed" in result.stderr + result.stdout
    assert all(entry_problem(entry) is None for entry in memo_entries(memo))
    assert all(entry.is_dir() for entry in damaged)  # recomputed in place
    dvc("repro", cwd=project)
    assert shipped_files(project) == shipped_files(built)


def test_verify_finds_a_corrupt_dvc_cache_object_that_dvc_status_misses(project):
    lock = (project / "dvc.lock").read_text()
    md5 = lock.split("path: build/targets/sbc/selected.json")[1].split("md5: ")[1].split()[0]
    cached = project / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    dvc("status", cwd=project)  # DVC records the hashes of the copied files it trusts from now on
    stat = cached.stat()
    cached.chmod(0o644)
    with open(cached, "r+b") as file:  # bit-rot: same inode, size, mode and mtime; only the bytes change
        data = file.read()
        file.seek(0)
        file.write(data.replace(b'"sbc"', b'"sbd"', 1))
    cached.chmod(stat.st_mode)  # read-only again: DVC trusts a protected cache object without hashing it
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    status = dvc("status", cwd=project).stdout.lower()
    assert "up to date" in status or "nothing" in status  # DVC trusts its cache
    result = run(str(BIN / "edgeforge"), "verify", cwd=project, check=False)
    assert result.returncode == 2
    [line] = result.stdout.splitlines()
    assert line.startswith(str(cached.relative_to(project))) and "DVC cache object is corrupt" in line
    assert line.endswith("fix: delete it, then run `dvc repro -f select@sbc`")


def test_a_build_killed_in_the_middle_of_the_search_resumes_to_identical_bytes(built, project):
    memo = project / "build/memo"
    shutil.rmtree(memo)  # the search has everything to do again
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    build = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", "-f", "search"], cwd=project, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and build.poll() is None:  # until some, not all, work is in the memo
            if memo.is_dir() and sum(1 for _ in memo.glob(f"*/*/{SEAL}")) >= 2:
                break
            time.sleep(0.1)
        assert build.poll() is None, "the search finished before it could be killed"
        os.killpg(build.pid, signal.SIGKILL)
    finally:
        build.wait()
    result = dvc("repro", cwd=project)
    assert result.returncode == 0
    assert shipped_files(project) == shipped_files(built)
    assert memo_leftovers(memo) == []  # the killed writer's staging folders are gone
    assert all(entry_problem(entry) is None for entry in memo_entries(memo))


def test_two_builds_sharing_one_memo_write_each_entry_once(built, tmp_path):
    shared = tmp_path / "shared-memo"
    copies = []
    for name in ("left", "right"):
        copy = tmp_path / name
        shutil.copytree(built, copy, symlinks=True)
        shutil.rmtree(copy / "build/search")
        copies.append(copy)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "EDGEFORGE_MEMO_DIR": str(shared)}
    searches = [
        subprocess.Popen([str(BIN / "edgeforge"), "stage", "search"], cwd=copy, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for copy in copies
    ]
    outcomes = [search.communicate(timeout=300) for search in searches]
    assert [search.returncode for search in searches] == [0, 0], outcomes
    assert memo_leftovers(shared) == []
    assert all(entry_problem(entry) is None for entry in memo_entries(shared))
    left, right = (shipped_files(copy) for copy in copies)
    models = {path: digest for path, digest in shipped_files(built).items() if path.startswith("build/search/models")}
    assert {p: d for p, d in left.items() if p in models} == models == {p: d for p, d in right.items() if p in models}
