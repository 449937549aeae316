"""Monitoring deployed models: input and output drift against the bundle's training reference.

`drift` holds the feature summary, the reference and PSI; `plot` draws a report. Telemetry is
written on the device by `edgeforge.bundle.telemetry`.
"""
