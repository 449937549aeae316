"""Run native code that parses untrusted models in a child process, so a crash is an error.

TFLite Micro's allocator and interpreter are C++ that trusts the flatbuffer it is given: a corrupt
model (a flipped bit in a tensor's shape or buffer index) can segfault or abort them, and with
them the whole build or `edgeforge profile`. `run_isolated(function, *args)` runs
`function(*args)` in a worker process instead and returns its result; the function's own
exceptions come back as the same classes. A worker that dies (signal, abort) or runs past
`timeout_s` becomes `CorruptModelError`: "the model is corrupt: ...", and the next call starts a
fresh worker.

One worker serves every call of a process (started on first use, a `python -m` subprocess, so
it works inside daemonic pool workers too): a call costs a pickle of its arguments and result
over a pipe, not an interpreter start (benchmarks/isolation_overhead.py measures it).
"""

from __future__ import annotations

import atexit
import builtins
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from edgeforge.errors import CorruptModelError, EdgeforgeError

CALL_TIMEOUT_S = 900.0
RETURNED, RAISED, DIED = "returned", "raised", "died"
# What reading a malformed flatbuffer raises in Python (edgeforge's own parsers, the flatbuffers package).
MALFORMED = {("struct", "error"), ("builtins", "IndexError"), ("builtins", "OverflowError"), ("builtins", "MemoryError")}
_HEADER = struct.Struct("<Q")


def run_isolated(function: Callable, *args: Any, timeout_s: float = CALL_TIMEOUT_S, source: str = "<model bytes>") -> Any:
    """`function(*args)` in the worker process; `function` must be importable (module level).

    `source` names the model in the error a crash becomes.
    """
    with _LOCK:
        global _WORKER
        if _WORKER is None or not _WORKER.alive() or _WORKER.owner != os.getpid():  # a forked child starts its own
            _WORKER = _Worker()
        outcome, payload = _WORKER.call(function, args, timeout_s)
        if outcome == DIED:
            _WORKER = None
            raise CorruptModelError(f"{source}: the model is corrupt: {payload}")
    if outcome == RETURNED:
        return payload
    module, name, message = payload
    if (module, name) in MALFORMED:
        # A flatbuffer read that ran off its end or past a table in the worker: the model is corrupt.
        raise CorruptModelError(f"{source}: the model is corrupt: {name}: {message}")
    raise _rebuild_exception(module, name, message)


class _Worker:
    def __init__(self):
        self.owner = os.getpid()
        # The child's stderr: TFLite Micro's complaints, read back as the reason of a crash.
        self.log = tempfile.TemporaryFile(mode="a+b")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            # -P: not the working directory first on sys.path, but the parent's path (PYTHONPATH), so
            # the worker runs the same edgeforge as its parent even from inside a source checkout
            [sys.executable, "-P", "-m", "edgeforge.cost.isolated"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, function: Callable, args: tuple, timeout_s: float) -> tuple[str, Any]:
        """(RETURNED, result), (RAISED, (module, class, message)) or (DIED, why)."""
        request = pickle.dumps((function.__module__, function.__qualname__, args), protocol=pickle.HIGHEST_PROTOCOL)
        self.log.seek(0)
        self.log.truncate()
        try:
            self.process.stdin.write(_HEADER.pack(len(request)) + request)
            self.process.stdin.flush()
            deadline = time.monotonic() + timeout_s
            size = _HEADER.unpack(self._read(_HEADER.size, deadline))[0]
            return pickle.loads(self._read(size, deadline))
        except (BrokenPipeError, EOFError, TimeoutError) as error:
            self._kill()
            reason = self._reason(error, timeout_s)
            self._release()
            return DIED, reason

    def _read(self, size: int, deadline: float) -> bytes:
        stream = self.process.stdout
        chunks, left = [], size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(stream.fileno(), min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _reason(self, error: Exception, timeout_s: float) -> str:
        if isinstance(error, TimeoutError):
            return f"TFLite Micro did not finish within {timeout_s:g} s"
        code = self.process.wait()
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        what = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return f"TFLite Micro crashed on it ({what})" + (f": {lines[-1]}" if lines else "")

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        try:
            self.process.stdin.close()  # the worker exits at end of input
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self._kill()
        self._release()

    def _release(self) -> None:
        for stream in (self.process.stdin, self.process.stdout, self.log):
            try:
                stream.close()
            except OSError:
                pass


def _rebuild_exception(module: str, name: str, message: str) -> BaseException:
    """The worker's exception as the same class here (edgeforge's errors, builtins)."""
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        cls = None
    if isinstance(cls, type) and issubclass(cls, EdgeforgeError):
        error = cls.__new__(cls)
        Exception.__init__(error, message)  # classes with their own __init__ (SpecError) too
        return error
    if isinstance(cls, type) and issubclass(cls, Exception) and module == builtins.__name__:
        return cls(message)
    return RuntimeError(f"{name}: {message}")


_LOCK = threading.Lock()
_WORKER: _Worker | None = None


@atexit.register
def _close_worker() -> None:
    if _WORKER is not None and _WORKER.owner == os.getpid():
        _WORKER.close()


def _serve() -> None:
    """The worker: read (module, name, args) requests on stdin, answer (ok, result) on stdout."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the native code prints must not mix into the replies
    requests = sys.stdin.buffer
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        module, name, args = pickle.loads(requests.read(_HEADER.unpack(header)[0]))
        try:
            function = importlib.import_module(module)
            for part in name.split("."):
                function = getattr(function, part)
            data = pickle.dumps((RETURNED, function(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - every failure goes back to the caller
            reply = (RAISED, (type(error).__module__, type(error).__qualname__, str(error)))
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(_HEADER.pack(len(data)) + data)
        replies.flush()


if __name__ == "__main__":
    _serve()
