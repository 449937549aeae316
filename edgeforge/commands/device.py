from __future__ import annotations

import json


def add_parser(subparsers):
    parser = subparsers.add_parser("device", help="device side: update from a release repository, status, rollback")
    actions = parser.add_subparsers(dest="device_action", metavar="ACTION", required=True)

    update = actions.add_parser("update", help="fetch, verify and install the latest release if it passes its health check")
    update.add_argument("--repo", required=True, help="base URL of the release repository, e.g. https://models.example.com/repo")
    update.add_argument("--target", required=True, help="the build target this device runs, e.g. sbc")
    update.add_argument("--install-dir", required=True, help="A/B slot directory on the device")
    update.add_argument("--root", help="trusted root.json for the first update of a new device (later ones trust INSTALL_DIR/tuf)")

    status = actions.add_parser("status", help="show the active and previous versions and the last update attempt")
    status.add_argument("--install-dir", required=True, help="A/B slot directory on the device")
    status.add_argument("--json", action="store_true", help="print JSON")

    rollback = actions.add_parser("rollback", help="make the previous version active again")
    rollback.add_argument("--install-dir", required=True, help="A/B slot directory on the device")
    return parser


def run(args) -> int:
    from edgeforge.bundle import updater

    if args.device_action == "update":
        result = updater.update(args.repo, args.target, args.install_dir, root=args.root)
        if result.outcome == "up-to-date":
            print(f"{result.target}: version {result.version} is already active")
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

    state = updater.status(args.install_dir)
    if args.json:
        payload = {
            "active": updater.slot_dict(state.active),
            "previous": updater.slot_dict(state.previous),
            "last_event": state.last_event,
        }
        print(json.dumps(payload, indent=2))
        return 0
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
        print(f"last      {event['time']} {event['outcome']} version {event['version']}{reason}")
    return 0
