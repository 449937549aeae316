"""Data sets: built-in digits, npz arrays, CSV tables and recordings, image folders, wav folders
with an audio frontend; the checks run before anything trains; the deterministic stratified split."""

from edgeforge.data.loaders import Prepared, inspect_dataset, load_dataset, prepare_dataset, validate_project_data
from edgeforge.data.splits import Splits, load_splits, save_splits, split_dataset

__all__ = [
    "Prepared", "Splits", "inspect_dataset", "load_dataset", "load_splits", "prepare_dataset", "save_splits",
    "split_dataset", "validate_project_data",
]
