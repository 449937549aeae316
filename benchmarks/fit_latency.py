"""Fit the latency model per core and runtime and regenerate the presets' throughput blocks.

    .venv/bin/python benchmarks/fit_latency.py            # the fitted figures, and what --write would change
    .venv/bin/python benchmarks/fit_latency.py --write    # rewrite throughput.<runtime> + its sources in specs/device/
    .venv/bin/python benchmarks/fit_latency.py --count    # recount the models of latency_reference.yaml
    .venv/bin/python benchmarks/fit_latency.py --measure-host  # re-time every point of a preset that is this machine

Reads benchmarks/latency_reference.yaml (groups, models, points; see its header) and fits each
group with edgeforge.cost.calibration: rates per op kind and dtype, bytes per cycle, per-op
cycles, the default MAC rate, derived dtypes, and the held-out error bar. Only `fit` points are
fitted; `held_out` points only measure the error. Every preset of a group gets the same per-cycle
figures; its per-op overhead in µs follows its own clock.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgeforge.cost import calibration  # noqa: E402

REFERENCE = Path(__file__).with_name("latency_reference.yaml")
PRESETS = ROOT / "specs" / "device"
DIGITS = 3  # significant digits written to presets

# Models counted from files in this repository (the MLPerf Tiny reference models).
VENDORED = {
    "kws_int8": "examples/mlperf_tiny/kws_ref_model.tflite",
    "kws_float32": "examples/mlperf_tiny/kws_ref_model_float32.tflite",
    "vww_int8": "examples/mlperf_tiny/vww_96_int8.tflite",
    "vww_float32": "examples/mlperf_tiny/vww_96_float.tflite",
    "ic_int8": "examples/mlperf_tiny/pretrainedResnet_quant.tflite",
    "ic_float32": "examples/mlperf_tiny/pretrainedResnet.tflite",
    "ad_int8": "examples/mlperf_tiny/ad01_int8.tflite",
    "ad_float32": "examples/mlperf_tiny/ad01_fp32.tflite",
}
# Models rebuilt with tf_keras (random weights: the work does not depend on them) and converted.
BUILT = {
    "person_detect_int8": ("MobileNet", {"alpha": 0.25, "input_shape": (96, 96, 1), "classes": 2}, "int8",
                           "TFLM person_detection model (MobileNetV1-0.25, 96x96x1, 2 classes), rebuilt as tf_keras MobileNet"),
    "mobilenet_v2_030_80_int8": ("MobileNetV2", {"alpha": 0.3, "input_shape": (80, 80, 3)}, "int8",
                                 "tf_keras MobileNetV2(alpha=0.30, 80x80x3, 1000 classes)"),
    "mobilenet_v1_224_float32": ("MobileNet", {}, "float32", "tf_keras MobileNet(alpha=1.0, 224x224)"),
    "mobilenet_v1_224_int8": ("MobileNet", {}, "int8", "tf_keras MobileNet(alpha=1.0, 224x224), full-integer PTQ"),
    "mobilenet_v2_224_float32": ("MobileNetV2", {}, "float32", "tf_keras MobileNetV2(alpha=1.0, 224x224)"),
    "mobilenet_v2_224_int8": ("MobileNetV2", {}, "int8", "tf_keras MobileNetV2(alpha=1.0, 224x224), full-integer PTQ"),
    "mobilenet_v3_large_224_float32": ("MobileNetV3Large", {"include_preprocessing": False}, "float32",
                                       "tf_keras MobileNetV3Large(224x224, no preprocessing layers)"),
    "mobilenet_v3_small_224_float32": ("MobileNetV3Small", {"include_preprocessing": False}, "float32",
                                       "tf_keras MobileNetV3Small(224x224, no preprocessing layers)"),
    # measured on this machine only (x86_host): more shapes of work than the MLPerf Tiny models and MobileNets
    "mobilenet_v3_small_224_int8": ("MobileNetV3Small", {"include_preprocessing": False}, "int8",
                                    "tf_keras MobileNetV3Small(224x224, no preprocessing layers), full-integer PTQ"),
    "mobilenet_v3_large_224_int8": ("MobileNetV3Large", {"include_preprocessing": False}, "int8",
                                    "tf_keras MobileNetV3Large(224x224, no preprocessing layers), full-integer PTQ"),
    "mobilenet_v1_050_160_float32": ("MobileNet", {"alpha": 0.5, "input_shape": (160, 160, 3)}, "float32",
                                     "tf_keras MobileNet(alpha=0.5, 160x160)"),
    "mobilenet_v1_050_160_int8": ("MobileNet", {"alpha": 0.5, "input_shape": (160, 160, 3)}, "int8",
                                  "tf_keras MobileNet(alpha=0.5, 160x160), full-integer PTQ"),
    "resnet50v2_128_float32": ("ResNet50V2", {"input_shape": (128, 128, 3)}, "float32", "tf_keras ResNet50V2(128x128)"),
    "resnet50v2_128_int8": ("ResNet50V2", {"input_shape": (128, 128, 3)}, "int8", "tf_keras ResNet50V2(128x128), full-integer PTQ"),
    "efficientnet_b0_224_float32": ("EfficientNetB0", {}, "float32", "tf_keras EfficientNetB0(224x224)"),
    "efficientnet_b0_224_int8": ("EfficientNetB0", {}, "int8", "tf_keras EfficientNetB0(224x224), full-integer PTQ"),
    "nasnet_mobile_224_float32": ("NASNetMobile", {}, "float32", "tf_keras NASNetMobile(224x224)"),
    "nasnet_mobile_224_int8": ("NASNetMobile", {}, "int8", "tf_keras NASNetMobile(224x224), full-integer PTQ"),
}
# Models known only by their published totals: all their MACs counted as kxk convolutions.
TOTALS = {
    "yolov8n_640": (4_350_000_000, 168, "Ultralytics YOLOv8n summary (fused): 168 layers, 8.7 GFLOPs = 4.35 G MACs"),
    "yolov8s_640": (14_300_000_000, 168, "Ultralytics YOLOv8s summary (fused): 168 layers, 28.6 GFLOPs = 14.3 G MACs"),
    "yolov8m_640": (39_450_000_000, 218, "Ultralytics YOLOv8m summary (fused): 218 layers, 78.9 GFLOPs = 39.45 G MACs"),
}


# -- counting ------------------------------------------------------------------------------------
def count_vendored(name: str) -> dict:
    from edgeforge.cost.graph import read_graph

    path = VENDORED[name]
    return _work_entry(calibration.model_work(name, read_graph(ROOT / path)), f"{path} (MLPerf Tiny reference model)")


def count_built(name: str) -> dict:
    described = BUILT[name][3]
    return _work_entry(calibration.model_work(name, _read(build_tflite(name))), f"{described}, converted to TFLite")


def _read(model_bytes: bytes):
    from edgeforge.cost.graph import read_graph

    return read_graph(model_bytes)


@functools.cache
def build_tflite(name: str) -> bytes:
    """The .tflite bytes of a BUILT model (random weights: neither its work nor its speed depends on them)."""
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import numpy as np
    import tensorflow as tf
    import tf_keras

    architecture, kwargs, dtype, _ = BUILT[name]
    kwargs = {"input_shape": (224, 224, 3), **kwargs}
    model = getattr(tf_keras.applications, architecture)(weights=None, **kwargs)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if dtype == "int8":
        rng = np.random.default_rng(0)

        def representative():
            for _ in range(4):
                yield [rng.random((1, *kwargs["input_shape"]), dtype=np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


def count_totals(name: str, dtype: str) -> dict:
    macs, ops, described = TOTALS[name]
    return {"dtype": dtype, "ops": ops, "macs": {"conv": macs}, "memory_bytes": 0, "memory_elements": 0,
            "counted": f"{described}; published totals only (all MACs as conv, element-wise work not counted)"}


def _work_entry(work: calibration.ModelWork, counted: str) -> dict:
    return {"dtype": work.dtype, "ops": work.ops, "macs": dict(sorted(work.macs.items())),
            "memory_bytes": work.memory_bytes, "memory_elements": work.memory_elements, "counted": counted}


def count_models(reference: dict) -> dict:
    wanted = sorted({p["model"] for p in reference["points"]})
    models = {}
    for name in wanted:
        if name in VENDORED:
            models[name] = count_vendored(name)
        elif name in BUILT:
            models[name] = count_built(name)
        else:
            base, _, dtype = name.rpartition("_")
            models[name] = count_totals(base, dtype)
        print(f"counted {name}: {models[name]['macs']}", file=sys.stderr)
    return models


def write_models(models: dict) -> None:
    """Replace the `models:` section of the reference file, keeping everything else as written."""
    text = REFERENCE.read_text(encoding="utf-8")
    lines = ["models:"]
    for name, entry in models.items():
        macs = ", ".join(f"{kind}: {n}" for kind, n in entry["macs"].items())
        lines.append(
            f"  {name}: {{dtype: {entry['dtype']}, ops: {entry['ops']}, macs: {{{macs}}}, memory_bytes: {entry['memory_bytes']}, "
            f"memory_elements: {entry['memory_elements']},\n    counted: {json.dumps(entry['counted'])}}}"
        )
    block = "\n".join(lines) + "\n\n"
    start, end = text.index("\nmodels:") + 1, text.index("\npoints:") + 1
    REFERENCE.write_text(text[:start] + block + text[end:], encoding="utf-8")


# -- measuring on this machine -------------------------------------------------------------------
HOST_PRESET = "x86_host"
HOST_ROUNDS = 3  # the best median of this many rounds: other work on a shared build machine only slows a round


def measure_host(reference: dict) -> dict[int, tuple[float, str]]:
    """point index -> (latency_ms, source) for every point of the preset that is this machine, fit
    and held_out alike, timed the way a build times it (edgeforge.runtimes.timing.measure_latency:
    warm-up, repeats, median), one thread; ONNX Runtime runs the same .tflite through tf2onnx."""
    import platform

    from edgeforge.runtimes.onnx_runtime import inference_session
    from edgeforge.runtimes.timing import measure_latency

    cpu = _cpu_name()
    results = {}
    for index, point in enumerate(reference["points"]):
        if point.get("preset") != HOST_PRESET:
            continue
        if point["runtime"] == "tflite":
            invoke, version = _litert_invoke(_tflite(point["model"])), f"LiteRT (ai-edge-litert) {_version('ai-edge-litert')}"
        else:
            session = inference_session(_onnx(point["model"]))
            feeds = {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], _ONNX_TYPES[i.type]) for i in session.get_inputs()}
            invoke, version = (lambda s=session, f=feeds: s.run(None, f)), (
                f"onnxruntime {_version('onnxruntime')} CPU EP (the float .tflite through tf2onnx {_version('tf2onnx')} at opset 17; "
                "int8: edgeforge's static QDQ, uint8 activations, per-channel int8 weights, reduce_range)")
        medians = [measure_latency(invoke)["latency_ms"] for _ in range(HOST_ROUNDS)]
        results[index] = (float(f"{min(medians):.4g}"), f"measured for edgeforge (benchmarks/fit_latency.py --measure-host): {version}, 1 thread, "
                          f"{cpu} {platform.machine()}, best of {HOST_ROUNDS} medians of edgeforge.runtimes.timing.measure_latency")
        print(f"measured {point['runtime']:<12} {point['model']:<28} {results[index][0]:>8.4g} ms (was {point['latency_ms']:g})", file=sys.stderr)
    return results


_ONNX_TYPES = {"tensor(float)": "float32", "tensor(int8)": "int8", "tensor(uint8)": "uint8"}


def _litert_invoke(model_bytes: bytes):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes, num_threads=1)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
    return interpreter.invoke


def _tflite(name: str) -> bytes:
    return (ROOT / VENDORED[name]).read_bytes() if name in VENDORED else build_tflite(name)


def _onnx(name: str) -> bytes:
    """The ONNX model of a reference model as an edgeforge build makes it: the float graph through
    tf2onnx, and for int8 edgeforge's own static QDQ quantization (edgeforge/export/onnx.py),
    calibrated here on seeded uniform inputs (the speed does not depend on the ranges)."""
    import tempfile

    import tf2onnx

    from edgeforge.export.onnx import DEFAULT_OPSET, quantize_static_int8, serialize

    base, _, dtype = name.rpartition("_")
    with tempfile.TemporaryDirectory() as folder:
        tflite = Path(folder) / "model.tflite"
        tflite.write_bytes(_tflite(f"{base}_float32"))
        model, _ = tf2onnx.convert.from_tflite(str(tflite), opset=DEFAULT_OPSET)  # as a build exports
    if dtype == "float32":
        return model.SerializeToString()
    (graph_input,) = model.graph.input
    shape = [d.dim_value or 1 for d in graph_input.type.tensor_type.shape.dim]
    rng = np.random.default_rng(0)
    feeds = iter([{graph_input.name: rng.random(shape, dtype=np.float32)} for _ in range(8)])

    class Reader:
        def get_next(self):
            return next(feeds, None)

    return serialize(quantize_static_int8(model, None, reader=Reader()))


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def write_measurements(reference: dict, measured: dict[int, tuple[float, str]]) -> None:
    """Rewrite latency_ms and source of the measured points in the reference file, nothing else
    (a point's role is never touched)."""
    text = REFERENCE.read_text(encoding="utf-8")
    starts = [m.start() for m in re.finditer(r"^  - \{", text, flags=re.M)]
    assert len(starts) == len(reference["points"]), "one '  - {' line per point expected"
    pieces, last = [], 0
    for index, start in enumerate(starts):
        if index not in measured:
            continue
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        point = text[start:end]
        latency_ms, source = measured[index]
        point = re.sub(r"latency_ms: [0-9.eE+-]+,", f"latency_ms: {latency_ms:g},", point, count=1)
        point = re.sub(r'source: ".*?"\}', lambda _: f"source: {json.dumps(source)}}}", point, count=1, flags=re.S)
        pieces += [text[last:start], point]
        last = end
    REFERENCE.write_text("".join(pieces) + text[last:], encoding="utf-8")


# -- fitting -------------------------------------------------------------------------------------
def fit_all(reference: dict) -> dict[str, dict]:
    """Per group: its fit, error bar and the throughput figures its presets get (per-cycle parts)."""
    points = calibration.reference_points(reference)
    works = calibration.reference_works(reference)
    results = {}
    for name, group in reference["groups"].items():
        mine = [p for p in points if p.group == name and p.runtime == group["runtime"]]
        fit_points = [p for p in mine if p.role == "fit"]
        held_out = [p for p in mine if p.role == "held_out"]
        ridge = calibration.choose_ridge(name, fit_points, works, group["prior"])
        fit = calibration.fit_group(name, fit_points, works, group["prior"], ridge)
        error, how = calibration.group_error(name, fit_points, held_out, works, group["prior"], fit, ridge)
        defaults = dict(fit.default_macs_per_cycle)
        for dtype, rule in group.get("derived", {}).items():
            defaults[dtype] = defaults[rule["from"]] * rule["factor"]
        results[name] = {
            "group": group, "fit": fit, "error": error, "error_how": how, "fit_points": fit_points,
            "held_out": held_out, "macs_per_cycle": defaults, "ridge": ridge,
        }
    return results


def throughput_block(name: str, result: dict, clock_mhz: float) -> dict:
    """The throughput.<runtime> figures of one preset of the group (rounded as written)."""
    fit = result["fit"]
    block = {
        "calibration": name,
        "macs_per_cycle": {d: _round(r) for d, r in sorted(result["macs_per_cycle"].items(), key=_dtype_order)},
        "op_rates": {k: {d: _round(r) for d, r in sorted(rates.items(), key=_dtype_order)} for k, rates in fit.op_rates().items()},
        "bytes_per_cycle": {d: _round(r) for d, r in sorted(fit.bytes_per_cycle().items(), key=_dtype_order)},
        "op_overhead_us": _round(fit.op_cycles / clock_mhz),
        "latency_error": result["error"],
    }
    return block


def block_sources(name: str, result: dict, reference_points: int) -> dict[str, str]:
    group, fit = result["group"], result["fit"]
    fitted = f"fitted: benchmarks/latency_reference.yaml, {fit.points} point{'s' if fit.points != 1 else ''} ({group['kernels']} on {group['core']}, " \
             f"boards {', '.join(sorted({p.board for p in result['fit_points']}))})"
    if result["ridge"] != calibration.RIDGE:
        fitted += f", ridge {result['ridge']:g} chosen by leave-one-point-out"
    runtime = group["runtime"]
    sources = {
        f"throughput.{runtime}.op_rates": f"{fitted}; benchmarks/fit_latency.py",
        f"throughput.{runtime}.bytes_per_cycle": f"{fitted}; benchmarks/fit_latency.py",
    }
    if not fit.op_rates():
        sources.pop(f"throughput.{runtime}.op_rates")
    if not fit.bytes_per_cycle():
        sources.pop(f"throughput.{runtime}.bytes_per_cycle")
    sources |= {
        f"throughput.{runtime}.op_overhead_us": f"{fitted}; per-op cycles at this preset's clock",
        f"throughput.{runtime}.latency_error": (
            f"fitted: the |error| {int(calibration.ERROR_QUANTILE * 100)}% of this group's {result['error_how']} stay within; "
            "benchmarks/latency_model.py" if result["error"] != calibration.DEFAULT_ERROR or "default" not in result["error_how"]
            else f"ESTIMATE: {result['error_how']} (edgeforge/cost/calibration.py DEFAULT_ERROR)"
        ),
    }
    for dtype in result["macs_per_cycle"]:
        rule = group.get("derived", {}).get(dtype)
        key = f"throughput.{runtime}.macs_per_cycle.{dtype}"
        if rule:
            sources[key] = f"ESTIMATE: {rule['factor']:g} x the fitted {rule['from']} default rate; {rule['why']}"
        else:
            sources[key] = f"{fitted}; the MAC-weighted rate of the fitted op kinds (the default for kinds without one)"
    return sources


def preset_updates(reference: dict) -> dict[str, dict[str, tuple[dict, dict]]]:
    """preset -> runtime -> (throughput figures, sources) as --write would write them."""
    import yaml

    results = fit_all(reference)
    updates: dict[str, dict[str, tuple[dict, dict]]] = {}
    for name, result in results.items():
        for preset in result["group"]["presets"]:
            clock = yaml.safe_load((PRESETS / f"{preset}.yaml").read_text(encoding="utf-8"))["clock_mhz"]
            runtime = result["group"]["runtime"]
            updates.setdefault(preset, {})[runtime] = (
                throughput_block(name, result, clock), block_sources(name, result, len(reference["points"]))
            )
    return updates


def write_preset(preset: str, blocks: dict[str, tuple[dict, dict]]) -> bool:
    """Rewrite the given runtimes' throughput blocks and their sources in one preset file."""
    path = PRESETS / f"{preset}.yaml"
    text = path.read_text(encoding="utf-8")
    new = text
    for runtime, (figures, sources) in blocks.items():
        new = _replace_runtime_block(new, runtime, _render_block(runtime, figures))
        new = _replace_sources(new, runtime, sources)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def _render_block(runtime: str, figures: dict) -> str:
    def flow(mapping: dict) -> str:
        return "{" + ", ".join(f"{k}: {v:g}" for k, v in mapping.items()) + "}"

    lines = [f"  {runtime}:", f"    calibration: {figures['calibration']}", f"    macs_per_cycle: {flow(figures['macs_per_cycle'])}"]
    if figures["op_rates"]:
        lines.append("    op_rates:                   # MACs per cycle by op kind (fitted)")
        lines += [f"      {kind}: {flow(rates)}" for kind, rates in figures["op_rates"].items()]
    if figures["bytes_per_cycle"]:
        lines.append(f"    bytes_per_cycle: {flow(figures['bytes_per_cycle'])}")
    lines.append(f"    op_overhead_us: {figures['op_overhead_us']:g}")
    lines.append(f"    latency_error: {figures['latency_error']:g}")
    return "\n".join(lines) + "\n"


def _replace_runtime_block(text: str, runtime: str, block: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("throughput:"))
    i = start + 1
    while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
        if re.match(rf"  {re.escape(runtime)}:", lines[i]):
            j = i + 1
            while j < len(lines) and lines[j].startswith("    "):
                j += 1
            return "".join(lines[:i]) + block + "".join(lines[j:])
        i += 1
    raise ValueError(f"no throughput.{runtime} block to replace")


def _replace_sources(text: str, runtime: str, sources: dict[str, str]) -> str:
    import yaml

    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("sources:"))
    kept, first = [], None
    for i, line in enumerate(lines[start + 1 :], start + 1):
        key = line.strip().split(":", 1)[0]
        if key == f"throughput.{runtime}" or key.startswith(f"throughput.{runtime}."):
            first = len(kept) if first is None else first
            continue
        kept.append(line)
    rendered = [f"  {key}: {yaml.safe_dump(value, default_style=chr(34), width=10_000).strip()}\n" for key, value in sources.items()]
    first = len(kept) if first is None else first
    return "".join(lines[: start + 1]) + "".join(kept[:first] + rendered + kept[first:])


