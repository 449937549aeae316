"""Packaging, signed OTA releases, the device-side updater and telemetry.

    package.py    build_bundle: manifest + model files + canary, deterministic bytes
    keys.py       one ed25519 key per TUF role; the trusted root.json
    release.py    publish bundles into a TUF repository served by any static file host
    updater.py    device side: TUF fetch + verify, A/B slots, health check, rollback
    health.py     run the canary inputs through the installed model in its runtime
    telemetry.py  append inference telemetry on the device, read it back for `monitor`

Modules import their heavy dependencies (tuf, runtimes) inside functions, so importing the
package stays cheap.
"""
