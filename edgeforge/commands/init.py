from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("init", help="scaffold a new project (specs/, dvc.yaml, git + dvc)")
    parser.add_argument("directory", help="new project directory")
    parser.add_argument("--no-git", action="store_true", help="do not initialise git (dvc runs with --no-scm)")
    parser.add_argument(
        "--model-factory", metavar="PKG.MODULE:FUNCTION",
        help="use your tf_keras code as the model: writes specs/model/<module>.yaml and a starter PKG/MODULE.py",
    )
    parser.add_argument(
        "--model-path", metavar="FILE",
        help="use your trained tf_keras file (.h5, .keras, SavedModel folder; relative to the project) as the base model",
    )
    return parser


def run(args) -> int:
    from edgeforge.project import init_project

    root = init_project(args.directory, git=not args.no_git, model_factory=args.model_factory, model_path=args.model_path)
    if args.model_path and not (root / args.model_path).exists():
        print(f"created {root}/: next save your model as {root / args.model_path}, then `cd {root} && edgeforge validate && dvc repro`")
    else:
        print(f"created {root}/: next `cd {root} && edgeforge validate && dvc repro`")
    return 0
