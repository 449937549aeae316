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
MIN_WORK_PER_OP_SPAN = 3
OVERHEAD_GRID_US = [0.0] + [round(0.1 * 1.25**i, 3) for i in range(60)]  # 0.1 µs .. ~65 ms


def model_ops(model: dict, dtype: str) -> list[tuple[str, str, int, int]]:
    """An op list with the model's totals. The latency model is a sum of per-op terms, so one op
    carrying all the MACs, one carrying all zero-MAC output elements and padding ops for the
    remaining per-op overhead predict exactly what the full op list would."""
    padding = [("RESHAPE", dtype, 0, 0)] * (model["ops"] - 2)
    return [("CONV_2D", dtype, model["macs"], 0), ("RESHAPE", dtype, 0, model["zero_mac_outputs"]), *padding]


def board(point: dict, presets: dict[str, Device]) -> Device:
    """The preset, or the board the point was measured on: same core and kernels at another clock.
    Per-cycle figures carry over; the per-op overhead (µs at the preset's clock) scales with it."""
    device = presets[point["device"]]
    if "clock_mhz" not in point:
        return device
    scale = device.clock_mhz / point["clock_mhz"]
    throughput = {
        runtime: figures.model_copy(update={"op_overhead_us": figures.op_overhead_us * scale})
        for runtime, figures in device.throughput.items()
    }
    return device.model_copy(update={"clock_mhz": point["clock_mhz"], "throughput": throughput})


def overhead_ms(point: dict, model: dict, presets: dict[str, Device], overhead_us: float) -> float:
    """Per-op overhead of a whole model, `overhead_us` being given at the preset's clock."""
    scale = presets[point["device"]].clock_mhz / point.get("clock_mhz", presets[point["device"]].clock_mhz)
    return model["ops"] * overhead_us * scale / 1e3


def predict(point: dict, models: dict, presets: dict[str, Device]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every op and dtype here must be known to the model
        ops = model_ops(models[point["model"]], point["dtype"])
        return predict_latency_ms(ops, board(point, presets), point["runtime"])


def report(reference: dict, presets: dict[str, Device]) -> None:
    models = reference["models"]
    header = (
        f"{'device':<22} {'runtime':<12} {'model':<24} {'dtype':<8} {'MACs':>9} "
        f"{'published':>10} {'predicted':>10} {'error':>8}  role"
    )
    print(header)
    print("-" * len(header))
    holdout_errors, misses = [], []
    for point in reference["points"]:
        predicted = predict(point, models, presets)
        error = 100 * (predicted - point["ms"]) / point["ms"]
        if point["role"] == "holdout":
            holdout_errors.append(error)
            if abs(error) > HOLDOUT_TARGET_PCT:
                misses.append(f"{point['device']}/{point['runtime']}/{point['model']}/{point['dtype']} {error:+.0f}%")
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
        f"{within}/{len(holdout_errors)} within the ±{HOLDOUT_TARGET_PCT:.0f}% target"
    )
    if misses:
        print("outside the target: " + "; ".join(misses))


def fit(reference: dict, presets: dict[str, Device]) -> None:
    """Per (device, runtime): per-dtype macs_per_cycle (for a given overhead, the geometric mean of
    what each calibrate point implies), first with the preset's op_overhead_us kept, then with the
    overhead fitted too (grid search on squared log error) when the points can separate the two:
    their MACs per op must differ by MIN_WORK_PER_OP_SPAN or more."""
    models = reference["models"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for point in reference["points"]:
        if point["role"] == "calibrate":
            groups.setdefault((point["device"], point["runtime"]), []).append(point)
    for (name, runtime), points in groups.items():
        kept = presets[name].throughput[runtime].op_overhead_us
        fits = [("preset overhead", [kept])]
        work_per_op = [models[p["model"]]["macs"] / models[p["model"]]["ops"] for p in points]
        if max(work_per_op) >= MIN_WORK_PER_OP_SPAN * min(work_per_op):
            fits.append(("fitted overhead", OVERHEAD_GRID_US))
        for label, grid in fits:
            best = _best_fit(points, models, presets, grid)
            if best is None:
                print(f"{name:<22} {runtime:<12} {label}: no consistent fit")
                continue
            loss, overhead_us, rates = best
            figures = ", ".join(f"{dtype}: {rate:.4g}" for dtype, rate in sorted(rates.items()))
            rms = 100 * (math.exp(math.sqrt(loss / len(points))) - 1)
            print(f"{name:<22} {runtime:<12} {label:<16} macs_per_cycle {{{figures}}}  "
                  f"op_overhead_us {overhead_us:g}  (rms error {rms:.1f}%)")


def _best_fit(points, models, presets, grid):
    best = None
    for overhead_us in grid:
        rates = _rates_for(points, models, presets, overhead_us)
        if rates is None:
            continue
        loss = sum(math.log(_latency(p, models, presets, rates, overhead_us) / p["ms"]) ** 2 for p in points)
        if best is None or loss < best[0] - 1e-12:
            best = (loss, overhead_us, rates)
    return best


def _rates_for(points, models, presets, overhead_us) -> dict[str, float] | None:
    implied: dict[str, list[float]] = {}
    for p in points:
        model, device = models[p["model"]], board(p, presets)
        compute_ms = p["ms"] - overhead_ms(p, model, presets, overhead_us)
        if compute_ms <= 0:
            return None
        work = model["macs"] + model["zero_mac_outputs"]
        implied.setdefault(p["dtype"], []).append(work / (compute_ms / 1e3 * device.clock_mhz * 1e6))
    return {dtype: statistics.geometric_mean(values) for dtype, values in implied.items()}


def _latency(point, models, presets, rates, overhead_us) -> float:
    """The point's prediction by edgeforge.cost.latency, with trial figures in the preset."""
    device = presets[point["device"]]
    figures = device.throughput[point["runtime"]].model_copy(
        update={"macs_per_cycle": rates, "op_overhead_us": overhead_us}
    )
    trial = device.model_copy(update={"throughput": {**device.throughput, point["runtime"]: figures}})
    return predict(point, models, {**presets, point["device"]: trial})


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
    report(reference, presets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
