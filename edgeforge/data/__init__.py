"""Data sets: built-in digits, npz arrays, CSV tables and recordings, image folders, wav folders
with an audio frontend; the checks run before anything trains; the deterministic stratified split.

Names are imported from their module on first use (PEP 562): a stage that only loads the prepared
splits does not import the loaders, the audio frontend and the image decoders."""

from importlib import import_module

_HOMES = {
    "Prepared": "loaders", "inspect_dataset": "loaders", "load_dataset": "loaders",
    "prepare_dataset": "loaders", "validate_project_data": "loaders",
    "Splits": "splits", "load_splits": "splits", "save_splits": "splits", "split_dataset": "splits",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"edgeforge.data.{_HOMES[name]}"), name)
