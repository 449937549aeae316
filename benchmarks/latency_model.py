"""How well the device presets' latency figures reproduce published benchmarks.

    .venv/bin/python benchmarks/latency_model.py          # the table and the held-out error
    .venv/bin/python benchmarks/latency_model.py --fit    # figures fitted to the calibrate points

Reads benchmarks/latency_reference.yaml (models and published latencies, each with its source)
and the presets in specs/device/. For every point it predicts the latency with
edgeforge.cost.latency and prints the error; points marked `holdout` were not used to choose the
preset's figures, so their error is the honest measure of the model. `--fit` prints, per device
and runtime, the macs_per_cycle and op_overhead_us that best match the `calibrate` points (least
squares on log latency): those are the numbers copied into the presets.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgeforge.cost.latency import predict_latency_ms  # noqa: E402
from edgeforge.spec.device import Device  # noqa: E402
from edgeforge.spec.presets import load_preset  # noqa: E402

REFERENCE = Path(__file__).with_name("latency_reference.yaml")
HOLDOUT_TARGET_PCT = 35.0
OVERHEAD_GRID_US = [0.0] + [round(0.1 * 1.25**i, 3) for i in range(60)]  # 0.1 µs .. ~65 ms


def model_ops(model: dict, dtype: str) -> list[tuple[str, str, int, int]]:
    """An op list with the model's totals. The latency model is a sum of per-op terms, so one op
    carrying all the MACs, one carrying all zero-MAC output elements and padding ops for the
    remaining per-op overhead predict exactly what the full op list would."""
    padding = [("RESHAPE", dtype, 0, 0)] * (model["ops"] - 2)
    return [("CONV_2D", dtype, model["macs"], 0), ("RESHAPE", dtype, 0, model["zero_mac_outputs"]), *padding]


def board(point: dict, presets: dict[str, Device]) -> Device:
    device = presets[point["device"]]
    if "clock_mhz" in point:
        return device.model_copy(update={"clock_mhz": point["clock_mhz"]})
    return device


def predict(point: dict, models: dict, presets: dict[str, Device]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every op and dtype here must be known to the model
        return predict_latency_ms(model_ops(models[point["model"]], point["dtype"]), board(point, presets), point["runtime"])


def report(reference: dict, presets: dict[str, Device]) -> float:
    models = reference["models"]
    header = f"{'device':<22} {'runtime':<12} {'model':<24} {'dtype':<8} {'MACs':>9} {'published':>10} {'predicted':>10} {'error':>8}  role"
    print(header)
    print("-" * len(header))
    holdout_errors = []
    for point in reference["points"]:
        predicted = predict(point, models, presets)
        error = 100 * (predicted - point["ms"]) / point["ms"]
        if point["role"] == "holdout":
            holdout_errors.append(error)
        clock = f" @{point['clock_mhz']} MHz" if "clock_mhz" in point else ""
        print(
            f"{point['device']:<22} {point['runtime']:<12} {point['model']:<24} {point['dtype']:<8} "
            f"{models[point['model']]['macs'] / 1e6:>8.2f}M {point['ms']:>8.3f}ms {predicted:>8.3f}ms "
            f"{error:>+7.1f}%  {point['role']}{clock}"
        )
    worst = max(abs(e) for e in holdout_errors)
    mean_abs = statistics.mean(abs(e) for e in holdout_errors)
    within = sum(abs(e) <= HOLDOUT_TARGET_PCT for e in holdout_errors)
    print(
        f"\nheld-out points: {len(holdout_errors)}; mean |error| {mean_abs:.1f}%, worst {worst:.1f}%; "
        f"{within}/{len(holdout_errors)} within ±{HOLDOUT_TARGET_PCT:.0f}%"
    )
    return worst


def fit(reference: dict, presets: dict[str, Device]) -> None:
    """Per (device, runtime): the op overhead (grid) and per-dtype macs_per_cycle (closed form for
    each overhead: the geometric mean of what each point implies) minimising squared log error."""
    models = reference["models"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for point in reference["points"]:
        if point["role"] == "calibrate":
            groups.setdefault((point["device"], point["runtime"]), []).append(point)
    for (name, runtime), points in groups.items():
        # With no more points than dtypes the overhead is not identifiable: keep the preset's.
        identifiable = len(points) > len({p["dtype"] for p in points})
        grid = OVERHEAD_GRID_US if identifiable else [presets[name].throughput[runtime].op_overhead_us]
        best = None
        for overhead_us in grid:
            rates = _rates_for(points, models, presets, overhead_us)
            if rates is None:
                continue
            loss = sum(math.log(_latency(p, models, presets, rates, overhead_us) / p["ms"]) ** 2 for p in points)
            if best is None or loss < best[0] - 1e-12:
                best = (loss, overhead_us, rates)
        if best is None:
            print(f"{name} {runtime}: no consistent fit")
            continue
        _, overhead_us, rates = best
        figures = ", ".join(f"{dtype}: {rate:.4g}" for dtype, rate in sorted(rates.items()))
        kept = "" if identifiable else " (kept from preset)"
        print(f"{name:<22} {runtime:<12} macs_per_cycle {{{figures}}}  op_overhead_us {overhead_us:g}{kept}")


def _rates_for(points, models, presets, overhead_us) -> dict[str, float] | None:
    implied: dict[str, list[float]] = {}
    for p in points:
        model, device = models[p["model"]], board(p, presets)
        compute_ms = p["ms"] - model["ops"] * overhead_us / 1e3
        if compute_ms <= 0:
            return None
        work = model["macs"] + model["zero_mac_outputs"]
        implied.setdefault(p["dtype"], []).append(work / (compute_ms / 1e3 * device.clock_mhz * 1e6))
    return {dtype: statistics.geometric_mean(values) for dtype, values in implied.items()}


def _latency(point, models, presets, rates, overhead_us) -> float:
    model, device = models[point["model"]], board(point, presets)
    work = model["macs"] + model["zero_mac_outputs"]
    return work / (rates[point["dtype"]] * device.clock_mhz * 1e6) * 1e3 + model["ops"] * overhead_us / 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="print figures fitted to the calibrate points")
    args = parser.parse_args()
    reference = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    names = {point["device"] for point in reference["points"]}
    presets = {name: load_preset(name, ROOT / "specs") for name in sorted(names)}
    if args.fit:
        fit(reference, presets)
        return 0
    worst = report(reference, presets)
    return 0 if worst <= HOLDOUT_TARGET_PCT else 1


if __name__ == "__main__":
    sys.exit(main())
