"""Charts as inline SVG strings for the HTML report: no JavaScript, no fonts or files to fetch.

    pareto_svg(fronts, base_accuracy, quality)  the task's quality against the binding resource
    arena_svg(arena)                    live arena bytes while each operator runs

Every mark carries a <title>, which browsers show as a tooltip. Output depends only on the input
(fixed number formats, no ids from counters), so the report is byte-reproducible.
"""

from __future__ import annotations

import math
from html import escape

from edgeforge.outputs import CONSTRAINT_METRICS

COLORS = {
    "chosen": "#d97706", "front": "#0969da", "feasible": "#2da44e", "infeasible": "#8c959f",
    "limit": "#cf222e", "grid": "#d0d7de", "text": "#24292f", "bar": "#54aeff", "peak": "#cf222e",
}
UNITS = {"ram_kb": "KB", "flash_kb": "KB", "latency_ms": "ms", "energy_mj": "mJ", "avg_power_mw": "mW"}
WIDTH, HEIGHT = 600, 340
MARGIN = {"left": 64, "right": 24, "top": 20, "bottom": 48}
# A limit further than this many times the largest value would squash every point to one side:
# it is named in a note instead of drawn.
LIMIT_IN_VIEW = 3.0


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if power * m >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _number(value: float) -> str:
    """Short tick label: 0.95, 128, 1.5k, 2.5M."""
    for limit, suffix in ((1e6, "M"), (1e4, "k")):
        if abs(value) >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:.6g}"


class _Frame:
    """Maps data to pixels inside the margins; draws the grid, ticks and axis labels."""

    def __init__(self, xs: list[float], ys: list[float], x_zero: bool = False):
        low_x = 0.0 if x_zero else min(xs)
        self.x_ticks = nice_ticks(low_x, max(xs))
        self.y_ticks = nice_ticks(min(ys), max(ys))
        self.x0, self.x1 = self.x_ticks[0], self.x_ticks[-1]
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]
        self.left, self.right = MARGIN["left"], WIDTH - MARGIN["right"]
        self.top, self.bottom = MARGIN["top"], HEIGHT - MARGIN["bottom"]

    def x(self, value: float) -> float:
        return round(self.left + (value - self.x0) / ((self.x1 - self.x0) or 1) * (self.right - self.left), 2)

    def y(self, value: float) -> float:
        return round(self.bottom - (value - self.y0) / ((self.y1 - self.y0) or 1) * (self.bottom - self.top), 2)

    def axes(self, x_label: str, y_label: str, x_format=_number, y_format=_number) -> list[str]:
        parts = []
        for tick in self.y_ticks:
            y = self.y(tick)
            parts.append(f'<line x1="{self.left}" y1="{y}" x2="{self.right}" y2="{y}" stroke="{COLORS["grid"]}" stroke-width="1"/>')
            parts.append(f'<text x="{self.left - 6}" y="{y + 4}" text-anchor="end">{escape(y_format(tick))}</text>')
        for tick in self.x_ticks:
            x = self.x(tick)
            parts.append(f'<line x1="{x}" y1="{self.bottom}" x2="{x}" y2="{self.bottom + 4}" stroke="{COLORS["text"]}"/>')
            parts.append(f'<text x="{x}" y="{self.bottom + 17}" text-anchor="middle">{escape(x_format(tick))}</text>')
        parts.append(
            f'<line x1="{self.left}" y1="{self.bottom}" x2="{self.right}" y2="{self.bottom}" stroke="{COLORS["text"]}"/>'
        )
        middle_x, middle_y = (self.left + self.right) / 2, (self.top + self.bottom) / 2
        parts.append(f'<text x="{middle_x}" y="{HEIGHT - 8}" text-anchor="middle" class="axis-label">{escape(x_label)}</text>')
        parts.append(
            f'<text x="14" y="{middle_y}" text-anchor="middle" class="axis-label" '
            f'transform="rotate(-90 14 {middle_y})">{escape(y_label)}</text>'
        )
        return parts


def _svg(parts: list[str], css_class: str, label: str, data: str = "") -> str:
    return (
        f'<svg class="{css_class}" {data}viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="11" fill="{COLORS["text"]}">'
        f"<title>{escape(label)}</title>" + "".join(parts) + "</svg>"
    )


def _star(x: float, y: float, radius: float = 8.0) -> str:
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.45
        angle = math.pi / 2 + k * math.pi / 5
        points.append(f"{x + r * math.cos(angle):.2f},{y - r * math.sin(angle):.2f}")
    return " ".join(points)


