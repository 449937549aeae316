from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("compose", help="compose specs/ into params.yaml (validated)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. device@targets.mcu.device=esp32_s3")
    parser.add_argument("--specs", default="specs", help="spec directory (default: specs)")
    parser.add_argument("--output", default="params.yaml", help="file to write (default: params.yaml)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file is stale; write nothing")
    return parser


def run(args) -> int:
    from edgeforge.errors import StaleParamsError, UserError
    from edgeforge.spec.compose import compose, params_are_current, validate, write_params

    if args.check:
        if args.overrides:
            raise UserError(f"--check takes no overrides ({' '.join(args.overrides)}); put them in {args.specs}/ or drop --check")
        if not params_are_current(args.specs, args.output):
            raise StaleParamsError(f"{args.output} is stale: run `edgeforge compose` and commit it")
        print(f"ok: {args.output} is up to date with {args.specs}/")
        return 0
    composition = compose(args.specs, args.overrides)
    validate(composition)
    write_params(composition.config, args.output)
    print(f"wrote {args.output}")
    return 0
