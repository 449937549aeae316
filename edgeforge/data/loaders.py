"""One entry point per use of the data: `inspect_dataset` (edgeforge validate: headers and labels),
`prepare_dataset` (the prepare stage: everything, checked, split), `load_dataset` (x, y for library
use). The per-kind readers live in arrays.py, images.py and audio.py; docs/data.md describes the
kinds and their shapes.

    read → check labels, class sizes, values, the model's input → split → (images: augment the
    train split; audio: frontend per split, noise into train) → (normalize) → Prepared
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edgeforge.data import arrays, audio, images
from edgeforge.data.checks import Where, check_class_sizes, check_finite, check_model_input
from edgeforge.data.source import Header, Source, arrays_sha256, path_sha256
from edgeforge.data.splits import Splits, load_splits, normalize_splits, save_splits, split_dataset
from edgeforge.errors import BuildError, DataError
from edgeforge.spec.models import Dataset

__all__ = [
    "Prepared", "Splits", "inspect_dataset", "load_dataset", "load_splits", "prepare_dataset", "save_splits",
    "split_dataset", "validate_project_data",
]

DIGITS_SHAPE = (8, 8, 1)
DIGITS_CLASSES = [str(i) for i in range(10)]
PARITY_CLIPS = 32  # test clips the device-side frontend is checked on
DVC_DATA_DEPENDENCY = "${dataset.path}"


@dataclass(frozen=True)
class Prepared:
    splits: Splits
    info: dict  # build/data/info.json: shapes, classes, the data's hash, the preprocessing to ship
    frontend_model: bytes | None = None  # audio: the frontend as a TFLite model (frontend.tflite)


def where_of(config: Dataset, origin: str, root: str | Path = ".", model_origin: str | None = None) -> Where:
    base = Path(root) / config.path if config.path else Path(root)
    return Where(origin=origin, path=config.path or config.name, base=base, model_origin=model_origin)


def inspect_dataset(
    config: Dataset, root: str | Path = ".", origin: str = "params.yaml", model_name: str | None = None,
    model_origin: str | None = None,
) -> Header:
    """Headers and labels only: the cheap checks `edgeforge validate` runs before anything trains."""
    where = where_of(config, origin, root, model_origin)
    if config.name == "digits":
        if config.path:  # a DVC dependency even for built-in data: it must exist
            _existing_path(config, root, where)
        header = Header(input_shape=DIGITS_SHAPE, y=None, class_names=DIGITS_CLASSES)
    else:
        path = _existing_path(config, root, where)
        if config.name == "npz":
            header = arrays.inspect_npz(path, where)
        elif config.name == "csv":
            header = arrays.inspect_csv(path, config.label_column, config.window, config.stride, where)
        elif config.name == "image_dir":
            header = images.inspect_image_dir(path, config.image_size, config.color, where)
        else:
            header = audio.inspect_audio_dir(path, config.frontend, where)
    if header.y is not None:
        check_class_sizes(header.y, header.class_names, config.test_fraction, config.val_fraction, where)
    check_model_input(model_name, header.input_shape, where)
    return header


def validate_project_data(
    config: Dataset, model_name: str, origin: str, root: str | Path = ".", dvc_yaml: str | Path | None = "dvc.yaml",
    model_origin: str | None = None,
) -> Header:
    """`edgeforge validate`'s data checks: `inspect_dataset`, and that dvc.yaml's data dependency resolves."""
    dvc_file = Path(root) / dvc_yaml if dvc_yaml else None
    if not config.path and dvc_file is not None and dvc_file.is_file() and DVC_DATA_DEPENDENCY in dvc_file.read_text():
        raise DataError(
            f"{origin}: dataset.path: not set, but {dvc_yaml}'s prepare stage depends on {DVC_DATA_DEPENDENCY}; "
            f"set it (built-in {config.name}: path: specs/dataset/{config.name}.yaml, the preset itself)"
        )
    return inspect_dataset(config, root, origin, model_name, model_origin)


def prepare_dataset(
    config: Dataset, seed: int, root: str | Path = ".", origin: str = "params.yaml", model_name: str | None = None
) -> Prepared:
    """The checked, split (and for images/audio: augmented, featurized) data, and its info.json."""
    where = where_of(config, origin, root)
    source = read_source(config, root, where)
    check_class_sizes(source.y, source.class_names, config.test_fraction, config.val_fraction, where)
    if config.name != "audio_dir":
        check_finite(source.x, where)
        check_model_input(model_name, source.x.shape[1:], where)
    else:
        from edgeforge.data.frontend import frontend_shape

        check_model_input(model_name, frontend_shape(config.frontend).output_shape, where)
    try:
        splits = split_dataset(source.x, source.y, config, seed)
    except ValueError as error:  # what the class-size check cannot foresee, in scikit-learn's words
        raise where.error("test_fraction", f"{where.path}: the stratified split failed: {error}; adjust the fractions or add samples") from None
    preprocessing: dict = {"normalize": None, "frontend": None}
    frontend_model = None
    if config.name == "image_dir" and config.augment_copies:
        x_train, y_train = images.augment_images(splits.x_train, splits.y_train, config.augment_copies, seed)
        splits = replace(splits, x_train=x_train, y_train=y_train)
    if config.name == "audio_dir":
        splits, frontend_model, preprocessing["frontend"] = _featurize_audio(splits, source, config, seed, where)
    if config.normalize:
        splits, preprocessing["normalize"] = normalize_splits(splits)
    info = {
        "input_shape": list(splits.input_shape),
        "num_classes": len(source.class_names),
        "class_names": source.class_names,
        "train": len(splits.y_train), "val": len(splits.y_val), "test": len(splits.y_test),
        "source": {"kind": config.name, "path": config.path if config.name != "digits" else None,
                   "sha256": _source_sha256(config, root, source)},
        "preprocessing": preprocessing,
    }
    return Prepared(splits=splits, info=info, frontend_model=frontend_model)


def load_dataset(config: Dataset, root: str | Path = ".", origin: str = "params.yaml") -> tuple[np.ndarray, np.ndarray]:
    """Model-ready features (float32, N x ...) and class indices (N,), unsplit and unaugmented."""
    where = where_of(config, origin, root)
    source = read_source(config, root, where)
    if config.name == "audio_dir":
        return audio.featurize(source.x, config.frontend, where), source.y
    return source.x, source.y


def read_source(config: Dataset, root: str | Path, where: Where) -> Source:
    if config.name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]  # 8x8x1 images in [0, 1]
        return Source(x=x, y=digits.target.astype(np.int64), class_names=DIGITS_CLASSES)
    path = _existing_path(config, root, where)
    if config.name == "npz":
        return arrays.read_npz(path, where)
    if config.name == "csv":
        return arrays.read_csv(path, config.label_column, config.window, config.stride, where)
    if config.name == "image_dir":
        return images.read_image_dir(path, config.image_size, config.color, where)
    return audio.read_audio_dir(path, config.frontend, where)


def _existing_path(config: Dataset, root: str | Path, where: Where) -> Path:
    path = Path(root) / str(config.path)
    if not path.exists():
        what = "file" if config.name in ("npz", "csv") else "folder"
        raise where.error(
            "path", f"{config.path} does not exist; point dataset.path at your {config.name} {what}, relative to the project root"
        )
    return path


def _source_sha256(config: Dataset, root: str | Path, source: Source) -> str:
    """The data's hash: of the file or folder the user gave, or of the built-in arrays."""
    if config.name == "digits":
        return arrays_sha256(source.x, source.y)
    return path_sha256(Path(root) / str(config.path))


