"""The exceptions edgeforge raises, and the CLI exit code of each.

    EdgeforgeError                 exit 1 unless a subclass says otherwise
    ├── UserError                  exit 2: the user can fix it (bad spec, bad path, bad name)
    │   ├── SpecError              a spec value is wrong; carries every problem found
    │   ├── ModelFileError         a model file is missing, truncated or not a TFLite flatbuffer
    │   │   └── CorruptModelError  native code crashed on the model (also a BuildError: the search skips it)
    │   ├── UnsupportedOnnxOp      model.path's ONNX graph has an op edgeforge cannot convert to TFLite
    │   │                          (also a BuildError: the search fails that model's TFLite candidates)
    │   ├── DataError              the data at dataset.path is missing, unreadable or unusable
    │   ├── KeysError              signing keys missing, unreadable or not the trusted ones
    │   └── MonitorError           `monitor` could not judge drift (any failure: never exit 1)
    ├── BuildError                 a stage could not produce its outputs
    │   ├── ConstraintsUnmetError  no candidate meets a target's constraints
    │   ├── ExportError            an exporter could not convert the candidate
    │   ├── CandidateExportError   a format of one candidate failed; export tries the next candidate
    │   └── CorruptBuildError      exit 2: a build output, DVC cache object or memo entry is corrupt
    ├── NotRunnableHere            a runtime cannot execute models on this machine
    ├── BundleError                a bundle on disk does not match its manifest
    ├── UpdateError                a device update was refused; the active model stays
    ├── StaleParamsError           `compose --check`: params.yaml is out of date
    ├── DriftDetectedError         `monitor`: telemetry drifted past the threshold
    ├── InternalError              exit 2: an unexpected exception (a bug), reported by `cli.main` in one line
    └── MissingDependencyError     an optional package is not installed

Every class edgeforge raises is defined here and drawn above (tests/unit/test_errors.py checks
both). Commands raise these; `edgeforge.cli.main` prints the message on one line and exits with
the class's `exit_code`, so no command calls `sys.exit` or returns a failure code itself.
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


class DataError(UserError):
    """The data set cannot be used as configured; the message names the spec file, the dataset key,
    the data file and the fix (`edgeforge validate` and the `prepare` stage raise it)."""


class KeysError(UserError):
    """Keys are missing, unreadable, or not the ones the repository trusts."""


class MonitorError(UserError):
    """`edgeforge monitor` failed for any reason other than drift (a bundle that does not verify,
    an unexpected error): exit 2, because exit 1 means drift to the jobs that run it."""


class BuildError(EdgeforgeError):
    pass


class ConstraintsUnmetError(BuildError):
    pass


class ExportError(BuildError):
    """An exporter could not convert the candidate; the message carries the converter's reason."""


class CandidateExportError(BuildError):
    """A format of one candidate failed (conversion or parity): the export stage tries the next
    candidate. `fallbacks` holds what failed (edgeforge.outputs.Fallback)."""

    def __init__(self, fallbacks: list):
        self.fallbacks = fallbacks
        super().__init__("; ".join(f"{f.format}: {f.reason}" for f in fallbacks))


class CorruptBuildError(BuildError):
    """A build output does not parse or match what recorded it (a typed output the next stage
    reads, or what `edgeforge verify` finds); the message names the file and the stage to rerun.
    Exit 2, like any unusable input."""

    exit_code = 2


class CorruptModelError(ModelFileError, BuildError):
    """The model passed the flatbuffer checks but crashed the native code that parses it (TFLite
    Micro's allocator), which ran in a child process (`edgeforge.cost.isolated`). A user's file
    gets exit 2 like any bad model file; in the search it is one failed candidate (a BuildError)."""


class UnsupportedOnnxOp(UserError, BuildError):
    """An ONNX node edgeforge's ONNX-to-tf_keras converter (models/onnx_import.py) does not handle;
    the message names model.path, the op, the node and why. The ONNX graph is then the base model
    as it is: in the search each candidate that needs a TFLite model fails with this message (a
    BuildError), while ONNX Runtime targets go on."""


class NotRunnableHere(EdgeforgeError):
    """The runtime (or a format) cannot execute on this build machine; the message says why.

    Not a BuildError: callers ask `Runtime.runs_here()` first, so reaching it is a mistake the
    search must not skip over as one failed candidate.
    """


class BundleError(EdgeforgeError):
    """A bundle on disk is missing files or does not match its manifest."""


class UpdateError(EdgeforgeError):
    """An update was rejected or failed; the previously active model is still active."""


class StaleParamsError(EdgeforgeError):
    """`edgeforge compose --check` found the params file missing or out of date with the specs."""


class DriftDetectedError(EdgeforgeError):
    """`edgeforge monitor` found drift above the threshold (the report is already printed)."""


class InternalError(EdgeforgeError):
    """What `edgeforge.cli.main` reports for an exception that is not an EdgeforgeError: a bug, or
    bad input nothing recognised. Never raised; it holds the exit code (2: a scheduled job must
    not read it as `monitor`'s drift or a rejected update)."""

    exit_code = 2


class MissingDependencyError(EdgeforgeError):
    def __init__(self, package: str, extra: str | None = None):
        hint = f"pip install 'edgeforge[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{package} is not installed; install it with: {hint}")
