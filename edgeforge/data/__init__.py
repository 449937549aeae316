"""Dataset loaders: built-in digits, user npz and csv files; a deterministic stratified split."""

from edgeforge.data.loaders import Splits, load_dataset, load_splits, save_splits, split_dataset

__all__ = ["Splits", "load_dataset", "load_splits", "save_splits", "split_dataset"]
