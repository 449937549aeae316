from __future__ import annotations

import sys

from edgeforge.commands import print_json


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "verify",
        help="check build/ for corruption: outputs against dvc.lock and DVC's cache, typed outputs, "
        "bundles, the selected artifacts and the memo; say how to rebuild what is corrupt",
    )
    parser.add_argument("--memo-dir", help="memo folder to check (default: EDGEFORGE_MEMO_DIR, else build/memo)")
    parser.add_argument("--fix", action="store_true", help="remove damaged memo entries now (the next search recomputes them)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    return parser


def run(args) -> int:
    from edgeforge.errors import CorruptBuildError
    from edgeforge.verify import remove_damaged_memo_entries, verify_build

    verification = verify_build(".", args.memo_dir)
    removed = remove_damaged_memo_entries(verification) if args.fix else 0
    findings = verification.findings
    if args.json:
        print_json(
            {
                "ok": not findings,
                "files_checked": verification.files_checked,
                "memo_entries_checked": verification.memo_entries_checked,
                "targets": verification.targets,
                "findings": [finding.as_dict() for finding in findings],
                "memo_entries_removed": removed,
            }
        )
    else:
        for finding in findings:
            print(finding.line())
        checked = (
            f"{verification.files_checked} DVC output files, {len(verification.targets)} targets' outputs and bundles, "
            f"{verification.memo_entries_checked} memo entries"
        )
        if not findings:
            print(f"checked {checked}: all intact", file=sys.stderr)
    if findings:
        fixed = f" ({removed} damaged memo entries removed)" if removed else ""
        raise CorruptBuildError(
            f"{len(findings)} corrupt file(s) or memo entries{fixed}; each line above says how to rebuild it"
        )
    return 0
