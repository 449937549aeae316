"""Fit the latency model per core and runtime and regenerate the presets' throughput blocks.

    .venv/bin/python benchmarks/fit_latency.py            # the fitted figures, and what --write would change
    .venv/bin/python benchmarks/fit_latency.py --write    # rewrite throughput.<runtime> + its sources in specs/device/
    .venv/bin/python benchmarks/fit_latency.py --count    # recount the models of latency_reference.yaml

Reads benchmarks/latency_reference.yaml (groups, models, points; see its header) and fits each
group with edgeforge.cost.calibration: rates per op kind and dtype, bytes per cycle, per-op
cycles, the default MAC rate, derived dtypes, and the held-out error bar. Only `fit` points are
fitted; `held_out` points only measure the error. Every preset of a group gets the same per-cycle
figures; its per-op overhead in µs follows its own clock.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

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
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import numpy as np
    import tensorflow as tf
    import tf_keras

    from edgeforge.cost.graph import read_graph

    architecture, kwargs, dtype, described = BUILT[name]
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
    return _work_entry(calibration.model_work(name, read_graph(converter.convert())), f"{described}, converted to TFLite")


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
        fit = calibration.fit_group(name, fit_points, works, group["prior"])
        error, how = calibration.group_error(name, fit_points, held_out, works, group["prior"], fit)
        defaults = dict(fit.default_macs_per_cycle)
        for dtype, rule in group.get("derived", {}).items():
            defaults[dtype] = defaults[rule["from"]] * rule["factor"]
        results[name] = {
            "group": group, "fit": fit, "error": error, "error_how": how, "fit_points": fit_points,
            "held_out": held_out, "macs_per_cycle": defaults,
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
              f"error bar ±{result['error']:.0%} ({result['error_how']})")
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
    args = parser.parse_args()
    reference = calibration.load_reference(REFERENCE)
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
