"""Flash a deployed model needs: the model file plus the runtime code that executes it.

    flash = model bytes + base (interpreter, allocator, flatbuffer reader) + one kernel per op type

The figures live with each runtime (`code_sizes` in edgeforge/runtimes/<name>.py), per instruction
set, each with where it comes from. Microcontroller builds link only the kernels a model registers
(TFLM's MicroMutableOpResolver), so the kernel term matters there. The other runtimes ship as one
library with every kernel (`kernel_bytes=0`): on phones, boards and hosts their code size is a
constant next to gigabytes of storage, reported so that `flash` stays comparable across targets.
"""

from __future__ import annotations

from collections.abc import Iterable

from edgeforge.runtimes import get_runtime


def runtime_code_bytes(op_types: Iterable[str], runtime: str, arch: str) -> int:
    """Flash taken by `runtime`'s code on `arch` when it registers exactly `op_types`."""
    return get_runtime(runtime).code_bytes(op_types, arch)


def flash_bytes(model_bytes: int, op_types: Iterable[str], runtime: str, arch: str) -> int:
    """Flash a model needs on a device: the model file plus the runtime code for its ops."""
    return model_bytes + runtime_code_bytes(op_types, runtime, arch)
