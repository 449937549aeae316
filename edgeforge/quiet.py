"""Keep TensorFlow's, absl's, oneDNN's and the TFLite converter's log noise out of a stage's output.

Native code writes these lines straight to file descriptor 2, before and regardless of
TF_CPP_MIN_LOG_LEVEL (absl logs everything until `absl::InitializeLog()`), so no Python logger
setting reaches them. `quiet_native_logs()` puts a pipe on fd 2 for the duration of a stage and
forwards every line except the known noise: an error, a traceback or our own message still
reaches the log. It changes no setting that changes numerics (TF_ENABLE_ONEDNN_OPTS stays as it
is); it only drops lines. `edgeforge -v stage ...`, `dvc repro -v` and EDGEFORGE_VERBOSE=1 keep
everything. (A crash of the process itself loses what it wrote last: rerun with -v to see it.)

    with quiet_native_logs():
        run_the_stage()
"""

from __future__ import annotations

import os
import re
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

# One pattern per kind of line; each is emitted by a library, never by edgeforge.
NOISE = re.compile(
    "|".join((
        r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
        r"[IWEF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] ",  # absl/glog: oneDNN, cuInit, cpu_feature_guard
        r"This TensorFlow binary is optimized to use available CPU instructions",
        r"To enable the following instructions: .*rebuild TensorFlow",
        r"fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, output_inference_type: \w+",
        r"INFO: Created TensorFlow Lite \w+ delegate for CPU\.",
        r"INFO: Initialized TensorFlow Lite runtime\.",
        r"WARNING:absl:",
    ))
)
# Python warnings the libraries raise on every build (legacy HDF5 saving, the converter's
# statistics notice): what they say is known and deliberate here.
NOISY_MODULES = r"(tensorflow|tf_keras|keras|tensorflow_model_optimization|tf2onnx)(\.|$)"
VERBOSE_ENV = "EDGEFORGE_VERBOSE"


def is_noise(line: str) -> bool:
    return NOISE.match(line) is not None


@contextmanager
def quiet_native_logs(fd: int = 2):
    """Drop the library noise from everything written to `fd` (stderr) inside the block."""
    try:
        saved = os.dup(fd)
    except OSError:  # no stderr at all: nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    forwarder = threading.Thread(target=_forward, args=(read_end, saved), name="quiet-native-logs", daemon=True)
    forwarder.start()
    _flush()
    os.dup2(write_end, fd)
    os.close(write_end)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=NOISY_MODULES)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=NOISY_MODULES)
            yield
    finally:
        _flush()
        os.dup2(saved, fd)  # the pipe's last write end closes: the forwarder sees EOF and ends
        forwarder.join(timeout=2)  # a child process still holding the pipe only loses its own late lines
        os.close(saved)


def _forward(read_end: int, target: int) -> None:
    """Copy lines from the pipe to `target`, less the noise; a partial last line goes through."""
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_noise(line.decode(errors="replace")))
            _write_all(target, kept)
    if pending and not is_noise(pending.decode(errors="replace")):
        _write_all(target, pending)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:  # the reader of stderr went away: drop what is left, as a closed pipe would
            return


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def verbose_requested(flag: bool = False) -> bool:
    """`edgeforge -v`, EDGEFORGE_VERBOSE=1, or a stage run by `dvc repro -v` / `dvc exp run -v`
    (DVC passes no verbosity to a stage's command, so we look at the processes above ours)."""
    if flag or os.environ.get(VERBOSE_ENV, "").strip() not in ("", "0"):
        return True
    return any(_is_verbose_dvc(argv) for argv in _ancestor_commands(levels=4))


def _is_verbose_dvc(argv: list[str]) -> bool:
    runs_dvc = any(Path(arg).name == "dvc" for arg in argv[:3])
    return runs_dvc and any(arg in ("-v", "-vv", "--verbose") for arg in argv)


def _ancestor_commands(levels: int) -> list[list[str]]:
    """Command lines of the parent processes (Linux /proc; nothing elsewhere)."""
    commands, pid = [], os.getppid()
    for _ in range(levels):
        proc = Path("/proc") / str(pid)
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            stat = (proc / "stat").read_text()
        except OSError:
            break
        commands.append([arg.decode(errors="replace") for arg in argv if arg])
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after the parenthesized name
        if pid <= 1:
            break
    return commands
