"""A hand-written build/ of two targets: mcu chose int8_fast, sbc has no feasible candidate.

`write_build()` stops after export (no parity, no bundle); `finish_mcu(root)` adds what export and
package write besides exports.json: the exported files, parity.json and the bundle manifest."""

from __future__ import annotations

import hashlib

import pytest

from edgeforge.atomic import write_json
from edgeforge.layout import BUILD, Layout
from edgeforge.outputs import Manifest, TargetSearch, write_output
from tests.fake_build import target_search, write_target

MCU_LIMITS = {"ram_kb": 64, "latency_ms": 3, "min_accuracy": 0.9}
SBC_LIMITS = {"latency_ms": 1}
SUMMARY = {"space_size": 4, "evaluated": 3, "trained": 2, "converted": 3, "measured": 3, "memo_hits": 1}
EXPORTED = {"model.tflite": b"tflite bytes", "tflm/model_data.cc": b"const unsigned char g_model[] = {};\n",
            "tflm/model_data.h": b"#pragma once\n"}
PARITY = {
    "tflite": {"accuracy": 0.95, "check": None, "max_abs_diff": 0.02, "reference": "keras", "reference_accuracy": 0.96,
               "samples": 360, "top1_agreement": 0.997},
    "tflm_c": {"accuracy": 0.95, "check": {"max": 0.01, "metric": "accuracy_drop"}, "max_abs_diff": 0.01,
               "reference": "tflite", "reference_accuracy": 0.95, "samples": 360, "top1_agreement": 1.0},
}


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


def finish_mcu(root, parity: bool = True, bundle: bool = True) -> None:
    """The exported files of mcu, its parity.json and its bundle manifest, as export and package write them."""
    layout = Layout(root)
    for name, data in EXPORTED.items():
        path = layout.export_dir("mcu") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if parity:
        write_json(layout.parity("mcu"), PARITY)
    if bundle:
        files = {name.split("/")[-1]: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                 for name, data in EXPORTED.items()}
        write_output(layout.manifest("mcu"), Manifest(
            schema_version=1, project="digits-demo", target="mcu", device="stm32f746_disco", runtime="tflite-micro",
            format="tflite", model_file="model.tflite", model_sha256=files["model.tflite"]["sha256"],
            candidate={"id": "int8_fast"}, metrics={}, spec_hash="0" * 64, edgeforge_version="0.1.0", files=files,
            canary="canary.npz", drift_reference={},
        ))