def _round(value: float) -> float:
    return float(f"{value:.{DIGITS}g}")


def _dtype_order(item) -> int:
    return ("int8", "int16", "float16", "float32").index(item[0])


def report(reference: dict) -> None:
    results = fit_all(reference)
    works = calibration.reference_works(reference)
    for name, result in results.items():
        fit = result["fit"]
        print(f"\n{name}: {len(result['fit_points'])} fit points, {len(result['held_out'])} held out; "
              f"error bar ±{result['error']:.0%} ({result['error_how']}); ridge {result['ridge']:g}")
        rates = ", ".join(f"{k}/{d} {1 / c:.4g}" for (k, d), c in sorted(fit.cycles.items()))
        print(f"  per cycle: {rates}; {fit.op_cycles:.0f} cycles per op")
        for p in result["fit_points"]:
            predicted = calibration.predict_point(p, fit, works)
            print(f"  fit   {p.board:<18} {p.model:<28} {p.latency_ms:>10.4g} ms  predicted {predicted:>10.4g} ms "
                  f"({calibration.relative_error(predicted, p.latency_ms):+.0%})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the presets' throughput blocks")
    parser.add_argument("--count", action="store_true", help="recount the models of the reference file")
    parser.add_argument("--measure-host", action="store_true",
                        help=f"re-time every point of {HOST_PRESET} (this machine) in its runtime and rewrite them")
    args = parser.parse_args()
    reference = calibration.load_reference(REFERENCE)
    if args.measure_host:
        write_measurements(reference, measure_host(reference))
        return 0
    if args.count:
        write_models(count_models(reference))
        return 0
    report(reference)
    updates = preset_updates(reference)
    if args.write:
        changed = [preset for preset, blocks in updates.items() if write_preset(preset, blocks)]
        print(f"\nrewrote {', '.join(changed) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
