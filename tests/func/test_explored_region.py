"""Under the default strategy, a constraint edit inside the region the search explored trains nothing."""

from __future__ import annotations

import json

import pytest

from tests.func.shell import dvc, run
from tests.func.test_pipeline import compose, edit_yaml

pytestmark = pytest.mark.slow


def test_a_constraint_edit_under_the_default_strategy_trains_nothing(tmp_path):
    from edgeforge.cli import main

    root = tmp_path / "project"
    assert main(["init", str(root)]) == 0
    edit_yaml(root / "specs/config.yaml", {"train.epochs": 6, "targets.mcu.constraints.ram_kb": 16,
                                            "targets.mcu.constraints.latency_ms": 5})
    compose(root)
    run("git", "add", "-A", cwd=root)
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "quick", cwd=root)
    dvc("repro", cwd=root)
    first = json.loads((root / "build/search/summary.json").read_text())
    assert first["strategy"] == "multi_fidelity" and first["trained"] > 0

    compose(root, "targets.mcu.constraints.latency_ms=4")  # still met by what was explored
    result = dvc("repro", cwd=root)
    second = json.loads((root / "build/search/summary.json").read_text())
    assert second["trained"] == 0, result.stdout
    assert second["replayed"] > 0 and second["new_region"] == {}
