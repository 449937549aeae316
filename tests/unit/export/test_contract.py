"""The contract every exporter keeps (as every Hydra launcher runs LauncherTestSuite).

An exporter registers under its name, writes only inside the folder it is given and returns
paths that exist and cover all it wrote, gives the same bytes for the same candidate, and its
output matches its reference (the candidate's TFLite model for this int8 candidate) wherever a
runtime for it exists here. A new exporter gets all of it by being registered in EXPORTERS.
"""

from __future__ import annotations

import hashlib

import pytest

from edgeforge.export import EXPORTERS, Exporter
from edgeforge.export.parity import check_parity, parity_report

QUANTIZATION = "int8"  # the candidate the contract exports: exercises every quantized path
PARITY_SAMPLES = 360  # the whole held-out split: a 1-point tolerance needs more than 100 samples

pytestmark = pytest.mark.parametrize("fmt", sorted(EXPORTERS))


def file_digests(folder) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_exporter_registers_under_its_name(fmt):
    assert issubclass(EXPORTERS[fmt], Exporter)
    assert EXPORTERS[fmt].name == fmt


@pytest.mark.slow
def test_exporter_writes_only_inside_its_folder_and_returns_what_it_wrote(fmt, exported):
    out, paths = exported(fmt, QUANTIZATION)
    assert paths, f"{fmt} returned no paths"
    for path in paths:
        assert path.exists(), f"{fmt} returned {path}, which does not exist"
        assert path.resolve().is_relative_to(out.resolve()), f"{fmt} returned {path}, outside {out}"
    written = [path for path in out.rglob("*") if path.is_file()]
    uncovered = [p for p in written if not any(p == r or p.is_relative_to(r) for r in paths)]
    assert not uncovered, f"{fmt} wrote files it did not return: {uncovered}"
    assert not list(out.parent.glob(f"{out.name}*.tmp")), "left temporary files beside its folder"


@pytest.mark.slow
def test_exporter_gives_identical_bytes_for_the_same_candidate(fmt, exported, context_for, tmp_path):
    out, _ = exported(fmt, QUANTIZATION)
    EXPORTERS[fmt]().export(context_for(fmt, QUANTIZATION), tmp_path)
    assert file_digests(tmp_path) == file_digests(out)


@pytest.mark.slow
def test_exporter_output_matches_its_reference_where_a_runtime_exists(fmt, exported, context_for, digits):
    _, paths = exported(fmt, QUANTIZATION)
    x, y = digits.x_test[:PARITY_SAMPLES], digits.y_test[:PARITY_SAMPLES]
    report = parity_report(context_for(fmt, QUANTIZATION), {fmt: paths}, x, y)
    entry = report[fmt]
    if "skipped" in entry:
        pytest.skip(f"{fmt}: {entry['skipped']}")
    assert entry["samples"] == PARITY_SAMPLES
    check_parity(report, "contract")
