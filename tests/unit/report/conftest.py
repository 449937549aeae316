"""A hand-written build/ of two targets: mcu chose int8_fast, sbc has no feasible candidate."""

from __future__ import annotations

import pytest

from edgeforge.atomic import write_json
from edgeforge.layout import BUILD, Layout
from edgeforge.outputs import TargetSearch
from tests.fake_build import target_search, write_target

MCU_LIMITS = {"ram_kb": 64, "latency_ms": 3, "min_accuracy": 0.9}
SBC_LIMITS = {"latency_ms": 1}
SUMMARY = {"space_size": 4, "evaluated": 3, "trained": 2, "converted": 3, "measured": 3, "memo_hits": 1}


@pytest.fixture
def write_build(tmp_path):
    """write_build(sbc=True) -> mcu's search result, with the build written under tmp_path.

    mcu: int8_fast is chosen over fp32_big (too much RAM) and int8_slow (slower); sbc: nothing
    meets its 1 ms latency limit."""

    def write(sbc: bool = True) -> TargetSearch:
        mcu = target_search(
            {"fp32_big": {"arena_bytes": 200 * 1024, "latency_ms": 1.0}, "int8_fast": {"latency_ms": 1.5},
             "int8_slow": {"latency_ms": 2.5}},
            MCU_LIMITS,
        )
        export = BUILD.export_dir("mcu")
        write_target(tmp_path, mcu, chosen="int8_fast", formats={
            "tflite": [(export / "model.tflite").as_posix()],
            "tflm_c": [(export / "tflm" / "model_data.cc").as_posix(), (export / "tflm" / "model_data.h").as_posix()],
        })
        if sbc:
            write_target(tmp_path, target_search({"int8_fast": {"latency_ms": 1.5}}, SBC_LIMITS, target="sbc"))
        write_json(Layout(tmp_path).search_summary, SUMMARY)
        return mcu

    return write
