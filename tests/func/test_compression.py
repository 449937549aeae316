"""Clustering pays on an MCU: a flash limit between the LUT-compressed and the dense flash of the
clustered int8 candidate selects it under `compression: lut`, and nothing fits without compression.

The registry's tiny_cnn on digits upsampled to 32x32 (25k parameters, most in its classifier), so
that LUT compression saves more than the DECODE kernel costs; one fine-tune epoch of clustering."""

from __future__ import annotations

import dataclasses
import json
import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from edgeforge.atomic import atomic_dir
from edgeforge.errors import ConstraintsUnmetError, UserError
from edgeforge.search.engine import run_search
from edgeforge.search.memo import Memo
from edgeforge.search.results import write_search_outputs
from tests.unit.search.helpers import digits, quick_spec

pytestmark = pytest.mark.slow

SPACE = {"width": [1.0], "sparsity": [0.0], "clusters": [0, 16], "qat": [False], "quantization": ["int8"]}
CLUSTERED = "w1-s0-c16-int8"


@cache
def splits_32():
    grow = lambda x: np.kron(x, np.ones((1, 4, 4, 1), dtype=x.dtype))  # noqa: E731
    small = digits()
    return dataclasses.replace(small, x_train=grow(small.x_train), x_val=grow(small.x_val), x_test=grow(small.x_test))


@cache
def base_32():
    from edgeforge.models.training import train_base

    spec = quick_spec()
    model, _ = train_base(spec.model, spec.train, splits_32(), spec.project.seed)
    return model


def mcu_spec(compression: str, flash_kb: float | None = None):
    constraints = {"min_accuracy": 0.5, **({"flash_kb": flash_kb} if flash_kb else {})}
    spec = quick_spec(space=SPACE, constraints={"mcu": constraints})
    data = spec.model_dump(by_alias=True)
    data["targets"] = {"mcu": {**data["targets"]["mcu"], "compression": compression}}
    return type(spec).model_validate(data)


def search(root: Path, spec, memo: Path) -> dict:
    """Search into root/build/search and select the MCU's model: {candidate id: metrics}."""
    from edgeforge.stages import select

    result, evaluator = run_search(spec, splits_32(), base_32(), Memo(memo))
    root.mkdir(parents=True, exist_ok=True)
    previous = Path.cwd()
    os.chdir(root)
    try:
        with atomic_dir(Path("build/search")) as out:
            write_search_outputs(result, evaluator, out)
        select.run("mcu")
    finally:
        os.chdir(previous)
    candidates = json.loads((root / "build/search/targets/mcu.json").read_text())["candidates"]
    return {c["id"]: c["metrics"] for c in candidates}


def test_a_flash_limit_between_compressed_and_dense_selects_the_clustered_candidate(tmp_path):
    memo = tmp_path / "memo"
    lut = search(tmp_path / "lut", mcu_spec("lut"), memo)
    dense = search(tmp_path / "dense", mcu_spec("none"), memo)
    compressed_flash, dense_flash = lut[CLUSTERED]["flash_bytes"], dense[CLUSTERED]["flash_bytes"]
    assert lut[CLUSTERED]["weights_compression"].startswith("lut (")
    assert dense[CLUSTERED]["weights_compression"].startswith("none: compressible, but shipped dense")
    assert compressed_flash < dense_flash - 2048
    assert lut[CLUSTERED]["accuracy"] == dense[CLUSTERED]["accuracy"]  # bit-identical outputs
    assert lut[CLUSTERED]["download_bytes"] < dense["w1-s0-c0-int8"]["download_bytes"]  # clustering shrinks the download too

    limit_kb = (compressed_flash + dense_flash) / 2 / 1024
    root = tmp_path / "tight"
    search(root, mcu_spec("lut", flash_kb=limit_kb), memo)
    selected = json.loads((root / "build/targets/mcu/selected.json").read_text())
    assert selected["candidate"]["id"] == CLUSTERED

    # without compression nothing fits: dropped before training, or measured over the limit
    with pytest.raises((UserError, ConstraintsUnmetError)) as error:
        search(tmp_path / "tight_dense", mcu_spec("none", flash_kb=limit_kb), memo)
    assert "flash_kb" in str(error.value)
