from __future__ import annotations

import pytest
from bundle_helpers import make_bundle

from edgeforge.bundle.keys import init_keys


@pytest.fixture
def build_dir(tmp_path):
    """A build directory with one tiny bundle for target 'sbc'."""
    build = tmp_path / "build"
    make_bundle(build)
    return build


@pytest.fixture
def keys_dir(tmp_path):
    keys = tmp_path / "keys"
    init_keys(keys)
    return keys
