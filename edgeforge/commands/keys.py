from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("keys", help="create the signing keys of a release repository")
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="create root, targets, snapshot and timestamp keys and the signed root.json")
    init.add_argument("--keys-dir", required=True, help="where to create them: outside the project, e.g. ~/.edgeforge/keys/myproject")
    return parser


def run(args) -> int:
    from edgeforge.bundle.keys import init_keys

    root_path = init_keys(args.keys_dir)
    keys_dir = root_path.parent
    print(f"created keys in {keys_dir}: root.key targets.key snapshot.key timestamp.key")
    print(f"trusted root: {root_path} (provision devices with it: edgeforge device update --root {root_path} ...)")
    print(f"move {keys_dir / 'root.key'} offline now: `edgeforge release` does not need it")
    return 0
