"""Reports of a build: what was chosen per target, why, and at what cost (text and JSON)."""

from edgeforge.report.build import build_report

__all__ = ["build_report"]