def _featurize_audio(splits: Splits, source: Source, config: Dataset, seed: int, where: Where):
    """Features per split (noise into train only), the device-side frontend and its parity."""
    from edgeforge.data.frontend import (
        PARITY_TOLERANCE, frontend_parameters, frontend_parity, frontend_shape, frontend_tflite,
    )

    frontend = config.frontend
    featurized = replace(
        splits,
        x_train=audio.featurize(splits.x_train, frontend, where, source.extras["background"], seed),
        x_val=audio.featurize(splits.x_val, frontend, where),
        x_test=audio.featurize(splits.x_test, frontend, where),
    )
    check_finite(featurized.x_train, where)
    model = frontend_tflite(frontend)
    clip_samples = frontend_shape(frontend).clip_samples
    clips = np.stack([audio.fit_clip(audio.read_wav(Path(f), frontend, where), clip_samples) for f in splits.x_test[:PARITY_CLIPS]])
    parity = [frontend_parity(model, clips, featurized.x_test[:PARITY_CLIPS], runtime) for runtime in _parity_runtimes()]
    for check in parity:
        if check["max_abs_diff"] > PARITY_TOLERANCE:
            raise BuildError(
                f"audio frontend: frontend.tflite in {check['runtime']} differs from the training features by "
                f"{check['max_abs_diff']:.3g} (tolerance {PARITY_TOLERANCE:g}); the device would see other features"
            )
        check["max_abs_diff"] = float(f"{check['max_abs_diff']:.3g}")
    return featurized, model, {**frontend_parameters(frontend), "model_file": "frontend.tflite", "parity": parity}


def _parity_runtimes() -> list[str]:
    """The runtimes the frontend is verified in: LiteRT (SBCs, phones) and TFLite Micro (MCUs)."""
    from edgeforge.runtimes import runtime_for_format

    runtimes = (runtime_for_format("tflite"), runtime_for_format("tflm_c"))  # LiteRT, TFLite Micro
    return [runtime.name for runtime in runtimes if runtime is not None]
