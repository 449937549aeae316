from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("schema", help="print the JSON Schema of the spec (for editor completion)")
    parser.add_argument("--markdown", action="store_true", help="print the spec reference table instead")
    return parser


def run(args) -> int:
    import json

    if args.markdown:
        from edgeforge.spec.reference import spec_reference_markdown

        print(spec_reference_markdown())
        return 0
    from edgeforge.spec.models import Spec

    print(json.dumps(Spec.model_json_schema(by_alias=True), indent=2))
    return 0
