from __future__ import annotations

from edgeforge.layout import BUILD


def add_parser(subparsers):
    parser = subparsers.add_parser("release", help="publish the build's bundles into a TUF repository (static files)")
    parser.add_argument("--keys-dir", required=True, help="directory made by `edgeforge keys init` (root.key may be offline)")
    parser.add_argument(
        "--repo-dir", required=True, help="repository directory to create or update; serve it with any static file server"
    )
    parser.add_argument("--build-dir", default=str(BUILD.build), help="build directory holding targets/<T>/bundle/ (default: build)")
    parser.add_argument("--target", action="append", help="publish only this target (repeatable; default: all)")
    parser.add_argument(
        "--refresh", action="store_true", help="publish nothing; re-sign snapshot and timestamp with fresh expiry (run from cron)"
    )
    return parser


def run(args) -> int:
    from edgeforge.bundle.release import find_bundles, refresh, release
    from edgeforge.errors import UserError

    if args.refresh:
        expires = refresh(args.keys_dir, args.repo_dir)
        print(f"refreshed {args.repo_dir}: timestamp valid until {expires:%Y-%m-%d %H:%M} UTC")
        return 0
    bundles = find_bundles(args.build_dir)
    if args.target:
        unknown = sorted(set(args.target) - set(bundles))
        if unknown:
            raise UserError(f"no bundle for target(s) {', '.join(unknown)} in {args.build_dir}; have {', '.join(bundles)}")
        bundles = {name: path for name, path in bundles.items() if name in args.target}
    for published in release(args.keys_dir, args.repo_dir, bundles):
        state = "published" if published.changed else "unchanged"
        print(f"{published.target}: version {published.version} {state} ({published.path})")
    return 0
