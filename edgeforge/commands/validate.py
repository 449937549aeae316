from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("validate", help="compose specs/ and validate them")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. targets.mcu.constraints.ram_kb=128")
    parser.add_argument("--specs", default="specs", help="spec directory (default: specs)")
    return parser


def run(args) -> int:
    from edgeforge.spec import compose_spec

    spec, _ = compose_spec(args.specs, args.overrides)
    targets = ", ".join(f"{name} ({t.device.name}, {t.runtime})" for name, t in spec.targets.items())
    print(f"ok: {args.specs}/config.yaml is valid; targets: {targets}")
    return 0
