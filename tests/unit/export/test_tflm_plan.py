"""The exported .tflite and C array carry the selected model's offline memory plan, byte for byte,
and the header's arena size comes from the arena measured with that plan in place."""

from __future__ import annotations

import re

import numpy as np

from edgeforge.cost.arena import measure_arena
from edgeforge.export import ExportContext
from edgeforge.export.tflite import TfliteExporter
from edgeforge.export.tflm_c import TflmCExporter, arena_size_for
from edgeforge.memory import apply_memory_plan
from edgeforge.memory.writer import read_plan
from edgeforge.spec.models import Target
from edgeforge.spec.presets import load_preset
from tests.conftest import MLPERF_TINY, REPO

VWW_INT8 = MLPERF_TINY / "vww_96_int8.tflite"


def planned_context() -> tuple[ExportContext, bytes, int, int]:
    original = VWW_INT8.read_bytes()
    outcome = apply_memory_plan(original)
    planned = outcome.model_bytes
    target = Target(device=load_preset("stm32f746_disco", REPO / "specs"), runtime="tflite-micro", formats=["tflite", "tflm_c"])
    metrics = {"arena_bytes": outcome.shipped.total_bytes, "arena_default_bytes": outcome.default.total_bytes}
    context = ExportContext(
        target_name="mcu", target=target, candidate_config={"quantization": "int8"}, metrics=metrics,
        model_bytes=planned, selected_bytes=planned, representative_x=np.zeros((1, 96, 96, 3), np.float32),
    )
    return context, planned, outcome.shipped.total_bytes, outcome.default.total_bytes


def test_tflite_export_is_the_selected_planned_model_byte_for_byte(tmp_path):
    context, planned, _, _ = planned_context()
    context.model_bytes = VWW_INT8.read_bytes()  # even if the stage handed over the unplanned file

    (path,) = TfliteExporter().export(context, tmp_path)

    assert path.read_bytes() == planned and read_plan(planned) is not None


def test_tflm_c_array_holds_the_planned_model_and_the_header_its_measured_arena(tmp_path):
    context, planned, planned_arena, default_arena = planned_context()

    header_path, source_path = TflmCExporter().export(context, tmp_path)

    header, source = header_path.read_text(), source_path.read_text()
    assert f"constexpr size_t kTensorArenaSize = {arena_size_for(planned_arena)};" in header
    assert measure_arena(planned).total_bytes == planned_arena
    assert "offline memory plan" in header and f"Its own planner would need {default_arena} bytes" in header
    array = bytes(int(byte, 16) for byte in re.findall(r"0x([0-9a-f]{2})", source))
    assert array == planned
    assert TflmCExporter().runnable_bytes([header_path, source_path], context) == planned
