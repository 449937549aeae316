"""The runtime registry: one entry per runtime says what it loads, runs and costs (edgeforge/runtimes)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import yaml

from edgeforge.errors import SpecError, UserError
from edgeforge.runtimes import RUNTIMES, get_runtime, runtime_for_format
from edgeforge.spec.presets import load_preset
from tests.conftest import REPO

NAMES = list(RUNTIMES)
MCU_PRESET = "stm32f746_disco"  # lists only tflite-micro, with its throughput figures


@pytest.mark.parametrize("name", NAMES)
def test_runtime_declares_what_it_loads_and_runs(name):
    from edgeforge.passes.ptq import QUANT_MODES

    runtime = RUNTIMES[name]
    assert runtime.name == name
    assert runtime.formats, f"{name}: no formats"
    assert runtime.quantization_modes, f"{name}: no quantization modes"
    assert set(runtime.quantization_modes) <= set(QUANT_MODES), f"{name}: modes the ptq pass cannot produce"


@pytest.mark.parametrize("name", NAMES)
def test_runtime_code_sizes_have_a_default_and_a_source(name):
    code_sizes = RUNTIMES[name].code_sizes
    assert "*" in code_sizes, f"{name}: no '*' code size for other instruction sets"
    for arch, size in code_sizes.items():
        assert size.source, f"{name}: code size for {arch} has no source"
        assert size.base_bytes >= 0 and size.kernel_bytes >= 0


@pytest.mark.parametrize("name", NAMES)
def test_runtime_accuracy_proxy_is_a_registered_runtime_that_runs_here_when_set(name):
    runtime = RUNTIMES[name]
    if runtime.runs_here():
        assert runtime.accuracy_proxy is None or runtime.accuracy_proxy in RUNTIMES
        return
    proxy = runtime.accuracy_proxy
    assert proxy in RUNTIMES, f"{name} cannot run here and names no registered accuracy proxy ({proxy!r})"
    assert RUNTIMES[proxy].runs_here(), f"{name}'s accuracy proxy {proxy} cannot run here either"


def test_runtime_for_format_picks_the_runtime_that_runs_the_file():
    assert runtime_for_format("tflite").name == "tflite"
    assert runtime_for_format("onnx").name == "onnxruntime"


def test_runtime_for_format_is_none_when_only_a_device_runs_it():
    assert runtime_for_format("tensorrt") is None
    if sys.platform != "darwin":
        assert runtime_for_format("coreml") is None


def test_get_runtime_lists_the_runtimes_when_the_name_is_unknown():
    with pytest.raises(UserError) as raised:
        get_runtime("nope")
    message = str(raised.value)
    assert "unknown runtime 'nope'" in message
    assert all(name in message for name in NAMES)


def test_runtime_code_bytes_counts_each_op_type_once():
    tflm = get_runtime("tflite-micro")
    sizes = tflm.code_sizes["*"]
    assert tflm.code_bytes([], "armv7e-m") == sizes.base_bytes
    assert tflm.code_bytes(["RESHAPE", "RESHAPE"], "armv7e-m") == sizes.base_bytes + sizes.kernel_bytes
    # Cortex-M0+ (armv6-m) has no optimized kernels: CONV_2D costs a reference kernel there.
    armv6m = tflm.code_sizes["armv6-m"]
    assert tflm.code_bytes(["CONV_2D"], "armv6-m") == armv6m.base_bytes + armv6m.kernel_bytes
    assert tflm.code_bytes(["CONV_2D"], "armv7e-m") == sizes.base_bytes + sizes.optimized_kernel_bytes


@pytest.mark.parametrize("name", [name for name in NAMES if RUNTIMES[name].needs_throughput and name != "tflite-micro"])
def test_device_preset_is_rejected_when_a_runtime_has_no_throughput_figures(tmp_path, name):
    preset = yaml.safe_load((REPO / "specs" / "device" / f"{MCU_PRESET}.yaml").read_text())
    preset["runtimes"] = [*preset["runtimes"], name]
    (tmp_path / "device").mkdir()
    (tmp_path / "device" / f"{MCU_PRESET}.yaml").write_text(yaml.safe_dump(preset))
    with pytest.raises(SpecError) as raised:
        load_preset(MCU_PRESET, tmp_path)
    assert f"runtime {name} has no throughput figures; add throughput.{name}" in str(raised.value)


def test_device_preset_with_every_runtime_figure_loads(tmp_path):
    assert load_preset(MCU_PRESET, REPO / "specs").runtimes == ["tflite-micro"]


@pytest.fixture(scope="module")
def int8_mlp(digits):
    """A small mlp, briefly trained on digits and fully int8-quantized by the ptq pass."""
    from edgeforge.models import build_model
    from edgeforge.models.training import compile_classifier
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.tfcompat import seed_everything

    seed_everything(0)
    model = build_model("mlp", digits.input_shape, digits.num_classes, width=0.25)
    compile_classifier(model, learning_rate=0.01)
    model.fit(digits.x_train, digits.y_train, epochs=3, batch_size=64, verbose=0)
    return PostTrainingQuantization({"mode": "int8"}).convert(model, digits.x_train)


@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs were expected")  # the TF converter's
def test_litert_and_tflite_micro_predict_the_same_scores_for_an_int8_model(int8_mlp, digits):
    x = digits.x_test[:64]
    litert = get_runtime("tflite").predict(int8_mlp, x)
    tflm = get_runtime("tflite-micro").predict(int8_mlp, x)
    assert litert.shape == tflm.shape == (len(x), digits.num_classes)
    output_step = 1 / 256  # int8 softmax output: scale 1/256
    assert np.abs(litert - tflm).max() <= output_step + 1e-6
    assert (litert.argmax(axis=1) == tflm.argmax(axis=1)).mean() >= 0.95
