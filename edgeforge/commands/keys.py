from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("keys", help="create and rotate the signing keys of a release repository")
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="create root, targets, snapshot and timestamp keys and the signed root.json")
    init.add_argument(
        "--keys-dir", required=True, help="where to create them: outside the project, e.g. ~/.edgeforge/keys/myproject"
    )
    rotate = actions.add_parser("rotate", help="sign the next root version (renews its expiry), optionally with new keys")
    rotate.add_argument("--keys-dir", required=True, help="keys directory, with the root key brought back online")
    rotate.add_argument("--repo-dir", required=True, help="release repository to publish the new root into")
    rotate.add_argument(
        "--role", action="append", default=[], choices=["root", "targets", "snapshot", "timestamp"],
        help="replace this role's key (repeatable); without it only the expiry is renewed",
    )
    return parser


def run(args) -> int:
    if args.keys_action == "rotate":
        from edgeforge.bundle.release import rotate_keys

        version = rotate_keys(args.keys_dir, args.repo_dir, args.role)
        replaced = f", new keys for {', '.join(args.role)}" if args.role else ""
        print(f"published root version {version} in {args.repo_dir}{replaced}; devices follow it on their next update")
        return 0

    from edgeforge.bundle.keys import init_keys

    root_path = init_keys(args.keys_dir)
    keys_dir = root_path.parent
    print(f"created keys in {keys_dir}: root.key targets.key snapshot.key timestamp.key")
    print(f"trusted root: {root_path} (provision devices with it: edgeforge device update --root {root_path} ...)")
    print(f"move {keys_dir / 'root.key'} offline now: `edgeforge release` does not need it")
    return 0
