from __future__ import annotations

import sys
import warnings

from edgeforge.commands import positive_float, print_json


def add_parser(subparsers):
    parser = subparsers.add_parser("profile", help="cost of any .tflite on a device: MACs, flash, arena, latency, energy")
    parser.add_argument("model", help="path to a .tflite file")
    parser.add_argument("--device", required=True, help="device preset name (see `edgeforge devices`)")
    parser.add_argument("--runtime", help="runtime (default: the device's first)")
    parser.add_argument("--inference-hz", type=positive_float, help="inference rate, for average power")
    parser.add_argument(
        "--memory-plan", choices=("offline", "tflm"),
        help="TFLite Micro arena that counts: edgeforge's verified offline plan, or TFLite Micro's own "
        "(default: the --target's memory_plan, else offline)",
    )
    parser.add_argument("--target", help="check the constraints of this spec target instead of the device's limits")
    parser.add_argument("--specs", default="specs", help="spec directory, for --target and presets (default: specs)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def run(args) -> int:
    from edgeforge.cost.fits import check_fits
    from edgeforge.cost.profile import profile_model
    from edgeforge.errors import BuildError, ModelFileError, UserError
    from edgeforge.spec.presets import load_preset

    device = load_preset(args.device, args.specs)
    constraints = None
    memory_plan = args.memory_plan
    if args.target:
        from edgeforge.spec import compose_spec

        spec, _ = compose_spec(args.specs)
        if args.target not in spec.targets:
            raise UserError(f"--target {args.target}: no such target in {args.specs}/; targets: {', '.join(spec.targets)}")
        constraints = spec.targets[args.target].constraints
        memory_plan = memory_plan or spec.targets[args.target].memory_plan
    inference_hz = args.inference_hz or (constraints.inference_hz if constraints else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = profile_model(
                args.model, device, args.runtime or device.runtimes[0], inference_hz=inference_hz, memory_plan=memory_plan or "offline"
            )
        except BuildError as error:  # the runtime refuses the given file: bad input here (exit 2), not a failed build
            if isinstance(error, UserError):
                raise
            raise ModelFileError(str(error)) from None
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    result["fits"] = check_fits(result, device, constraints)
    if args.json:
        print_json(result)
        return 0
    from edgeforge.report.profile import print_profile

    print_profile(result)
    return 0
