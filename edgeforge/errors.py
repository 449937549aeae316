"""The exceptions edgeforge raises, and the CLI exit code of each.

    EdgeforgeError                 exit 1 unless a subclass says otherwise
    ├── UserError                  exit 2: the user can fix it (bad spec, bad path, bad name)
    │   ├── SpecError              a spec value is wrong; carries every problem found
    │   └── ModelFileError         a model file is missing, truncated or not a TFLite flatbuffer
    ├── BuildError                 a stage could not produce its outputs
    │   └── ConstraintsUnmetError  no candidate meets a target's constraints
    └── MissingDependencyError     an optional package is not installed
"""

from __future__ import annotations


class EdgeforgeError(Exception):
    exit_code = 1


class UserError(EdgeforgeError):
    exit_code = 2


class SpecError(UserError):
    """One or more problems in a spec; each is a line `file: key.path: what; fix`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ModelFileError(UserError):
    pass


class BuildError(EdgeforgeError):
    pass


class ConstraintsUnmetError(BuildError):
    pass


class MissingDependencyError(EdgeforgeError):
    def __init__(self, package: str, extra: str | None = None):
        hint = f"pip install 'edgeforge[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{package} is not installed; install it with: {hint}")
