"""Each kind of bad spec gives a message naming the file, the key path and the fix."""

from __future__ import annotations

import pytest

from edgeforge.errors import SpecError
from edgeforge.spec import compose_spec


def problems_of(overrides=(), specs="specs") -> str:
    with pytest.raises(SpecError) as raised:
        compose_spec(specs, list(overrides))
    return str(raised.value)


def test_compose_spec_validates_repo_default(tmp_project):
    spec, _ = compose_spec("specs")
    assert set(spec.targets) == {"mcu", "sbc"}
    assert spec.targets["mcu"].device.name == "stm32f746_disco"


def test_misspelt_key_in_config_names_file_path_and_spelling(tmp_project):
    tmp_project.edit("specs/config.yaml", {"targets.mcu.constraints.ram_kbb": 64})
    message = problems_of()
    assert "specs/config.yaml: targets.mcu.constraints.ram_kbb: unknown key; did you mean 'ram_kb'?" in message


def test_misspelt_key_in_group_file_names_that_file(tmp_project):
    tmp_project.edit("specs/model/tiny_cnn.yaml", {"widht": 0.5})
    assert "specs/model/tiny_cnn.yaml: model.widht: unknown key; did you mean 'width'?" in problems_of()


def test_misspelt_key_in_device_preset_names_preset_file(tmp_project):
    tmp_project.edit("specs/device/stm32f746_disco.yaml", {"ram_kib": 320})
    message = problems_of()
    assert "specs/device/stm32f746_disco.yaml: targets.mcu.device.ram_kib: unknown key" in message
    assert "did you mean 'ram_kb'?" in message


def test_misspelt_override_key_suggests_spelling(tmp_project):
    message = problems_of(["targets.mcu.constraints.latncy_ms=3"])
    assert "command-line override: targets.mcu.constraints.latncy_ms: unknown key; did you mean 'latency_ms'?" in message


def test_unknown_preset_lists_presets_and_suggests_nearest(tmp_project):
    message = problems_of(["device@targets.mcu.device=stm32f746_disc"])
    assert "no preset 'stm32f746_disc'" in message
    assert "did you mean 'stm32f746_disco'?" in message
    assert "raspberry_pi_4" in message


def test_ram_constraint_above_device_ram(tmp_project):
    message = problems_of(["targets.mcu.constraints.ram_kb=4096"])
    assert "targets.mcu:" in message
    assert "constraints.ram_kb = 4096 exceeds what stm32f746_disco has (320); use at most 320" in message


def test_flash_constraint_above_device_flash(tmp_project):
    message = problems_of(["targets.mcu.constraints.flash_kb=99999"])
    assert "constraints.flash_kb = 99999 exceeds what stm32f746_disco has" in message


def test_runtime_the_device_lacks_lists_its_runtimes(tmp_project):
    message = problems_of(["targets.mcu.runtime=onnxruntime"])
    assert "targets.mcu: runtime 'onnxruntime' does not run on stm32f746_disco; choose one of: tflite-micro" in message


def test_format_no_runtime_of_the_device_loads(tmp_project):
    message = problems_of(["targets.mcu.formats=[tflite,coreml]"])
    assert "format 'coreml' cannot be loaded by any runtime of stm32f746_disco" in message


def test_unknown_runtime_name_suggests_nearest(tmp_project):
    message = problems_of(["targets.sbc.runtime=tflite_micro"])
    assert "targets.sbc.runtime: 'tflite_micro' is not valid; did you mean 'tflite-micro'?" in message


def test_unknown_objective_lists_choices(tmp_project):
    message = problems_of(["targets.sbc.objective=min_latncy"])
    assert "did you mean 'min_latency'?" in message
    assert "max_accuracy" in message


def test_sparsity_out_of_range(tmp_project):
    message = problems_of(["search.space.sparsity=[0.0,1.0]"])
    assert "search.space.sparsity: sparsity 1.0 is out of range; sparsity is in [0, 1)" in message


def test_width_out_of_range(tmp_project):
    message = problems_of(["search.space.width=[1.5]"])
    assert "search.space.width: width 1.5 is out of range; widths are in (0, 1]" in message


def test_non_positive_epochs(tmp_project):
    assert "greater than or equal to 0" in problems_of(["train.epochs=-1"])
    # 0 is for a trained model file (model.path): evaluate it, train nothing
    message = problems_of(["train.epochs=0"])
    assert "train.epochs: 0 trains nothing; it is for model.path" in message


def test_empty_search_space(tmp_project):
    message = problems_of(["search.space.quantization=[]"])
    assert "search.space.quantization:" in message
    assert "at least 1 item" in message


def test_qat_with_only_float_modes_is_rejected_with_reason(tmp_project):
    message = problems_of(["search.space.qat=[true]", "search.space.quantization=[float32]"])
    assert "search.space: no combination of the space is worth searching: qat with quantization 'float32' is pointless" in message
    assert "use quantization int8, or qat false" in message


def test_clusters_out_of_range(tmp_project):
    message = problems_of(["search.space.clusters=[0,1]"])
    assert "search.space.clusters: clusters 1 is out of range; use 0 (off) or 2..256" in message


def test_int8_only_device_asked_for_float(tmp_project):
    tmp_project.edit("specs/device/stm32f746_disco.yaml", {"int8_only": True})
    message = problems_of(["+targets.mcu.quantization=[float32,int8]"])
    assert "stm32f746_disco only runs int8 models but quantization asks for ['float32']; use quantization: [int8]" in message


def test_target_with_no_runnable_mode(tmp_project):
    message = problems_of(["search.space.quantization=[float16,dynamic]"])
    assert "targets.mcu: no quantization mode in search.space.quantization" in message
    assert "tflite-micro" in message


def test_avg_power_needs_inference_rate(tmp_project):
    message = problems_of(["+targets.mcu.constraints.avg_power_mw=5"])
    assert "avg_power_mw needs inference_hz" in message


def test_missing_required_section(tmp_project):
    config = (tmp_project / "specs/config.yaml").read_text().replace("train:\n", "trainer:\n")
    tmp_project.gen({"specs/config.yaml": config})
    message = problems_of()
    assert "specs/config.yaml: train: required key is missing" in message
    assert "trainer: unknown key; did you mean 'train'?" in message


def test_npz_dataset_without_path(tmp_project):
    message = problems_of(["dataset.name=npz"])
    assert "dataset: dataset 'npz' needs 'path'" in message


def test_missing_specs_directory_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from edgeforge.errors import UserError

    with pytest.raises(UserError, match="no config.yaml here"):
        compose_spec("specs")
