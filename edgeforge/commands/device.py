from __future__ import annotations

import sys

from edgeforge.commands import positive_float, print_json


def add_parser(subparsers):
    from edgeforge.bundle.fetcher import DEADLINE_S, MIN_BYTES_PER_S, RATE_WINDOW_S

    parser = subparsers.add_parser("device", help="device side: update from a release repository, status, rollback")
    actions = parser.add_subparsers(dest="device_action", metavar="ACTION", required=True)

    update = actions.add_parser("update", help="fetch, verify and install the latest release if it passes its health check")
    update.add_argument("--repo", required=True, help="base URL of the release repository, e.g. https://models.example.com/repo")
    update.add_argument("--target", required=True, help="the build target this device runs, e.g. sbc")
    update.add_argument("--install-dir", required=True, help="A/B slot directory on the device")
    update.add_argument(
        "--root",
        help="trusted root.json: provisions a new device, or re-provisions one whose trusted root is damaged "
        "(an intact one is kept; it follows signed root rotations)",
    )
    update.add_argument(
        "--deadline-s", type=positive_float, default=DEADLINE_S,
        help=f"give up on downloads after this many seconds in all (default: {DEADLINE_S:g})",
    )
    update.add_argument(
        "--min-bytes-per-s", type=positive_float, default=MIN_BYTES_PER_S,
        help=f"give up on a download slower than this over {RATE_WINDOW_S:g} s (default: {MIN_BYTES_PER_S:g})",
    )

    status = actions.add_parser(
        "status", help="show the active and previous versions and the last update attempt; check the active bundle"
    )
    status.add_argument("--install-dir", required=True, help="A/B slot directory on the device")
    status.add_argument("--json", action="store_true", help="print JSON")

    rollback = actions.add_parser("rollback", help="make the previous version active again")
    rollback.add_argument("--install-dir", required=True, help="A/B slot directory on the device")
    return parser


def run(args) -> int:
    from edgeforge.bundle import updater

    if args.device_action == "update":
        result = updater.update(
            args.repo, args.target, args.install_dir, root=args.root,
            deadline_s=args.deadline_s, min_bytes_per_s=args.min_bytes_per_s,
        )
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        if result.outcome == "up-to-date":
            print(f"{result.target}: version {result.version} is already active")
        elif result.outcome == "repaired":
            print(f"{result.target}: version {result.version} repaired in slot {result.slot} (downloaded again) and active")
        elif result.outcome == "skipped":
            print(
                f"{result.target}: version {result.version} failed its health check or was rolled back on this device "
                f"before; keeping version {result.previous_version}, waiting for a newer release"
            )
        else:
            before = f" (was {result.previous_version})" if result.previous_version else ""
            print(f"{result.target}: version {result.version} installed in slot {result.slot} and active{before}")
        return 0
    if args.device_action == "rollback":
        slot = updater.rollback(args.install_dir)
        print(f"{slot.target}: version {slot.version} (slot {slot.slot}) is active again")
        return 0
    _status(args)
    return 0


def _status(args) -> None:
    from edgeforge.bundle import updater
    from edgeforge.errors import BundleError

    state = updater.status(args.install_dir)
    for note in state.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print_json(
            {
                "active": updater.slot_dict(state.active),
                "previous": updater.slot_dict(state.previous),
                "last_event": state.last_event,
                "damage": list(state.damage),
                "notes": list(state.notes),
            }
        )
    else:
        for label, slot in (("active", state.active), ("previous", state.previous)):
            if slot:
                print(
                    f"{label:9} {slot.target} version {slot.version}  slot {slot.slot}  "
                    f"installed {slot.installed_at}  model {slot.model_sha256[:12]}"
                )
            else:
                print(f"{label:9} none")
        if state.last_event:
            event = state.last_event
            reason = f": {event['reason']}" if event.get("reason") else ""
            print(f"last      {event.get('time')} {event.get('outcome')} version {event.get('version')}{reason}")
    if state.damage:
        raise BundleError(
            f"the active version {state.active.version} in {args.install_dir} is damaged ({'; '.join(state.damage)}); "
            f"download it again with `edgeforge device update --repo URL --target {state.active.target} "
            f"--install-dir {args.install_dir}`"
        )
