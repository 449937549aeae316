"""The Ethos-U runtime: Vela's compilation, its costs, CPU fallback, bad input and the ethos_u export."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from edgeforge.cli import main
from edgeforge.errors import BuildError, ExportError, SpecError, UserError
from edgeforge.export import EXPORTERS, ExportContext
from edgeforge.runtimes import RUNTIMES, NotRunnableHere
from edgeforge.runtimes.ethos_u import (
    EthosUExporter,
    EthosUSettings,
    _compiled,
    _cycles_per_op,
    compile_for_npu,
    vela_config_text,
)
from edgeforge.spec.presets import load_preset
from tests.conftest import MLPERF_TINY, REPO

VWW_INT8 = MLPERF_TINY / "vww_96_int8.tflite"
VWW_FLOAT = MLPERF_TINY / "vww_96_float.tflite"
PRESETS = ["grove_vision_ai_v2", "alif_ensemble_e7_hp"]
SPECS = REPO / "specs"


def preset(name: str):
    return load_preset(name, SPECS)


def profile(model, device_name: str) -> dict:
    from edgeforge.cost.profile import profile_model

    return profile_model(model, preset(device_name), "ethos-u")


@pytest.fixture(scope="module")
def depth_to_space_int8() -> bytes:
    """A small int8 model with DEPTH_TO_SPACE, which Vela cannot map to an Ethos-U55."""
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.tfcompat import import_tf, seed_everything

    tf, keras = import_tf()
    seed_everything(0)
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Lambda(lambda t: tf.nn.depth_to_space(t, 2))(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(x)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))
    samples = np.random.default_rng(0).normal(size=(32, 8, 8, 4)).astype(np.float32)
    return PostTrainingQuantization({"mode": "int8"}).convert(keras.Model(inputs, outputs), samples)


# --- registry and presets -------------------------------------------------------------------------


def test_ethos_u_is_registered_with_its_exporter_and_measures_accuracy_in_tflite_micro():
    runtime = RUNTIMES["ethos-u"]
    assert runtime.formats == ("ethos_u",) and runtime.quantization_modes == ("int8",)
    assert EXPORTERS["ethos_u"] is EthosUExporter
    assert not runtime.runs_here() and runtime.accuracy_proxy == "tflite-micro"


@pytest.mark.parametrize("name", PRESETS)
def test_ethos_u_preset_lists_the_npu_first_and_the_cpu_runtime_second(name):
    device = preset(name)
    assert device.runtimes == ["ethos-u", "tflite-micro"]
    settings = RUNTIMES["ethos-u"].device_settings(device)
    assert settings.accelerator_config.startswith("ethos-u55-") and settings.npu_clock_mhz > 0


def write_preset(tmp_path, name: str, edit) -> None:
    data = yaml.safe_load((SPECS / "device" / f"{name}.yaml").read_text())
    edit(data)
    (tmp_path / "device").mkdir(exist_ok=True)
    (tmp_path / "device" / f"{name}.yaml").write_text(yaml.safe_dump(data))


def test_ethos_u_preset_without_npu_settings_is_rejected(tmp_path):
    write_preset(tmp_path, "grove_vision_ai_v2", lambda data: data["runtime_settings"]["ethos-u"].pop("accelerator_config"))
    with pytest.raises(SpecError, match=r"runtime_settings\.ethos-u\.accelerator_config: Field required"):
        load_preset("grove_vision_ai_v2", tmp_path)


def test_ethos_u_preset_without_cpu_figures_is_rejected(tmp_path):
    def drop_cpu(data):
        data["runtimes"] = ["ethos-u"]
        data["throughput"] = {}
        data["sources"] = {k: v for k, v in data["sources"].items() if not k.startswith("throughput")}

    write_preset(tmp_path, "grove_vision_ai_v2", drop_cpu)
    with pytest.raises(SpecError, match="prices the operators Vela leaves to the CPU with throughput.tflite-micro"):
        load_preset("grove_vision_ai_v2", tmp_path)


def test_settings_name_vela_sections_that_exist_and_leave_the_clock_to_npu_clock_mhz():
    with pytest.raises(ValidationError, match="not a System_Config of Vela's Arm/vela.ini; choose one of .*Ethos_U55_High_End_Embedded"):
        EthosUSettings(accelerator_config="ethos-u55-128", npu_clock_mhz=400, system_config="Ethos_U99")
    with pytest.raises(ValidationError, match="core_clock comes from npu_clock_mhz"):
        EthosUSettings(accelerator_config="ethos-u55-128", npu_clock_mhz=400, system_config={"core_clock": 5e8})


def test_vela_config_resolves_inherited_sections_and_takes_the_npu_clock():
    settings = EthosUSettings(accelerator_config="ethos-u65-256", npu_clock_mhz=250, system_config="Ethos_U65_Mid_End",
                              memory_mode="Dedicated_Sram_256KB")
    text = vela_config_text(settings)
    assert "[System_Config.edgeforge]" in text and "[Memory_Mode.edgeforge]" in text
    assert "core_clock=250000000" in text and "core_clock=500e6" not in text
    assert "Dram_clock_scale=0.46875" in text  # key spelling kept
    assert "arena_cache_size=262144" in text and "const_mem_area=Axi1" in text  # own key + inherited ones
    assert "inherit" not in text


def test_float_quantization_for_an_ethos_u_target_is_rejected_at_validation():
    from edgeforge.spec.models import Target

    with pytest.raises(ValidationError, match="runtime 'ethos-u' does not run float32 models; it runs int8"):
        Target(device=preset("grove_vision_ai_v2"), runtime="ethos-u", formats=["ethos_u"], quantization=["float32"])


# --- compiling and costs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_profile_takes_latency_and_sram_from_vela_cycles(name):
    result = profile(VWW_INT8, name)
    npu = result["npu"]
    device = preset(name)
    settings = RUNTIMES["ethos-u"].device_settings(device)
    expected_ms = npu["cycles_total"] / (settings.npu_clock_mhz * 1e3) + device.throughput["tflite-micro"].op_overhead_us / 1e3
    assert result["latency_ms"] == pytest.approx(expected_ms, rel=1e-5)
    assert result["arena_source"] == "vela" and result["arena_bytes"] == npu["sram_bytes"] > 0
    assert result["flash_bytes"] == npu["vela_model_bytes"] + npu["code_bytes"]
    assert result["cpu_ops"] == [] and npu["npu_subgraphs"] == 1
    assert npu["accelerator_config"] == settings.accelerator_config
    # one row per operator of the int8 model, Vela's per-layer cycles attributed to them
    assert [op["index"] for op in result["ops"]] == list(range(len(result["ops"])))
    assert {op["target"] for op in result["ops"]} == {"npu"}
    assert sum(op["npu_cycles"] for op in result["ops"]) == npu["cycles_total"]
    assert any("int8 numerics" in note for note in result["notes"])


def test_a_smaller_npu_takes_more_cycles_for_the_same_model():
    small, large = profile(VWW_INT8, "grove_vision_ai_v2"), profile(VWW_INT8, "alif_ensemble_e7_hp")
    assert small["npu"]["accelerator_config"] == "ethos-u55-64" and large["npu"]["accelerator_config"] == "ethos-u55-256"
    assert small["npu"]["cycles_total"] > large["npu"]["cycles_total"]


def test_vela_output_is_deterministic_and_compilations_are_cached():
    settings = RUNTIMES["ethos-u"].device_settings(preset("grove_vision_ai_v2"))
    model = VWW_INT8.read_bytes()
    first = compile_for_npu(model, settings)
    assert compile_for_npu(model, settings) is first  # cached in this process
    _compiled.clear()
    again = compile_for_npu(model, settings)
    assert again is not first and again.model_bytes == first.model_bytes and again.summary == first.summary


def test_device_costs_are_json_ready_for_the_memo():
    costs = RUNTIMES["ethos-u"].device_costs(VWW_INT8.read_bytes(), preset("alif_ensemble_e7_hp"))
    assert json.loads(json.dumps(costs)) == costs


def test_ops_vela_cannot_map_fall_back_to_the_cpu_and_are_listed(depth_to_space_int8):
    result = profile(depth_to_space_int8, "alif_ensemble_e7_hp")
    [fallback] = result["cpu_ops"]
    assert fallback["type"] == "DEPTH_TO_SPACE" and fallback["latency_ms"] > 0 and fallback["reason"]
    placed = {op["type"]: op["target"] for op in result["ops"]}
    assert placed["DEPTH_TO_SPACE"] == "cpu" and placed["CONV_2D"] == "npu"
    npu = result["npu"]
    assert npu["npu_subgraphs"] == 2 and npu["cpu_ops"] == 1
    dispatch_ms = 2 * preset("alif_ensemble_e7_hp").throughput["tflite-micro"].op_overhead_us / 1e3
    assert result["latency_ms"] == pytest.approx(npu["npu_latency_ms"] + fallback["latency_ms"] + dispatch_ms, abs=1e-5)


def test_profile_table_shows_where_ops_run_the_cpu_fallback_and_the_int8_note(tmp_project, capsys, depth_to_space_int8):
    model = tmp_project / "depth_to_space_int8.tflite"
    model.write_bytes(depth_to_space_int8)
    assert main(["profile", str(model), "--device", "alif_ensemble_e7_hp"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "arena RAM (vela)" in out and "NPU cycles" in out
    assert "CPU fallback: 1 operator(s) the accelerator cannot run: DEPTH_TO_SPACE #1" in out
    assert "Vela maps int8 TFLite operators to the NPU without changing their int8 numerics" in out


def test_profile_json_of_vww_on_an_ethos_u_preset(tmp_project, capsys):
    assert main(["profile", str(VWW_INT8), "--device", "grove_vision_ai_v2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["runtime"] == "ethos-u" and result["arena_source"] == "vela"
    assert result["fits"]["ram_kb"]["ok"] and result["npu"]["cycles_total"] > 0


def test_profile_of_a_float_model_on_an_ethos_u_device_is_a_user_error(tmp_project, capsys):
    assert main(["profile", str(VWW_FLOAT), "--device", "grove_vision_ai_v2"]) == 2
    err = capsys.readouterr().err
    assert "runtime ethos-u cannot run this model: CONV_2D #0 computes in float32" in err
    assert "int8" in err and "Traceback" not in err
    with pytest.raises(UserError):
        profile(VWW_FLOAT, "grove_vision_ai_v2")


def test_the_same_float_model_profiles_on_the_devices_cpu_runtime(tmp_project, capsys):
    assert main(["profile", str(VWW_FLOAT), "--device", "grove_vision_ai_v2", "--runtime", "tflite-micro", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arena_source"] == "measured"


def test_a_model_vela_cannot_read_is_a_build_error():
    settings = RUNTIMES["ethos-u"].device_settings(preset("grove_vision_ai_v2"))
    with pytest.raises(BuildError, match="Vela could not compile the model for ethos-u55-64"):
        compile_for_npu(VWW_INT8.read_bytes()[:4096], settings)


def test_npu_cycles_go_to_the_operator_whose_output_the_layers_write():
    layers = [
        {"Name": "conv", "Op Cycles": "100"},
        {"Name": "conv", "Op Cycles": "0"},  # its fused activation
        {"Name": "fc_softmax_0", "Op Cycles": "7"},  # a softmax lowered to several layers
        {"Name": "fc_softmax_1", "Op Cycles": "5"},
        {"Name": "probabilities", "Op Cycles": "3"},
    ]
    assert _cycles_per_op(layers, {"conv": 0, "fc": 1, "probabilities": 2}) == {0: 100, 2: 15}


# --- export -----------------------------------------------------------------------------------


def export_context(model_bytes: bytes, device_name: str = "grove_vision_ai_v2", runtime: str = "ethos-u") -> ExportContext:
    from edgeforge.spec.models import Target

    formats = ["ethos_u"] if runtime == "ethos-u" else ["tflm_c"]
    return ExportContext(
        target_name="npu",
        target=Target(device=preset(device_name), runtime=runtime, formats=formats),
        candidate_config={"width": 1.0, "sparsity": 0.0, "clusters": 0, "qat": False, "quantization": "int8"},
        metrics={},
        model_bytes=model_bytes,
        representative_x=np.zeros((1, 96, 96, 3), np.float32),
    )


def digests(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_exporter_writes_the_vela_model_and_its_c_array_and_nothing_else(tmp_path):
    context = export_context(VWW_INT8.read_bytes())
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    paths = EthosUExporter().export(context, tmp_path / "a")
    assert [p.relative_to(tmp_path / "a").as_posix() for p in paths] == ["model_vela.tflite", "ethos_u/model_data.h", "ethos_u/model_data.cc"]
    assert sorted(digests(tmp_path / "a")) == sorted(p.relative_to(tmp_path / "a").as_posix() for p in paths)
    vela = paths[0].read_bytes()
    settings = RUNTIMES["ethos-u"].device_settings(context.target.device)
    assert vela == compile_for_npu(VWW_INT8.read_bytes(), settings).model_bytes
    header, source = paths[1].read_text(), paths[2].read_text()
    assert "resolver.AddEthosU()" in header and "kTensorArenaSize" in header and "by Vela" in header
    assert f"g_model_len = {len(vela)};" in source
    EthosUExporter().export(context, tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_exported_vela_model_is_verified_by_structure_not_run(tmp_path):
    context = export_context(VWW_INT8.read_bytes())
    paths = EthosUExporter().export(context, tmp_path)
    with pytest.raises(NotRunnableHere, match="needs an Ethos-U NPU"):
        EthosUExporter().runner(paths, context)
    structure = EthosUExporter().structure(paths, context)["structure"]
    assert structure == {"ethos_u_ops": 1, "cpu_ops": [], "signature_matches": True, "bytes": paths[0].stat().st_size}


def test_exporter_refuses_a_float_model_and_a_device_without_an_npu(tmp_path):
    with pytest.raises(ExportError, match="computes in float32"):
        EthosUExporter().export(export_context(VWW_FLOAT.read_bytes()), tmp_path)
    with pytest.raises(ExportError, match="needs a device with the ethos-u runtime"):
        EthosUExporter().export(export_context(VWW_INT8.read_bytes(), "stm32f746_disco", "tflite-micro"), tmp_path)
