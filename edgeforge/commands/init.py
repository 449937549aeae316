from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("init", help="scaffold a new project (specs/, dvc.yaml, git + dvc)")
    parser.add_argument("directory", help="new project directory")
    parser.add_argument("--no-git", action="store_true", help="do not initialise git (dvc runs with --no-scm)")
    return parser


def run(args) -> int:
    from edgeforge.project import init_project

    root = init_project(args.directory, git=not args.no_git)
    print(f"created {root}/: next `cd {root} && edgeforge validate && dvc repro`")
    return 0
