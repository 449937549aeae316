"""The spec: one root model (`Spec`) with a section per concern (DESIGN §2)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, PositiveFloat, PositiveInt, ValidationInfo, create_model, field_validator, model_validator

from edgeforge.evaluate.task import TASKS
from edgeforge.passes import PASSES, Pass
from edgeforge.passes.chain import rejection_reason
from edgeforge.passes.ptq import QUANT_MODES, QuantMode
from edgeforge.runtimes import RUNTIMES
from edgeforge.spec.base import StrictModel
from edgeforge.spec.device import Device, Runtime

# The export formats the spec accepts: every format some registered runtime loads.
Format = Literal[tuple(dict.fromkeys(fmt for runtime in RUNTIMES.values() for fmt in runtime.formats))]  # type: ignore[valid-type]
Objective = Literal["max_accuracy", "max_auc", "min_latency", "min_flash", "min_ram", "min_energy", "min_model_size"]
TaskName = Literal[tuple(TASKS)]  # type: ignore[valid-type]


class Project(StrictModel):
    name: str = Field(description="project name, used in bundle manifests")
    seed: int = Field(0, ge=0, lt=2**32, description="seed for data split, weight init and training (NumPy takes 0 to 2**32 - 1)")


DatasetKind = Literal["digits", "npz", "csv", "image_dir", "audio_dir"]
# The keys that only some kinds read: setting one for another kind is a mistake worth naming.
_KIND_KEYS = {
    "label_column": ("csv",),
    "window": ("csv",),
    "stride": ("csv",),
    "image_size": ("image_dir",),
    "color": ("image_dir",),
    "augment_copies": ("image_dir",),
    "frontend": ("audio_dir",),
}
_PATH_SUFFIX = {"npz": ".npz", "csv": ".csv"}
_FILE_SUFFIXES = (".npz", ".csv", ".yaml", ".yml", ".zip", ".wav", ".png", ".jpg")


class AudioFrontend(StrictModel):
    """How a clip becomes features: framed, windowed (Hann), DFT magnitude, mel filterbank, log,
    and for mfcc a DCT. The device computes the same: the bundle ships it as frontend.tflite and
    its parameters in preprocessing.json (docs/data.md)."""

    features: Literal["log_mel", "mfcc"] = Field("log_mel", description="log-mel energies, or their MFCCs")
    sample_rate_hz: PositiveInt = Field(16000, description="sample rate every wav file must have")
    clip_ms: PositiveInt = Field(1000, description="clip length: shorter clips are zero-padded, longer cut")
    window_ms: PositiveFloat = Field(30.0, description="analysis window (frame) length, ms")
    stride_ms: PositiveFloat = Field(20.0, description="step between frames, ms")
    mel_bins: PositiveInt = Field(40, description="mel filterbank channels")
    mfcc_count: PositiveInt = Field(10, description="mfcc only: cepstral coefficients kept (at most mel_bins)")
    lower_hz: float = Field(20.0, ge=0, description="lowest frequency of the mel filterbank, Hz")
    upper_hz: PositiveFloat = Field(4000.0, description="highest frequency of the mel filterbank, Hz (at most half the sample rate)")
    background_volume: float = Field(
        0.1, ge=0, le=1, description="training clips only: peak gain of _background_noise_ mixed in, when that folder exists"
    )
    background_fraction: float = Field(0.8, ge=0, le=1, description="share of training clips that get background noise")

    @model_validator(mode="after")
    def _check_frequencies(self) -> AudioFrontend:
        if self.upper_hz > self.sample_rate_hz / 2:
            raise ValueError(f"upper_hz {self.upper_hz:g} is above the Nyquist frequency; use at most {self.sample_rate_hz / 2:g}")
        if self.lower_hz >= self.upper_hz:
            raise ValueError(f"lower_hz {self.lower_hz:g} must be below upper_hz {self.upper_hz:g}")
        if self.mfcc_count > self.mel_bins:
            raise ValueError(f"mfcc_count {self.mfcc_count} exceeds mel_bins {self.mel_bins}; use at most {self.mel_bins}")
        if self.stride_ms > self.window_ms:
            raise ValueError(f"stride_ms {self.stride_ms:g} exceeds window_ms {self.window_ms:g}: samples between frames would be skipped")
        if self.window_ms > self.clip_ms:
            raise ValueError(f"window_ms {self.window_ms:g} is longer than the clip ({self.clip_ms} ms)")
        return self


class Dataset(StrictModel):
    name: DatasetKind = Field(
        description="digits (built into scikit-learn) | npz (arrays x, y) | csv (a table, or recordings cut into "
        "windows) | image_dir (a folder per class) | audio_dir (wav folders per word, Speech Commands layout)"
    )
    path: str | None = Field(
        None,
        description="the data file or folder, relative to the project root; dvc.yaml's prepare stage depends on it, "
        "so editing the data rebuilds. The built-in digits preset points it at itself",
    )
    label_column: str = Field("label", description="csv only: the column holding the class (integers or names)")
    window: PositiveInt | None = Field(
        None, description="csv only: samples per window; set it for recordings (rows are time steps) to get (N, window, channels)"
    )
    stride: PositiveInt | None = Field(None, description="csv only: samples between window starts (default: window)")
    normalize: bool = Field(
        False, description="standardize each channel (last axis) with the train split's mean and std; both ship in the bundle"
    )
    image_size: list[PositiveInt] = Field(
        [32, 32], min_length=2, max_length=2, description="image_dir only: [height, width] every image is resized to"
    )
    color: Literal["grayscale", "rgb"] = Field("grayscale", description="image_dir only: 1 or 3 channels")
    augment_copies: int = Field(
        0, ge=0, le=16, description="image_dir only: seeded variants (shifted, brightness changed) of each training image to add"
    )
    frontend: AudioFrontend = Field(default_factory=AudioFrontend, description="audio_dir only: the feature frontend")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="held-out share for final accuracy")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of the rest used for early checks")

    @model_validator(mode="after")
    def _check_path(self) -> Dataset:
        if self.name == "digits":
            return self
        suffix = _PATH_SUFFIX.get(self.name)
        if not self.path:
            raise ValueError(f"dataset '{self.name}' needs 'path' (the data {'file' if suffix else 'folder'} to load)")
        if self.name == "npz" and not self.path.endswith(".npz"):
            raise ValueError(f"dataset 'npz' needs 'path' to an .npz file (arrays x and y), not '{self.path}'")
        if self.name in ("image_dir", "audio_dir") and self.path.endswith(_FILE_SUFFIXES):
            raise ValueError(f"dataset '{self.name}' needs 'path' to a folder (one subfolder per class), not '{self.path}'")
        return self

    @model_validator(mode="after")
    def _check_kind_keys(self) -> Dataset:
        for key in sorted(self.model_fields_set & set(_KIND_KEYS)):
            kinds = _KIND_KEYS[key]
            # a default value is no choice (a re-validated model_dump carries every default)
            if self.name not in kinds and getattr(self, key) != type(self).model_fields[key].get_default(call_default_factory=True):
                raise ValueError(f"'{key}' applies to dataset {' or '.join(kinds)} only, not '{self.name}'; remove it")
        if self.stride is not None and self.window is None:
            raise ValueError("'stride' needs 'window' (samples per window) as well")
        return self


# The registry's architectures (edgeforge/models/registry.py ARCHITECTURES; a test keeps the two equal).
ModelName = Literal["tiny_cnn", "ds_cnn", "mlp", "mlperf_ds_cnn", "resnet8", "mobilenet_v1_025", "fc_autoencoder", "conv1d_cnn"]
_FACTORY_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_MODEL_FILE_SUFFIXES = (".h5", ".hdf5", ".keras")


class ModelSpec(StrictModel):
    """The base model, by one of three routes: `name` (the registry), `factory` (your Keras code),
    or `path` (your trained Keras file, optionally with a `factory` for width students)."""

    name: ModelName | None = Field(
        None, description="architecture from the registry (edgeforge/models); or set factory and/or path instead"
    )
    factory: str | None = Field(
        None,
        description="your Keras code, 'pkg.module:function' importable from the project root; called as "
        "function(input_shape, num_classes, width=, dropout=) and returning a tf_keras model",
    )
    path: str | None = Field(
        None,
        description="your trained model, relative to the project root: a tf_keras .h5 or .keras file or SavedModel "
        "folder, whose weights are the base model (train.epochs: 0 evaluates it, > 0 fine-tunes it); or an .onnx file "
        "(e.g. torch.onnx.export), used as it is (train.epochs: 0, post-training quantization only; docs/onnx.md)",
    )
    factory_file: str | None = Field(
        None,
        description="the file dvc.yaml's train and search stages depend on for the architecture: with factory, its "
        "module's source (e.g. models/net.py), else model.path; the built-in presets point it at themselves",
    )
    weights_file: str | None = Field(
        None,
        description="the file dvc.yaml's train stage depends on for trained weights: with path, the same as path, "
        "else factory_file; the built-in presets point it at themselves",
    )
    width: float = Field(1.0, gt=0, le=1, description="channel multiplier of the base model, in (0, 1]")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout before the classifier")
    task: TaskName = Field(
        "classification",
        description="classification (softmax scores, quality = accuracy: min_accuracy, max_accuracy) | "
        "anomaly_detection (an autoencoder trained on normal samples, labels 0 normal / 1 anomaly, scored by "
        "reconstruction error; quality = ROC AUC: min_auc, max_auc; the bundle ships a threshold chosen on the "
        "validation split)",
    )

    @model_validator(mode="after")
    def _check_route(self) -> ModelSpec:
        if self.name is not None and (self.factory or self.path):
            key = "factory" if self.factory else "path"
            raise ValueError(f"set either 'name' (the registry) or '{key}' (your own model), not both; remove one")
        if self.name is None and not (self.factory or self.path):
            raise ValueError(
                f"set 'name' ({', '.join(get_args(ModelName))}), 'factory' ('pkg.module:function') or 'path' (a .h5/.keras file)"
            )
        if self.factory is not None and not _FACTORY_REF.match(self.factory):
            raise ValueError(f"factory '{self.factory}' is not 'pkg.module:function'; write e.g. 'models.net:build'")
        if self.path is not None:
            suffix = Path(self.path).suffix
            if suffix and suffix not in (*_MODEL_FILE_SUFFIXES, ".onnx"):
                raise ValueError(f"path '{self.path}' is not a tf_keras or ONNX model; give an .h5, .keras or .onnx file or a SavedModel folder")
            if suffix == ".onnx" and self.factory:
                raise ValueError(
                    f"factory '{self.factory}' with an ONNX path: an ONNX model is used as it is (no students, no training); remove factory"
                )
            if not Path(self.path).exists():  # checked here too: else DVC's missing-dependency error comes first
                raise ValueError(f"path '{self.path}' does not exist (paths are relative to the project root); save your model there, or fix the path")
            if self.width != 1.0:
                raise ValueError("'width' scales an architecture you build; a model file has its own: remove width (or use 1.0)")
        # dvc.yaml's train stage depends on ${model.factory_file} and ${model.weights_file}: DVC reads
        # params.yaml as Hydra composed it, so these are written in the spec, and checked here.
        # A route with one file names it in both keys.
        if self.factory:
            from edgeforge.models.factory import factory_source_file

            source = factory_source_file(self.factory)
            self._check_dep("factory_file", source, f"the source of factory '{self.factory}'")
            self._check_dep("weights_file", self.path or source, "model.path" if self.path else "without model.path: the factory's source")
        elif self.path:
            self._check_dep("factory_file", self.path, "without model.factory: model.path")
            self._check_dep("weights_file", self.path, "model.path")
        return self

    def _check_dep(self, key: str, expected: str, what: str) -> None:
        value = getattr(self, key)
        if value is None:
            raise ValueError(f"'{key}' is missing: dvc.yaml's train stage depends on it; add {key}: {expected} ({what})")
        if Path(value).as_posix() != Path(expected).as_posix():
            raise ValueError(f"'{key}' is {value}, not {what}; set {key}: {expected}")

    @property
    def label(self) -> str:
        """How logs name the model: the registry name, the factory, or the file."""
        return self.name or self.factory or str(self.path)


class Augmentation(StrictModel):
    """Random, seeded changes to each training batch (base model and fine-tunes; never validation or
    test samples): the same seed gives the same batches, so training stays bit-reproducible."""

    flip: bool = Field(False, description="mirror half the images left-right (samples (H, W, C) only)")
    shift: float = Field(
        0.0, ge=0, lt=0.5,
        description="shift each sample by up to this fraction of each axis but the channels (time steps; image rows and "
                    "columns), zero-filled",
    )
    noise: float = Field(0.0, ge=0, description="standard deviation of Gaussian noise added to each value (after normalize)")


class Train(StrictModel):
    epochs: int = Field(
        ge=0, description="epochs to train the base model; with model.path, 0 evaluates the file's model as it is, > 0 fine-tunes it"
    )
    batch_size: PositiveInt = Field(64, description="mini-batch size")
    learning_rate: PositiveFloat = Field(0.001, description="Adam learning rate")
    augmentation: Augmentation | None = Field(
        None, description="seeded augmentation of the training batches (classification only; off by default)"
    )


def space_model(passes: Iterable[type[Pass]]) -> type[StrictModel]:
    """The `search.space` model: per pass, the list of its search setting's values (default `[off]`).

    Built from the pass registry, so that the passes are listed once (`edgeforge.passes`); each
    field keeps the type and description the pass declares, for the JSON schema and the docs.
    """
    settings = {cls.search.key: cls.search for cls in passes}

    def check_values(cls, values: list, info: ValidationInfo) -> list:
        for value in values:
            problem = settings[info.field_name].problem(value)
            if problem:
                raise ValueError(problem)
        return values

    def check_combinations(self):
        first_reason = None
        for combination in itertools.product(*(getattr(self, key) for key in settings)):
            reason = rejection_reason(dict(zip(settings, combination)))
            if reason is None:
                return self
            first_reason = first_reason or reason
        raise ValueError(f"no combination of the space is worth searching: {first_reason}")

    fields = {
        key: (list[setting.type], Field([setting.off], min_length=1, description=setting.description))
        for key, setting in settings.items()
    }
    return create_model(
        "Space",
        __base__=StrictModel,
        __doc__="The combinations to search: one list of values per pass (the registry's search settings).",
        __module__=__name__,
        __validators__={
            "_check_values": field_validator(*settings)(check_values),
            "_check_combinations": model_validator(mode="after")(check_combinations),
        },
        **fields,
    )


Space = space_model(PASSES.values())


class Budget(StrictModel):
    max_trainings: PositiveInt | None = Field(
        None,
        description="train at most this many models (a short multi-fidelity probe counts as one); "
        "default: unlimited for exhaustive, 30% of the recipes to train for multi_fidelity and tpe",
    )
    max_seconds: PositiveFloat | None = Field(None, description="start no new training after this many seconds")


class Distillation(StrictModel):
    temperature: PositiveFloat = Field(4.0, description="softmax temperature of the teacher's soft targets")
    soft_weight: float = Field(0.7, ge=0, le=1, description="weight of the soft loss; 1 - it weighs labels")


class Search(StrictModel):
    strategy: Literal["auto", "exhaustive", "multi_fidelity", "tpe"] = Field(
        "auto",
        description="auto = exhaustive when the pre-filter leaves at most 4 recipes to train, else "
        "multi_fidelity (short trainings first, Optuna prunes); exhaustive = train everything; "
        "tpe = Optuna's multi-objective TPE, full trainings only",
    )
    executor: Literal["local", "dask"] = Field(
        "local", description="where trainings and evaluations run: this process, or a Dask cluster"
    )
    dask_address: str | None = Field(
        None, description=(
            "scheduler address for executor: dask; its workers must see the memo folder, and the project folder "
            "for model.path or model.factory, at the same paths"),
    )
    budget: Budget = Field(default_factory=Budget, description="caps on the search's training work")
    finetune_epochs: PositiveInt = Field(4, description="epochs of each prune/cluster/QAT fine-tune")
    distill: Distillation = Field(default_factory=Distillation, description="knowledge-distillation settings")
    eval_samples: PositiveInt | None = Field(
        None, description="evaluate on at most this many held-out samples (default: all)"
    )
    space: Space = Field(default_factory=Space, description="the optimization combinations to search")

    @model_validator(mode="after")
    def _check_dask(self) -> Search:
        if self.executor == "dask" and not self.dask_address:
            raise ValueError("executor 'dask' needs dask_address, e.g. tcp://127.0.0.1:8786")
        return self


class Constraints(StrictModel):
    ram_kb: PositiveFloat | None = Field(None, description="tensor arena (RAM) limit, KiB")
    flash_kb: PositiveFloat | None = Field(None, description="model + runtime code limit, KiB")
    download_kb: PositiveFloat | None = Field(
        None,
        description="over-the-air download limit, KiB: the bundle as `edgeforge release` publishes it (bundle.tar.gz: "
        "the model files, canary, manifest and preprocessing, gzipped at level 9); pruning and clustering shrink it",
    )
    latency_ms: PositiveFloat | None = Field(None, description="predicted latency per inference, ms")
    energy_mj: PositiveFloat | None = Field(None, description="energy per inference, mJ")
    avg_power_mw: PositiveFloat | None = Field(None, description="average power at inference_hz, mW")
    inference_hz: PositiveFloat | None = Field(None, description="inference rate for avg_power_mw, Hz")
    min_accuracy: float | None = Field(None, ge=0, le=1, description="accuracy in the runtime, at least")
    min_auc: float | None = Field(
        None, ge=0, le=1, description="model.task anomaly_detection: ROC AUC in the runtime on the held-out split, at least"
    )
    max_auc_drop: float | None = Field(
        None, ge=0, le=1, description="model.task anomaly_detection: ROC AUC loss against the base model, at most"
    )
    max_accuracy_drop: float | None = Field(
        None, ge=0, le=1, description="accuracy loss against the base model, at most"
    )
    confidence: Literal["nominal", "conservative"] = Field(
        "nominal",
        description="how predicted latency, energy and average power are judged: nominal = the prediction, "
        "conservative = its upper bound, prediction x (1 + the preset's held-out latency_error)",
    )

    @model_validator(mode="after")
    def _check_power(self) -> Constraints:
        if self.avg_power_mw is not None and self.inference_hz is None:
            raise ValueError("avg_power_mw needs inference_hz (how often the model runs)")
        return self

    def limits(self) -> dict[str, float]:
        """The numeric settings that are set: the limits (and inference_hz), without `confidence`."""
        return {key: value for key, value in self.model_dump(exclude_none=True).items() if key != "confidence"}


class Target(StrictModel):
    device: Device = Field(description="device preset, picked with `device@targets.<T>.device: <name>`")
    runtime: Runtime = Field(description="runtime the model is verified and selected in")
    formats: list[Format] = Field(["tflite"], min_length=1, description="artifacts to export")
    constraints: Constraints = Field(default_factory=Constraints, description="limits the chosen model must meet")
    objective: Objective = Field("max_accuracy", description=(
        "how the feasible candidates are ranked; candidates as good on it (a tie, for a latency timed on this machine "
        "the same work, or for max_accuracy an accuracy within one standard error of the best's) go to the fewest "
        "training passes, then the cheapest"))
    quantization: list[QuantMode] | None = Field(
        None, description="restrict this target to these PTQ modes (default: every mode its runtime and device run)"
    )
    memory_plan: Literal["tflm", "offline"] = Field(
        "offline",
        description="tensor arena layout for tflite-micro: offline = edgeforge's operator order and offline memory "
        "plan (OfflineMemoryAllocation, verified in the interpreter; never larger than TFLite Micro's own), "
        "tflm = TFLite Micro's own greedy planner",
    )
    compression: Literal["lut", "none"] = Field(
        "lut",
        description="weights for tflite-micro: lut = int8 weights with few unique values per channel (clustered) "
        "stored as LUT indices with DECODE operators, only where smaller and verified bit-identical (less flash, "
        "decoded weights take arena); none = dense weights",
    )

    @model_validator(mode="after")
    def _check_against_device(self) -> Target:
        device = self.device
        if self.runtime not in device.runtimes:
            raise ValueError(
                f"runtime '{self.runtime}' does not run on {device.name}; "
                f"choose one of: {', '.join(device.runtimes)}"
            )
        runtime = RUNTIMES[self.runtime]
        for fmt in self.formats:
            loaders = [r for r in device.runtimes if fmt in RUNTIMES[r].formats]
            if not loaders:
                usable = sorted({f for r in device.runtimes for f in RUNTIMES[r].formats})
                raise ValueError(
                    f"format '{fmt}' cannot be loaded by any runtime of {device.name} "
                    f"({', '.join(device.runtimes)}); formats these load: {', '.join(usable)}"
                )
        if not set(self.formats) & set(runtime.formats):
            raise ValueError(
                f"runtime '{self.runtime}' loads none of formats {self.formats}; "
                f"add one of: {', '.join(runtime.formats)}"
            )
        unrunnable = [mode for mode in self.quantization or () if mode not in runtime.quantization_modes]
        if unrunnable:
            raise ValueError(
                f"runtime '{self.runtime}' does not run {', '.join(unrunnable)} models; "
                f"it runs {', '.join(runtime.quantization_modes)}: use quantization: {list(runtime.quantization_modes)}"
            )
        for key, device_kb in (("ram_kb", device.ram_kb), ("flash_kb", device.flash_kb)):
            limit = getattr(self.constraints, key)
            if limit is not None and limit > device_kb:
                raise ValueError(
                    f"constraints.{key} = {limit:g} exceeds what {device.name} has ({device_kb:g}); "
                    f"use at most {device_kb:g}"
                )
        if device.int8_only and self.quantization:
            floats = [mode for mode in self.quantization if mode != "int8"]
            if floats:
                raise ValueError(
                    f"{device.name} only runs int8 models but quantization asks for {floats}; "
                    "use quantization: [int8]"
                )
        return self


class Spec(StrictModel):
    """The composed, validated spec: what params.yaml holds."""

    project: Project = Field(description="name and seed")
    dataset: Dataset = Field(description="where the data comes from and how it is split")
    model: ModelSpec = Field(description="the base architecture")
    train: Train = Field(description="how the base model is trained")
    search: Search = Field(default_factory=Search, description="what the optimizer searches, and how")
    targets: dict[str, Target] = Field(min_length=1, description="named deployment targets")

    @field_validator("targets")
    @classmethod
    def _check_target_names(cls, targets: dict[str, Target]) -> dict[str, Target]:
        for name in targets:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"target name '{name}' must be letters, digits, '_' or '-'")
        return targets

    @model_validator(mode="after")
    def _check_model_route(self) -> Spec:
        model = self.model
        if self.train.epochs == 0 and not model.path:
            raise ValueError("train.epochs: 0 trains nothing; it is for model.path (evaluate your trained file), so use epochs >= 1")
        widths = [w for w in self.search.space.width if w != 1.0]
        if model.path and not model.factory and widths:
            raise ValueError(
                f"search.space.width {self.search.space.width}: width students need your architecture code; "
                "add model.factory ('pkg.module:function') beside model.path, or use width: [1.0]"
            )
        return self

    @model_validator(mode="after")
    def _check_task_metric(self) -> Spec:
        """Constraints and objectives name the task's quality metric (`model.task`)."""
        task = TASKS[self.model.task]
        for name, target in self.targets.items():
            for other in TASKS.values():
                if other is task:
                    continue
                for key in (other.min_constraint, other.drop_constraint):
                    if getattr(target.constraints, key) is not None:
                        new_key = task.min_constraint if key == other.min_constraint else task.drop_constraint
                        raise ValueError(
                            f"targets.{name}.constraints.{key}: model.task {task.name} is scored by {task.metric_label}, "
                            f"not {other.metric_label}; use {new_key}"
                        )
                if target.objective == other.objective:
                    raise ValueError(
                        f"targets.{name}.objective: {other.objective} ranks by {other.metric_label}, but model.task "
                        f"{task.name} is scored by {task.metric_label}; use objective: {task.objective}"
                    )
        if task.name != "classification" and self.train.augmentation is not None:
            # an autoencoder's target is its input: augmenting the input alone would teach it to undo the change
            raise ValueError(
                f"train.augmentation: augments the inputs of a classifier; model.task {task.name} trains on its "
                "inputs as targets; remove train.augmentation"
            )
        return self

    @model_validator(mode="after")
    def _check_onnx_model(self) -> Spec:
        """An ONNX model is used as it is: the training-time passes need the framework it was trained in."""
        if not (self.model.path or "").endswith(".onnx"):
            return self
        if self.train.epochs != 0:
            raise ValueError(
                f"train.epochs {self.train.epochs}: model.path {self.model.path} is an ONNX model, which edgeforge does not "
                "train or fine-tune; use train.epochs: 0"
            )
        space = self.search.space
        asked = [
            f"{cls.search.key} {getattr(space, cls.search.key)}"
            for cls in PASSES.values()
            if cls.search.key != "quantization" and any(value != cls.search.off for value in getattr(space, cls.search.key))
        ]
        if asked:
            raise ValueError(
                f"search.space: {', '.join(asked)} need(s) training, which an ONNX model.path ({self.model.path}) does not "
                "get; leave them at their defaults (only quantization is searched for ONNX models)"
            )
        return self

    @model_validator(mode="after")
    def _check_modes_per_target(self) -> Spec:
        for name, target in self.targets.items():
            if not self.modes_for(name):
                raise ValueError(
                    f"targets.{name}: no quantization mode in search.space.quantization "
                    f"{self.search.space.quantization} runs on runtime '{target.runtime}' of {target.device.name} "
                    f"(it runs {', '.join(m for m in QUANT_MODES if target.device.runs_mode(target.runtime, m))})"
                    + (" (the device is int8-only); add int8" if target.device.int8_only else "")
                )
        return self

    def modes_for(self, target_name: str) -> list[str]:
        """PTQ modes of the search space that this target can run: those its runtime and its device
        both run (restricted to `targets.<T>.quantization` when set)."""
        target = self.targets[target_name]
        modes = [m for m in self.search.space.quantization if target.quantization is None or m in target.quantization]
        return [m for m in modes if target.device.runs_mode(target.runtime, m)]
