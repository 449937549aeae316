"""An Ethos-U target in a real project: the default spec plus an `ethos-u` target, built by `dvc repro`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from edgeforge.cli import main
from tests.func.shell import run

pytestmark = pytest.mark.slow

NPU_TARGET = {
    "runtime": "ethos-u",
    "formats": ["ethos_u"],
    "constraints": {"ram_kb": 256, "flash_kb": 1024, "latency_ms": 5, "min_accuracy": 0.8},
    "objective": "min_latency",
}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def npu_project(tmp_path_factory) -> Path:
    """The default project with a small search, plus target `npu` on the Grove Vision AI V2 preset."""
    root = tmp_path_factory.mktemp("ethos_u") / "project"
    assert main(["init", str(root)]) == 0
    config_path = root / "specs/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["defaults"].insert(config["defaults"].index("_self_"), {"device@targets.npu.device": "grove_vision_ai_v2"})
    config["train"]["epochs"] = 6
    config["targets"]["mcu"]["constraints"].update(latency_ms=5, ram_kb=16)
    config["targets"]["npu"] = NPU_TARGET
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "specs/search/default.yaml").write_text("strategy: exhaustive\nspace:\n  quantization: [float32, int8]\n")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["compose"]) == 0
    finally:
        os.chdir(cwd)
    run("git", "add", "-A", cwd=root)
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=root)
    run(sys.executable, "-m", "dvc", "repro", cwd=root)
    return root


def test_ethos_u_target_selects_an_int8_candidate_costed_by_vela(npu_project):
    selected = read_json(npu_project / "build/targets/npu/selected.json")
    assert selected["candidate"]["config"]["quantization"] == "int8"
    metrics = selected["metrics"]
    assert metrics["arena_source"] == "vela"
    assert metrics["accuracy_runtime"] == "tflite-micro"  # the int8 model Vela compiled, in TFLite Micro
    assert 0 < metrics["latency_ms"] <= NPU_TARGET["constraints"]["latency_ms"]


def test_ethos_u_export_holds_the_vela_model_and_its_c_array_verified_by_structure(npu_project):
    export = npu_project / "build/targets/npu/export"
    vela_model = export / "model_vela.tflite"
    assert vela_model.read_bytes()[4:8] == b"TFL3"
    assert "AddEthosU" in (export / "ethos_u/model_data.h").read_text()
    assert f"g_model_len = {vela_model.stat().st_size};" in (export / "ethos_u/model_data.cc").read_text()
    entry = read_json(export / "parity.json")["ethos_u"]
    assert "needs an Ethos-U NPU" in entry["skipped"]
    assert entry["structure"]["ethos_u_ops"] >= 1 and entry["structure"]["signature_matches"]


def test_ethos_u_bundle_ships_the_vela_model(npu_project):
    manifest = read_json(npu_project / "build/targets/npu/bundle/manifest.json")
    assert manifest["runtime"] == "ethos-u"
    assert "model_vela.tflite" in json.dumps(manifest)
