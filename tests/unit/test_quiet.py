"""Library log noise stays out of a stage's stderr; everything else goes through."""

from __future__ import annotations

import subprocess
import sys

from edgeforge.quiet import _is_verbose_dvc, is_noise

NOISE_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795949806.005757   25367 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "E0000 00:00:1795950235.159888   31037 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    "fully_quantize: 0, inference_type: 6, input_inference_type: INT8, output_inference_type: INT8",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]


def test_known_library_lines_are_noise_and_ours_are_not():
    assert all(is_noise(line) for line in NOISE_LINES)
    for line in ("edgeforge stage: error: build/data/splits.npz: prepared data not found",
                 "Traceback (most recent call last):", "ValueError: shapes (3,) and (4,) not aligned"):
        assert not is_noise(line)


def test_native_writes_to_stderr_are_filtered_but_errors_and_warnings_of_ours_pass():
    """What native code writes straight to fd 2 (os.write here) goes through the same filter."""
    noise = ("\n".join(NOISE_LINES) + "\n").encode()
    script = (
        "import os, sys, warnings\n"
        "from edgeforge.quiet import quiet_native_logs\n"
        "with quiet_native_logs():\n"
        f"    os.write(2, {noise!r})\n"
        "    print('a real problem', file=sys.stderr)\n"
        "    warnings.warn_explicit('legacy HDF5', UserWarning, 'training.py', 1, module='tf_keras.src.engine.training')\n"
        "    os.write(2, b'partial line without newline')\n"
        "print('after the block', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["a real problem", "partial line without newlineafter the block"]


def test_dvc_run_verbosely_is_recognised_from_its_command_line():
    assert _is_verbose_dvc(["/venv/bin/python", "/venv/bin/dvc", "repro", "-v"])
    assert _is_verbose_dvc(["python", "-m", "dvc", "exp", "run", "--verbose"])
    assert not _is_verbose_dvc(["/venv/bin/python", "/venv/bin/dvc", "repro"])
    assert not _is_verbose_dvc(["/bin/sh", "-c", "edgeforge stage train -v"])