def pareto_svg(fronts: dict, base_accuracy: float | None = None, quality: str = "accuracy") -> str:
    """The task's quality (y, named `quality`: accuracy, ROC AUC) against the target's binding
    resource (x): every measured candidate, the Pareto front as a step line, the chosen one as a
    star, the resource limit and the quality floor as dashed lines."""
    binding = fronts["binding"]
    key, metric, scale = binding["constraint"], binding["metric"], binding["scale"]
    unit = UNITS.get(key, "")
    points = [p for p in fronts["points"] if p.get(metric) is not None and p.get("accuracy") is not None]
    target = fronts["target"]
    label = f"{target}: {quality} vs {key} (Pareto plot)"
    if not points:
        return _svg([f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no measured candidate to plot</text>'],
                    "pareto-plot", label, f'data-target="{escape(target)}" ')
    xs = [p[metric] * scale for p in points]
    ys = [p["accuracy"] for p in points]
    limit, limit_note = binding.get("limit"), ""
    if limit is not None and limit <= LIMIT_IN_VIEW * max(xs):
        xs.append(limit)
    elif limit is not None:
        limit_note = f"{key} limit {limit:g} {unit}: off the chart, every point is far below it"
    if max(ys) - min(ys) < 0.01:  # one point, or all alike: show a band around them, not a blown-up sliver
        ys += [min(ys) - 0.01, min(1.0, max(ys) + 0.01)]
    accuracy_floor = quality_floor(fronts.get("limits", {}), base_accuracy)
    if accuracy_floor is not None and accuracy_floor >= min(ys) - 0.5 * (max(ys) - min(ys) + 0.02):
        ys.append(accuracy_floor)
    frame = _Frame(xs, ys)
    parts = frame.axes(f"{key} ({unit}), the binding constraint" if unit else key, quality)
    if limit is not None and not limit_note:
        x = frame.x(limit)
        parts.append(f'<line class="limit" x1="{x}" y1="{frame.top}" x2="{x}" y2="{frame.bottom}" '
                     f'stroke="{COLORS["limit"]}" stroke-dasharray="6 4" stroke-width="1.5"/>')
        parts.append(f'<text x="{x - 4}" y="{frame.top + 10}" text-anchor="end" fill="{COLORS["limit"]}">'
                     f"{escape(key)} ≤ {limit:g}</text>")
    if accuracy_floor is not None and frame.y0 <= accuracy_floor <= frame.y1:
        y = frame.y(accuracy_floor)
        parts.append(f'<line class="limit" x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}" '
                     f'stroke="{COLORS["limit"]}" stroke-dasharray="6 4" stroke-width="1.5"/>')
        parts.append(f'<text x="{frame.right - 4}" y="{y - 5}" text-anchor="end" fill="{COLORS["limit"]}">'
                     f"{escape(quality)} ≥ {accuracy_floor:.4g}</text>")
    by_id = {p["id"]: p for p in points}
    front = [by_id[i] for i in fronts["fronts"].get(metric, []) if i in by_id]
    if len(front) > 1:
        steps, previous = [], None
        for p in front:
            x, y = frame.x(p[metric] * scale), frame.y(p["accuracy"])
            if previous is not None:
                steps.append(f"{x},{previous}")
            steps.append(f"{x},{y}")
            previous = y
        parts.append(f'<polyline class="front" points="{" ".join(steps)}" fill="none" '
                     f'stroke="{COLORS["front"]}" stroke-width="1.5"/>')
    front_ids = {p["id"] for p in front}
    for p in sorted(points, key=lambda p: p["id"]):
        # the front is drawn over every candidate, feasible or not: blue marks the front, a hollow
        # mark an infeasible candidate
        x, y = frame.x(p[metric] * scale), frame.y(p["accuracy"])
        feasibility = "feasible" if p["feasible"] else "infeasible"
        status = ("front " if p["id"] in front_ids else "") + feasibility
        color = COLORS["front"] if p["id"] in front_ids else COLORS[feasibility]
        tip = escape(f"{p['id']} ({status}): {quality} {p['accuracy']:.4f}, {key} {p[metric] * scale:.4g}")
        fill = color if p["feasible"] else "white"
        parts.append(f'<circle class="point {status}" cx="{x}" cy="{y}" r="4.5" fill="{fill}" '
                     f'stroke="{color}" stroke-width="1.5"><title>{tip}</title></circle>')
    chosen = by_id.get(fronts.get("chosen"))
    if chosen is not None:
        x, y = frame.x(chosen[metric] * scale), frame.y(chosen["accuracy"])
        anchor = "end" if x > (frame.left + frame.right) / 2 else "start"
        offset = -12 if anchor == "end" else 12
        parts.append(f'<polygon class="chosen" points="{_star(x, y)}" fill="{COLORS["chosen"]}" stroke="white" '
                     f'stroke-width="0.8"><title>{escape(chosen["id"])} (chosen)</title></polygon>')
        parts.append(f'<text class="chosen-label" x="{x + offset}" y="{y + 4}" text-anchor="{anchor}" '
                     f'font-weight="600">{escape(chosen["id"])}</text>')
    if limit_note:
        parts.append(f'<text x="{frame.right}" y="{frame.top + 10}" text-anchor="end" fill="{COLORS["limit"]}">'
                     f"{escape(limit_note)}</text>")
    return _svg(parts, "pareto-plot", label, f'data-target="{escape(target)}" ')


def quality_floor(limits: dict, base_quality: float | None) -> float | None:
    """The least quality the constraints allow: the task's minimum (min_accuracy, min_auc), or the
    base model's quality less the allowed drop (max_accuracy_drop, max_auc_drop)."""
    from edgeforge.evaluate import TASKS

    floors = []
    for task in TASKS.values():
        if task.min_constraint in limits:
            floors.append(limits[task.min_constraint])
        if task.drop_constraint in limits and base_quality is not None:
            floors.append(base_quality - limits[task.drop_constraint])
    return max(floors) if floors else None


def _bytes(value: float) -> str:
    """A tick in bytes: exact below 100 kB (ticks are round there), else KiB."""
    return f"{value:,.0f} B" if value < 100_000 else f"{value / 1024:,.0f} KiB"


def arena_svg(arena: dict, target: str) -> str:
    """Bars of live buffer bytes per operator, the peak in red, and as dashed lines the head of
    TFLite Micro's greedy plan and of edgeforge's offline plan (above the peak by the gaps a plan
    could not fill)."""
    timeline = arena["timeline"]
    label = f"{target}: tensor arena over time (live bytes per operator)"
    if not timeline:
        return _svg([f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no operators</text>'],
                    "arena-plot", label, f'data-target="{escape(target)}" ')
    planned = arena["planned_bytes"]
    heads = [planned, arena.get("edgeforge_bytes") or 0, *(op["live_bytes"] for op in timeline)]
    frame = _Frame([-0.5, len(timeline) - 0.5], [0, max(heads)])
    frame.x0, frame.x1, frame.x_ticks = -0.5, len(timeline) - 0.5, []
    parts = frame.axes("operator (execution order)", "live bytes", y_format=_bytes)
    step = max(1, math.ceil(len(timeline) / 30))
    width = (frame.right - frame.left) / len(timeline) * 0.72
    for op in timeline:
        is_peak = op["index"] == arena["peak_op"]
        x, top = frame.x(op["index"]), frame.y(op["live_bytes"])
        color = COLORS["peak"] if is_peak else COLORS["bar"]
        tip = escape(f"#{op['index']} {op['type']}: {op['live_bytes']:,} bytes live" + (" (peak)" if is_peak else ""))
        parts.append(f'<rect class="bar{" peak" if is_peak else ""}" x="{x - width / 2:.2f}" y="{top}" '
                     f'width="{width:.2f}" height="{frame.bottom - top:.2f}" fill="{color}"><title>{tip}</title></rect>')
        if op["index"] % step == 0 or is_peak:
            parts.append(f'<text x="{x}" y="{frame.bottom + 17}" text-anchor="middle">{op["index"]}</text>')
        if is_peak:
            parts.append(f'<text x="{x}" y="{top - 6}" text-anchor="middle" fill="{COLORS["peak"]}" font-weight="600">'
                         f"peak: {escape(op['type'])}</text>")
    lines = [("TFLite Micro's plan", planned, COLORS["text"])]
    edgeforge = arena.get("edgeforge_bytes")
    if edgeforge is not None and edgeforge != planned:
        lines.append((f"edgeforge plan{'' if arena.get('edgeforge_kept') else ' (not kept)'}", edgeforge, COLORS["front"]))
    elif edgeforge is not None:
        lines = [("TFLite Micro's plan = edgeforge plan", planned, COLORS["text"])]
    lines.sort(key=lambda line: -line[1])
    for k, (name, head, color) in enumerate(lines):
        y = frame.y(head)
        parts.append(f'<line class="plan" x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}" stroke="{color}" '
                     f'stroke-dasharray="6 4" stroke-width="1.2"/>')
        below = k > 0 and frame.y(lines[0][1]) - y < 14  # two lines close together: label this one under it
        parts.append(f'<text x="{frame.right - 4}" y="{y + 13 if below else y - 5}" text-anchor="end" fill="{color}">'
                     f"{escape(name)}: {head:,} bytes</text>")
    return _svg(parts, "arena-plot", label, f'data-target="{escape(target)}" ')


def constraint_unit(key: str) -> str:
    """The unit a constraint's value is shown in ('' for accuracy figures)."""
    return UNITS.get(key, "") if key in CONSTRAINT_METRICS else ""
