"""The report as GitHub-flavoured Markdown, for a pull-request comment (`edgeforge report --markdown`).

A summary table of the targets, each chosen model's metrics against its limits, an infeasible
target's explanation, every candidate folded under <details>, what a partial build is missing,
and the search counts.
"""

from __future__ import annotations

from edgeforge.report.classes import format_class_accuracy
from edgeforge.report.rows import metric_rows, search_line

PASS, FAIL = "✅", "❌"


def render_markdown(report: dict) -> str:
    project = report.get("project")
    targets = report["targets"]
    lines = [f"## edgeforge build{f': {project}' if project else ''}", ""]
    lines += _table(["target", "device", "runtime", "chosen", "verdict"], [
        [name, t["device"], t["runtime"], f"`{t['candidate']['id']}`" if t["candidate"] else "-",
         f"{PASS} all constraints met" if t["feasible"] else f"{FAIL} no feasible candidate"]
        for name, t in targets.items()
    ])
    missing = report.get("missing", []) + [f"{n}: {m}" for n, t in targets.items() for m in t.get("missing", [])]
    if missing:
        lines += ["", "> **Incomplete build.** Missing:"] + [f"> - {_cell(item)}" for item in missing]
    for name, target in targets.items():
        lines.append("")
        if target["feasible"]:
            lines += [f"### {name}: `{target['candidate']['id']}` (objective {target['objective']})", ""]
            if target.get("choice_note"):
                lines += [_cell(target["choice_note"]), ""]
            lines += _table(["metric", "value", "constraint", "ok"], [
                [label, value, limit, "" if ok is None else (PASS if ok else FAIL)]
                for label, value, limit, ok in metric_rows(target)
            ])
            if target.get("per_class"):
                lines += ["", f"Accuracy per class (held-out split, in {target['metrics'].get('accuracy_runtime', target['runtime'])}):", ""]
                lines += _table(["class", "accuracy", "samples"], [
                    [row["name"], format_class_accuracy(row), "-" if row["samples"] is None else str(row["samples"])]
                    for row in target["per_class"]
                ])
        else:
            lines += [f"### {name}: no feasible candidate", ""]
            if target.get("explanation"):
                lines += ["```", target["explanation"], "```"]
        rows = target.get("candidates", [])
        if rows:
            lines += ["", f"<details><summary>{name}: {len(rows)} candidates</summary>", ""]
            quality = target.get("metric_label", "accuracy")
            lines += _table(["candidate", "status", "fidelity", "training", quality, "why not chosen"], [
                [f"`{r['id']}`", r["status"], r["fidelity"], r["training"],
                 "-" if r["metrics"]["accuracy"] is None else f"{r['metrics']['accuracy']:.4f}", r["reason"] or ""]
                for r in rows
            ])
            lines += ["", "</details>"]
    lines += ["", search_line(report["search"]), ""]
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows),
    ]


def _cell(text: str) -> str:
    """One table cell: pipes escaped, line breaks as <br>."""
    return str(text).replace("|", "\\|").replace("\n", "<br>")
