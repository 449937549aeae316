"""Flash = model bytes + runtime code for the ops the model uses."""

from __future__ import annotations

import pytest

from edgeforge.cost.flash import flash_bytes, runtime_code_bytes
from edgeforge.errors import UserError
from edgeforge.runtimes import RUNTIMES
from edgeforge.runtimes.base import OPTIMIZED_OPS

TFLM = RUNTIMES["tflite-micro"].code_sizes["*"]


def test_tflm_code_is_base_plus_one_kernel_per_distinct_op():
    ops = ["RESHAPE", "RESHAPE", "QUANTIZE"]
    assert code_bytes(ops) == TFLM.base_bytes + 2 * TFLM.kernel_bytes


def test_tflm_core_runtime_matches_the_documented_16_kb():
    assert code_bytes([]) == 16 * 1024


def code_bytes(ops: list[str], arch: str = "armv7e-m", runtime: str = "tflite-micro") -> int:
    return runtime_code_bytes(ops, runtime, arch)


def test_optimized_kernels_cost_more_than_reference_ones():
    assert "CONV_2D" in OPTIMIZED_OPS and "RESHAPE" not in OPTIMIZED_OPS
    assert code_bytes(["CONV_2D"]) > code_bytes(["RESHAPE"])


def test_cortex_m0_plus_has_no_optimized_kernels():
    assert code_bytes(["CONV_2D"], "armv6-m") == code_bytes(["RESHAPE"], "armv6-m")


def test_unlisted_arch_uses_the_runtime_default():
    assert code_bytes(["CONV_2D"], "riscv32") == code_bytes(["CONV_2D"], "armv7e-m")


def test_full_library_runtimes_do_not_grow_with_ops():
    assert code_bytes(["CONV_2D", "ADD"], "aarch64", "tflite") == code_bytes([], "aarch64", "tflite")


def test_flash_is_model_plus_runtime_code():
    ops = ["CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    assert flash_bytes(50_000, ops, "tflite-micro", "armv8-m.main") == 50_000 + code_bytes(ops, "armv8-m.main")


def test_every_runtime_has_code_size_figures_with_a_source():
    for runtime in RUNTIMES.values():
        by_arch = runtime.code_sizes
        assert "*" in by_arch, runtime
        assert all(size.source for size in by_arch.values()), runtime


def test_unknown_runtime_is_a_user_error():
    with pytest.raises(UserError, match="unknown runtime 'tvm'"):
        runtime_code_bytes(["CONV_2D"], "tvm", "armv7e-m")
