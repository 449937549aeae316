"""How well the presets' latency figures reproduce measurements they were, and were not, fitted on.

    .venv/bin/python benchmarks/latency_model.py           # per point, then per core/runtime
    .venv/bin/python benchmarks/latency_model.py --json    # the same as JSON
    .venv/bin/python benchmarks/latency_model.py --mlperf  # MLPerf Tiny models on every preset, beside published figures

Reads benchmarks/latency_reference.yaml and the presets in specs/device/. Every point is predicted
by edgeforge.cost.latency with the figures of its group's preset, evaluated at the clock of the
board measured. Per core and runtime it prints the fit error, the leave-one-board-out error (each
board predicted by a refit without it), the leave-one-point-out error (each fit point predicted by
a refit without it: the model-selection figure of a single-board group) and the held-out error (points never fitted: MLPerf Tiny
v0.5 and others), against the acceptance target: at least 90% of held-out points within ±25% and
mean |error| at most 15%, for every core/runtime with at least three held-out points. Energy is
checked the same way where a point publishes energy per inference and its board is a preset.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgeforge.cost import calibration  # noqa: E402
from edgeforge.spec.presets import load_preset  # noqa: E402

REFERENCE = Path(__file__).with_name("latency_reference.yaml")
WITHIN_PCT = 25.0
SHARE_WITHIN = 0.9
MEAN_PCT = 15.0
MLPERF = {"kws": "keyword spotting (DS-CNN)", "vww": "visual wake words (MobileNetV1-0.25)",
          "ic": "image classification (ResNet-8)", "ad": "anomaly detection (FC autoencoder)"}


def evaluate(reference: dict) -> dict:
    points = calibration.reference_points(reference)
    works = calibration.reference_works(reference)
    raw = {p["source"] + p["model"] + p["board"]: p for p in reference["points"]}
    rows, groups = [], {}
    for name, group in reference["groups"].items():
        device = load_preset(group["presets"][0], ROOT / "specs")
        mine = [p for p in points if p.group == name]
        fit_points = [p for p in mine if p.role == "fit" and p.runtime == group["runtime"]]
        summary = {"core": group["core"], "runtime": group["runtime"], "kernels": group["kernels"],
                   "presets": group["presets"], "latency_error": device.throughput[group["runtime"]].latency_error}
        errors: dict[str, list[float]] = {"fit": [], "held_out": []}
        energy_errors = []
        for p in mine:
            scored = p.runtime == group["runtime"] and works[p.model].dtype in device.throughput[p.runtime].macs_per_cycle
            predicted = _predict(p, device, works) if scored else None
            error = calibration.relative_error(predicted, p.latency_ms) if predicted is not None else None
            row = {"group": name, "board": p.board, "runtime": p.runtime, "model": p.model, "role": p.role,
                   "clock_mhz": p.clock_mhz, "published_ms": p.latency_ms, "predicted_ms": predicted,
                   "error_pct": None if error is None else round(100 * error, 1), "source": p.source}
            preset = raw[p.source + p.model + p.board].get("preset")
            if p.energy_uj and preset and predicted is not None:
                power_mw = load_preset(preset, ROOT / "specs").power.active_mw
                row["published_energy_uj"] = p.energy_uj
                row["predicted_energy_uj"] = round(predicted * power_mw, 3)
                row["energy_error_pct"] = round(100 * calibration.relative_error(predicted * power_mw, p.energy_uj), 1)
                if p.role == "held_out":
                    energy_errors.append(row["energy_error_pct"] / 100)
            rows.append(row)
            if error is not None and p.role in errors:
                errors[p.role].append(error)
        ridge = calibration.choose_ridge(name, fit_points, works, group["prior"])
        lobo = calibration.leave_one_board_out(name, fit_points, works, group["prior"], ridge)
        summary["ridge"] = ridge
        summary["fit"] = _stats(errors["fit"])
        summary["leave_one_board_out"] = _stats([e for _, e in lobo])
        summary["leave_one_point_out"] = _stats([e for _, e in calibration.leave_one_point_out(name, fit_points, works, group["prior"], ridge)])
        summary["held_out"] = _stats(errors["held_out"])
        summary["held_out_energy"] = _stats(energy_errors)
        held = summary["held_out"]
        if held["n"] >= 3:
            summary["meets_target"] = held["share_within_25pct"] >= SHARE_WITHIN and held["mean_abs_pct"] <= MEAN_PCT
        groups[name] = summary
    return {"points": rows, "groups": groups}


def mlperf_table(reference: dict) -> list[dict]:
    """The MLPerf Tiny reference models predicted on every preset and runtime with throughput
    figures, beside any published figure for that board and runtime."""
    from edgeforge.spec.presets import preset_names

    works = calibration.reference_works(reference)
    published: dict[tuple[str, str, str], list[str]] = {}
    for p in reference["points"]:
        if p.get("preset"):
            published.setdefault((p["preset"], p["runtime"], p["model"]), []).append(
                f"{p['latency_ms']:g} ms ({p['role']}; {p['source'].split(':')[0]})"
            )
    rows = []
    for name in preset_names(ROOT / "specs"):
        device = load_preset(name, ROOT / "specs")
        for runtime, figures in device.throughput.items():
            for model in MLPERF:
                for dtype in ("int8", "float32"):
                    key = f"{model}_{dtype}"
                    if key not in works or dtype not in figures.macs_per_cycle:
                        continue
                    point = calibration.Point("", runtime, "", name, key, 1.0, device.clock_mhz, "")
                    rows.append({"preset": name, "runtime": runtime, "model": key, "predicted_ms": round(_predict(point, device, works), 4),
                                 "latency_error": figures.latency_error, "published": published.get((name, runtime, key), [])})
    return rows


def _predict(point, device, works) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every op and dtype of a reference model must be known
        return calibration.predict_point(point, device, works)


def _stats(errors: list[float]) -> dict:
    if not errors:
        return {"n": 0}
    magnitudes = [abs(e) * 100 for e in errors]
    return {
        "n": len(errors),
        "mean_abs_pct": round(statistics.mean(magnitudes), 1),
        "worst_pct": round(max(magnitudes), 1),
        "within_25pct": sum(m <= WITHIN_PCT for m in magnitudes),
        "share_within_25pct": round(sum(m <= WITHIN_PCT for m in magnitudes) / len(magnitudes), 3),
    }


def print_report(result: dict) -> None:
    header = f"{'core/runtime':<26} {'board':<18} {'model':<30} {'role':<9} {'published':>11} {'predicted':>11} {'error':>8}"
    print(header)
    print("-" * len(header))
    for row in result["points"]:
        predicted = f"{row['predicted_ms']:>9.4g}ms" if row["predicted_ms"] is not None else f"{'-':>11}"
        error = f"{row['error_pct']:>+7.1f}%" if row["error_pct"] is not None else f"{'-':>8}"
        runtime = "" if row["runtime"] == row["group"].split("/")[1] else f"  [{row['runtime']}]"
        print(f"{row['group']:<26} {row['board'][:18]:<18} {row['model']:<30} {row['role']:<9} "
              f"{row['published_ms']:>9.4g}ms {predicted} {error}{runtime}")
    print()
    for name, summary in result["groups"].items():
        held, lobo, fit = summary["held_out"], summary["leave_one_board_out"], summary["fit"]
        line = f"{name:<26} error bar ±{summary['latency_error']:.0%}; fit mean |error| {fit.get('mean_abs_pct', '-')}%"
        if summary["ridge"] != calibration.RIDGE:
            line += f" (ridge {summary['ridge']:g}, chosen by leave-one-point-out over {fit['n']} points)"
        if lobo["n"]:
            line += f"; leave-one-board-out mean {lobo['mean_abs_pct']}% (n={lobo['n']}, worst {lobo['worst_pct']}%)"
        lopo = summary["leave_one_point_out"]
        if lopo["n"]:
            line += f"; leave-one-point-out mean {lopo['mean_abs_pct']}% (n={lopo['n']})"
        if held["n"]:
            line += (f"; held-out {held['within_25pct']}/{held['n']} within ±25%, mean {held['mean_abs_pct']}%, "
                     f"worst {held['worst_pct']}%")
        if "meets_target" in summary:
            line += " -> target " + ("met" if summary["meets_target"] else "NOT met")
        energy = summary["held_out_energy"]
        if energy["n"]:
            line += f"; held-out energy mean |error| {energy['mean_abs_pct']}% (n={energy['n']})"
        print(line)


def print_mlperf(rows: list[dict]) -> None:
    print(f"{'preset':<24} {'runtime':<13} {'model':<14} {'predicted':>11}  published")
    for row in rows:
        bar = f" ±{row['latency_error']:.0%}" if row["latency_error"] is not None else " ±?"  # never checked: unvalidated
        print(f"{row['preset']:<24} {row['runtime']:<13} {row['model']:<14} {row['predicted_ms']:>9.4g}ms{bar:<6} "
              f"{'; '.join(row['published'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--mlperf", action="store_true", help="the MLPerf Tiny models predicted on every preset")
    args = parser.parse_args()
    reference = calibration.load_reference(REFERENCE)
    result = mlperf_table(reference) if args.mlperf else evaluate(reference)
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.mlperf:
        print_mlperf(result)
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
