"""The memo trusts nothing it reads back, and writers of one key never trip over each other."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeforge.search import memo as memo_module
from edgeforge.search.memo import SEAL, Memo, entry_problem, remove_leftovers

MODEL = bytes(range(256)) * 40


def write_model(folder: Path) -> dict:
    (folder / "model.tflite").write_bytes(MODEL)
    return {"sha256": "of the model", "model_bytes": len(MODEL)}


def flip_bit(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def test_memo_store_then_entry_returns_the_sealed_files(tmp_path):
    memo = Memo(tmp_path)
    folder = memo.store("converted", "k1", write_model)
    assert memo.entry("converted", "k1") == folder
    assert (folder / "model.tflite").read_bytes() == MODEL
    assert memo.record("converted", "k1") == {"sha256": "of the model", "model_bytes": len(MODEL)}
    assert set(json.loads((folder / SEAL).read_text())["files"]) == {"model.tflite", "record.json"}
    assert (memo.hits, memo.misses) == (2, 0)


def test_memo_lookups_without_count_leave_the_hit_and_miss_figures_alone(tmp_path):
    memo = Memo(tmp_path)
    assert memo.record("download", "k1", count=False) is None
    memo.store("download", "k1", lambda folder: {"download_bytes": 10})
    assert memo.record("download", "k1", count=False) == {"download_bytes": 10}
    assert (memo.hits, memo.misses) == (0, 0)
    assert memo.record("download", "k1") == {"download_bytes": 10} and (memo.hits, memo.misses) == (1, 0)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda f: flip_bit(f / "model.tflite"), "model.tflite does not match its sha256"),
        (lambda f: (f / "model.tflite").write_bytes(MODEL[:1000]), "model.tflite does not match its sha256"),
        (lambda f: (f / "model.tflite").unlink(), "model.tflite missing"),
        (lambda f: (f / "record.json").write_text('{"sha2'), "record.json does not match its sha256"),
        (lambda f: (f / SEAL).write_text("{"), "seal.json unreadable"),
        (lambda f: (f / SEAL).unlink(), "no seal (interrupted, or damaged)"),
    ],
    ids=["bit-flip", "truncated-model", "missing-file", "truncated-record", "corrupt-seal", "no-seal"],
)
def test_memo_entry_discards_a_damaged_entry_with_one_warning(tmp_path, caplog, damage, problem):
    memo = Memo(tmp_path)
    folder = memo.store("converted", "k1", write_model)
    damage(folder)
    with caplog.at_level(logging.WARNING, logger="edgeforge.search.memo"):
        assert memo.entry("converted", "k1") is None
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    message = caplog.records[0].getMessage()
    assert problem in message and "discarded" in message and "\n" not in message
    assert not folder.exists() and memo.discarded == 1 and memo.misses == 1
    assert os.listdir(tmp_path / "converted") == []  # nothing left aside
    # The caller recomputes: a fresh entry is stored and read back intact.
    memo.store("converted", "k1", write_model)
    assert memo.record("converted", "k1")["model_bytes"] == len(MODEL)


def test_memo_record_of_a_damaged_entry_is_none_not_a_traceback(tmp_path):
    memo = Memo(tmp_path)
    folder = memo.store("measured", "k1", lambda out: {"accuracy": 0.97})
    (folder / "record.json").write_text("")
    assert memo.record("measured", "k1") is None


def test_memo_store_keeps_an_intact_entry_already_there(tmp_path):
    memo = Memo(tmp_path)
    first = memo.store("measured", "k1", lambda out: {"accuracy": 0.97})
    again = memo.store("measured", "k1", lambda out: {"accuracy": 0.5})
    assert again == first and memo.record("measured", "k1") == {"accuracy": 0.97}
    assert os.listdir(tmp_path / "measured") == ["k1"]


def test_memo_store_with_replace_swaps_in_the_new_entry(tmp_path):
    memo = Memo(tmp_path)
    memo.store("explored", "k1", lambda out: {"calls": [1]})
    memo.store("explored", "k1", lambda out: {"calls": [1, 2]}, replace=True)
    assert memo.record("explored", "k1") == {"calls": [1, 2]}
    assert os.listdir(tmp_path / "explored") == ["k1"]


def test_memo_store_replaces_a_damaged_entry_in_its_way(tmp_path, caplog):
    memo = Memo(tmp_path)
    folder = memo.store("converted", "k1", write_model)
    flip_bit(folder / "model.tflite")
    with caplog.at_level(logging.WARNING, logger="edgeforge.search.memo"):
        memo.store("converted", "k1", write_model)  # a writer that did not read first
    assert entry_problem(folder) is None and memo.discarded == 1


def test_memo_contains_counts_nothing_and_entry_still_verifies(tmp_path, caplog):
    memo = Memo(tmp_path)
    folder = memo.store("trained", "k1", write_model)
    flip_bit(folder / "model.tflite")
    assert memo.contains("trained", "k1") and (memo.hits, memo.misses) == (0, 0)
    with caplog.at_level(logging.WARNING, logger="edgeforge.search.memo"):
        assert memo.entry("trained", "k1") is None
    assert not memo.contains("trained", "k1")


def _write_same_key(root: str, rounds: int) -> int:
    memo = Memo(root)
    for round_ in range(rounds):
        memo.store("converted", "shared", lambda out: ((out / "model.bin").write_bytes(os.urandom(4096)), {"round": round_})[1])
        assert memo.entry("converted", "shared") is not None
    return rounds


def test_memo_concurrent_writers_of_one_key_both_succeed_with_one_entry(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        assert pool.starmap(_write_same_key, [(str(tmp_path), 100), (str(tmp_path), 100)]) == [100, 100]
    assert os.listdir(tmp_path / "converted") == ["shared"]
    assert entry_problem(tmp_path / "converted" / "shared") is None


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_remove_leftovers_removes_dead_and_stale_writers_and_keeps_live_ones(tmp_path):
    host = memo_module._host()
    names = {
        "dead": f".k1.{_dead_pid()}@{host}.abcd1234",
        "live": f".k2.{os.getpid()}@{host}.abcd1234",
        "remote_fresh": ".k3.123@elsewhere.abcd1234",
        "remote_stale": ".k4.123@elsewhere.abcd1234",
        "untagged_stale": ".k5.x1y2z3w4",
        "discarded": ".k6.discarded.abcd1234",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.h5").write_bytes(b"partial")
    (tmp_path / "k7").mkdir()  # an entry, never a leftover
    day_ago = time.time() - 24 * 3600
    for key in ("remote_stale", "untagged_stale"):
        os.utime(tmp_path / names[key], (day_ago, day_ago))
    removed = remove_leftovers(tmp_path)
    assert sorted(removed) == sorted(names[k] for k in ("dead", "remote_stale", "untagged_stale", "discarded"))
    assert sorted(os.listdir(tmp_path)) == sorted([names["live"], names["remote_fresh"], "k7"])


def test_memo_cleans_leftovers_of_a_killed_writer_at_the_next_run(tmp_path):
    host = memo_module._host()
    leftover = tmp_path / "trained" / f".k1.{_dead_pid()}@{host}.abcd1234"
    leftover.mkdir(parents=True)
    (leftover / "model.h5").write_bytes(b"half a model")
    assert Memo(tmp_path).entry("trained", "k1") is None
    assert not leftover.exists()


def test_a_killed_writer_left_as_an_unreaped_zombie_counts_as_dead(tmp_path):
    host = memo_module._host()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exits; not waited for until the end
    try:
        deadline = time.monotonic() + 30
        while memo_module._process_status(zombie.pid)[0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        leftover = tmp_path / f".k1.{zombie.pid}@{host}.abcd1234"
        leftover.mkdir()
        assert remove_leftovers(tmp_path) == [leftover.name]
    finally:
        zombie.wait()


def test_memo_recomputes_an_older_entry_without_a_seal_quietly(tmp_path, caplog):
    legacy = tmp_path / "measured" / "k1"
    legacy.mkdir(parents=True)
    (legacy / "record.json").write_text('{"accuracy": 0.9}')
    (legacy / "done").write_text("")  # how entries were marked before seals
    memo = Memo(tmp_path)
    with caplog.at_level(logging.WARNING, logger="edgeforge.search.memo"):
        assert memo.entry("measured", "k1") is None
    assert caplog.records == [] and memo.discarded == 0
    memo.store("measured", "k1", lambda out: {"accuracy": 0.97})
    assert memo.record("measured", "k1") == {"accuracy": 0.97}
