"""What importing the spec costs: every `dvc repro` stage is its own process that loads params."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_spec_import_leaves_numpy_unloaded():
    """Issue 20: a stage whose results come from the memo must start fast, and NumPy alone adds
    ~60 ms to each stage's start-up. Modules on the spec's import chain import it where arrays are used."""
    code = "import edgeforge.spec, sys; print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", "`import edgeforge.spec` loads numpy; find the importer with " \
        "`python -X importtime -c 'import edgeforge.spec' 2>&1 | grep -B5 -w numpy`"
