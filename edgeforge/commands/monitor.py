from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgeforge.commands import positive_float, print_json
from edgeforge.layout import BUILD

EXIT_STATUS = """\
exit status:
  0  no drift (verdict ok or warn)
  1  drift: the largest PSI is above --threshold (retrain)
  2  bad input or any error: unreadable or malformed telemetry (the line is named), no bundle,
     a bad argument; never read as drift
"""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "monitor",
        help="compare inference telemetry with the bundle's drift reference (PSI); exit 0 ok, 1 drift, 2 error",
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("telemetry", help="telemetry file (JSON lines) written by edgeforge.bundle.telemetry")
    parser.add_argument("--target", required=True, help="target whose bundle holds the drift reference")
    parser.add_argument("--build-dir", default=str(BUILD.build), help="build directory (default: build); the bundle is targets/<T>/bundle/")
    parser.add_argument("--bundle", help="bundle directory to use instead, e.g. INSTALL_DIR/current on a device")
    parser.add_argument(
        "--threshold", type=positive_float, default=0.25, help="PSI above which the exit status is 1 (a finite number > 0; default: 0.25)"
    )
    parser.add_argument("--plot", help="PNG to write (default: <telemetry>.drift.png)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def run(args) -> int:
    """Exit 1 means drift and only drift: every other failure, expected or not, is exit 2, so a
    scheduled job never reads a crash as a retrain trigger."""
    from edgeforge.errors import DriftDetectedError, EdgeforgeError, MonitorError

    try:
        report, telemetry, plot_path = _monitor(args)
    except EdgeforgeError as error:
        if error.exit_code == MonitorError.exit_code:
            raise
        raise MonitorError(str(error)) from error
    except Exception as error:  # noqa: BLE001 - see the docstring; `-v` shows the traceback
        raise MonitorError(f"{type(error).__name__}: {error}") from error
    _print(args, report, telemetry, plot_path)
    if report.verdict == "drift":
        raise DriftDetectedError(
            f"{args.target}: drift, max PSI {report.max_psi:.3f} above threshold {report.threshold}; "
            "retrain on recent data and rebuild (`dvc repro`)"
        )
    return 0


def _monitor(args):
    from edgeforge.bundle.package import read_manifest
    from edgeforge.bundle.telemetry import read_telemetry
    from edgeforge.errors import UserError
    from edgeforge.monitor.drift import compare
    from edgeforge.monitor.plot import plot_drift

    bundle_dir = Path(args.bundle) if args.bundle else Path(args.build_dir) / "targets" / args.target / "bundle"
    if not (bundle_dir / "manifest.json").is_file():
        raise UserError(f"{bundle_dir}: no bundle of target '{args.target}' here; build it (`dvc repro`) or pass --bundle DIR")
    reference = read_manifest(bundle_dir).get("drift_reference")
    if not reference:
        raise UserError(f"{bundle_dir}: the bundle has no drift reference")
    telemetry = read_telemetry(args.telemetry, target=args.target)
    if telemetry.incomplete_line:
        print(f"warning: {args.telemetry}:{telemetry.incomplete_line}: incomplete last line skipped (still being written?)", file=sys.stderr)
    try:
        report = compare(reference, telemetry.features, telemetry.classes, threshold=args.threshold)
    except ValueError as error:
        raise UserError(f"{args.telemetry}: {error}") from None
    plot_file = Path(args.plot or f"{args.telemetry}.drift.png")
    try:
        plot_path = plot_drift(report, plot_file, title=args.target)
    except OSError as error:
        raise UserError(f"{plot_file}: cannot write the drift plot ({error.strerror or error}); pass --plot PATH") from None
    return report, telemetry, plot_path


def _print(args, report, telemetry, plot_path) -> None:
    if args.json:
        print_json(
            {
                "target": args.target,
                "verdict": report.verdict,
                "max_psi": report.max_psi,
                "threshold": report.threshold,
                "samples": report.samples,
                "output_psi": report.output_psi,
                "feature_psi": report.feature_psi,
                "latency_ms": telemetry.latency_summary(),
                "plot": str(plot_path),
            }
        )
        return
    print(
        f"{args.target}: {report.verdict} (max PSI {report.max_psi:.3f}, threshold {report.threshold}) "
        f"over {report.samples} samples"
    )
    if report.output_psi is not None:
        print(f"  output distribution PSI {report.output_psi:.3f}")
    for name, value in report.worst_features(5):
        print(f"  {name:>10}  PSI {value:.3f}")
    latency = telemetry.latency_summary()
    if latency:
        print(f"  latency ms p50 {latency['p50']}  p95 {latency['p95']}  max {latency['max']}")
    print(f"plot: {plot_path}")
