from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("validate", help="compose specs/ and validate them")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. targets.mcu.constraints.ram_kb=128")
    parser.add_argument("--specs", default="specs", help="spec directory (default: specs)")
    return parser


def run(args) -> int:
    from edgeforge.data import validate_project_data
    from edgeforge.models.augmentation import check_augmentation
    from edgeforge.spec import compose_spec

    spec, composition = compose_spec(args.specs, args.overrides)
    header = validate_project_data(
        spec.dataset, spec.model.name, composition.origin_of(("dataset", "path")), model_origin=composition.origin_of(("model", "name"))
    )
    check_augmentation(spec.train.augmentation, header.input_shape, composition.origin_of(("train", "augmentation", "flip")))
    targets = ", ".join(f"{name} ({t.device.name}, {t.runtime})" for name, t in spec.targets.items())
    classes = ", ".join(header.class_names[:6]) + (", ..." if len(header.class_names) > 6 else "")
    print(f"ok: {args.specs}/config.yaml is valid; targets: {targets}")
    print(f"data: {spec.dataset.name}, samples {header.input_shape}, {len(header.class_names)} classes ({classes})")
    return 0
