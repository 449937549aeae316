"""Native code that parses untrusted models runs in a worker process: a crash is an error, not a crash."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pytest

from edgeforge.cli import main
from edgeforge.cost.isolated import run_isolated
from edgeforge.errors import BuildError, CorruptModelError, ModelFileError, UserError
from edgeforge.runtimes import get_runtime
from edgeforge.spec.presets import load_preset


def _bundle_helpers():
    path = Path(__file__).resolve().parents[1] / "bundle" / "bundle_helpers.py"
    spec = importlib.util.spec_from_file_location("bundle_helpers_for_isolated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def crashing_model() -> bytes:
    """A tiny classifier with one bit flipped where TFLite Micro's allocator segfaults on it
    (found by flipping every bit of it; the flatbuffer still parses)."""
    data = bytearray(_bundle_helpers().random_classifier(0))
    data[208] ^= 1 << 4
    return bytes(data)


def test_run_isolated_returns_the_result_of_the_worker():
    assert run_isolated(sorted, [3, 1, 2]) == [1, 2, 3]
    assert run_isolated(os.getpid) != os.getpid()


def test_run_isolated_raises_the_workers_exceptions_as_the_same_class():
    with pytest.raises(ValueError, match="invalid literal"):
        run_isolated(int, "twelve")
    with pytest.raises(ModelFileError, match="not a TFLite model"):
        run_isolated(_read_graph, b"definitely not a flatbuffer")


def _read_graph(data: bytes):
    from edgeforge.cost.graph import read_graph

    return read_graph(data)


def test_a_crash_in_the_worker_becomes_a_corrupt_model_error_and_the_next_call_works():
    with pytest.raises(CorruptModelError, match=r"model.tflite: the model is corrupt: .*crashed on it \(signal SIGSEGV\)"):
        run_isolated(ctypes.string_at, 0, source="model.tflite")  # reads address 0: SIGSEGV
    with pytest.raises(CorruptModelError, match="signal SIGABRT"):
        run_isolated(os.abort)
    assert run_isolated(sorted, [2, 1]) == [1, 2]


def test_a_worker_past_its_timeout_is_killed():
    started = time.monotonic()
    with pytest.raises(CorruptModelError, match="did not finish within 1 s"):
        run_isolated(time.sleep, 30, timeout_s=1)
    assert time.monotonic() - started < 10


def test_corrupt_model_error_is_a_user_error_for_profile_and_a_build_error_for_the_search():
    assert issubclass(CorruptModelError, UserError) and issubclass(CorruptModelError, BuildError)
    assert CorruptModelError.exit_code == 2


def test_tflite_micro_device_costs_of_a_model_that_crashes_its_allocator_is_an_error():
    runtime = get_runtime("tflite-micro")
    device = load_preset("stm32f746_disco")
    with pytest.raises(CorruptModelError, match="the model is corrupt: TFLite Micro crashed on it"):
        runtime.device_costs(crashing_model(), device)
    intact = _bundle_helpers().random_classifier(0)
    assert runtime.device_costs(intact, device)["arena_bytes"] > 0  # a fresh worker serves the next model


def test_tflite_micro_predict_matches_in_the_worker():
    from edgeforge.runtimes.tflite_micro import _predict

    model = _bundle_helpers().random_classifier(0)
    x = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)
    assert np.array_equal(get_runtime("tflite-micro").predict(model, x), _predict(model, x))


def test_profile_of_a_model_that_crashes_tflite_micro_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "corrupt.tflite"
    path.write_bytes(crashing_model())
    assert main(["profile", str(path), "--device", "stm32f746_disco"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "the model is corrupt" in err
