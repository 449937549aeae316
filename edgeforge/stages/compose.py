"""Stage `compose`: stop a build whose params.yaml is stale against specs/.

It depends on specs/ only, so DVC runs it exactly when the specs changed since the last build.
Every other stage reads params.yaml, which `edgeforge compose` writes from specs/; a spec edit
without `edgeforge compose` would otherwise leave DVC saying "up to date". Inside `dvc exp run`,
DVC composes params.yaml itself from specs/ and the `-S` overrides, so there is nothing to check.
"""

from __future__ import annotations

import os

from edgeforge.errors import StaleParamsError

SPECS = "specs"


def run(params: str = "params.yaml") -> None:
    from edgeforge.spec.compose import params_are_current

    if os.environ.get("DVC_EXP_NAME"):
        print(f"{params}: composed by `dvc exp run` from {SPECS}/ and its overrides")
        return
    if not params_are_current(SPECS, params):
        raise StaleParamsError(f"{params} is stale against {SPECS}/: run `edgeforge compose`, then `dvc repro` again")
    print(f"{params} is up to date with {SPECS}/")
