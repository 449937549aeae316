from __future__ import annotations


def add_parser(subparsers):
    return subparsers.add_parser("schema", help="print the JSON Schema of the spec (for editor completion)")


def run(args) -> int:
    import json

    from edgeforge.spec.models import Spec

    print(json.dumps(Spec.model_json_schema(by_alias=True), indent=2))
    return 0
