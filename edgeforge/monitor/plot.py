"""Draw a drift report: PSI per feature (worst first) and the class shares, reference vs observed."""

from __future__ import annotations

from pathlib import Path

from edgeforge.monitor.drift import WARN_PSI, DriftReport

MAX_BARS = 20


def plot_drift(report: DriftReport, path: Path, *, title: str = "") -> Path:
    """Write a PNG of the report to path.

    Uses matplotlib's Figure directly, without pyplot: it renders with Agg, needs no display and
    leaves the caller's backend alone.
    """
    from matplotlib.figure import Figure

    panels = 2 if report.class_shares else 1
    figure = Figure(figsize=(6 * panels, 5), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]

    worst = report.worst_features(MAX_BARS)
    bars = worst if report.output_psi is None else [("output (classes)", report.output_psi), *worst]
    names = [name for name, _ in bars][::-1]
    values = [value for _, value in bars][::-1]
    colors = [_color(value, report.threshold) for value in values]
    axes[0].barh(names, values, color=colors)
    axes[0].axvline(WARN_PSI, color="orange", linestyle=":", label=f"warn {WARN_PSI}")
    axes[0].axvline(report.threshold, color="red", linestyle="--", label=f"threshold {report.threshold}")
    axes[0].set_xlabel("PSI")
    and_output = " and the output" if report.output_psi is not None else ""
    axes[0].set_title(f"PSI of the worst {len(worst)} of {len(report.feature_psi)} features{and_output}")
    axes[0].legend(loc="lower right")

    if report.class_shares:
        expected, observed = report.class_shares
        classes = range(len(expected))
        axes[1].bar([c - 0.2 for c in classes], expected, width=0.4, label="training reference")
        axes[1].bar([c + 0.2 for c in classes], observed, width=0.4, label="observed")
        axes[1].set_xticks(list(classes))
        axes[1].set_xlabel("predicted class")
        axes[1].set_ylabel("share")
        axes[1].set_title("output distribution")
        axes[1].legend()

    figure.suptitle(f"{title} verdict: {report.verdict} ({report.samples} samples)".strip())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def _color(value: float, threshold: float) -> str:
    if value > threshold:
        return "tab:red"
    return "tab:orange" if value > WARN_PSI else "tab:green"
