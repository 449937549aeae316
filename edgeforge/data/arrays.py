"""Array data: npz files (x, y) and CSV files, as tables or as recordings cut into windows.

    npz   x: (N, ...) features, y: (N,) integer classes 0..N-1 or class names (strings)
    csv   a header row; one column per feature (or channel) and a label column.
          Without dataset.window each row is a sample: x is (N, features).
          With dataset.window the rows are time steps of a recording: windows of `window` rows
          that start every `stride` rows, within runs of one label, give x (N, window, channels).
          dataset.path may be a folder of CSV files (one recording each, same header).
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from edgeforge.data.checks import Where, encode_labels
from edgeforge.data.source import Header, Source


def read_npz(path: Path, where: Where) -> Source:
    with _open_npz(path, where) as archive:
        try:
            x = archive["x"]
            raw_y = archive["y"]
        except ValueError as error:  # object arrays need pickle, which we never load
            raise where.error(
                "path", f"{where.path}: {error}; save plain arrays, labels as integers or np.array(names, dtype=str)"
            ) from None
        except (OSError, EOFError, zipfile.BadZipFile) as error:  # a truncated or altered archive (bad CRC)
            raise where.error("path", f"{where.path} could not be read as npz: {error}; save it again with np.savez") from None
    if x.dtype.kind not in "iuf" or x.dtype.kind == "b":
        raise where.error("path", f"{where.path}: x is {x.dtype}; features must be numbers")
    _check_lengths(x.shape, raw_y.shape, where)
    y, names = encode_labels(raw_y, where)
    return Source(x=x.astype(np.float32), y=y, class_names=names)


def inspect_npz(path: Path, where: Where) -> Header:
    """Shapes from the .npy headers and the labels, without reading x."""
    with _open_npz(path, where) as archive:
        shape = _npy_shape(archive.zip, "x.npy", where)
        try:
            raw_y = archive["y"]
        except ValueError as error:
            raise where.error("path", f"{where.path}: {error}; save labels as integers or np.array(names, dtype=str)") from None
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise where.error("path", f"{where.path} could not be read as npz: {error}; save it again with np.savez") from None
    _check_lengths(shape, raw_y.shape, where)
    y, names = encode_labels(raw_y, where)
    return Header(input_shape=tuple(shape[1:]), y=y, class_names=names)


def _open_npz(path: Path, where: Where):
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise where.error("path", f"{where.path} could not be read as npz: {error}; save it with np.savez(path, x=..., y=...)") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise where.error("path", f"{where.path} could not be read as npz: it is a single .npy array; save it with np.savez(path, x=..., y=...)")
    missing = {"x", "y"} - set(archive.files)
    if missing:
        archive.close()
        raise where.error(
            "path",
            f"{where.path} could not be read as npz: arrays {sorted(missing)} missing (found {archive.files}); "
            "save x=features, y=labels",
        )
    return archive


def _npy_shape(archive: zipfile.ZipFile, member: str, where: Where) -> tuple[int, ...]:
    try:
        with archive.open(member) as handle:
            major, _ = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, _ = read_header(handle)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        raise where.error("path", f"{where.path} could not be read as npz: {member}: {error}") from None
    return tuple(shape)


def _check_lengths(x_shape: tuple, y_shape: tuple, where: Where) -> None:
    if len(x_shape) < 2:
        raise where.error("path", f"{where.path}: x has shape {x_shape}; it must be (N, features...) with one row per sample")
    if len(y_shape) != 1 or y_shape[0] != x_shape[0]:
        raise where.error("path", f"{where.path}: x has {x_shape[0]} samples but y has shape {y_shape}; give one label per sample")


# -- CSV ----------------------------------------------------------------------------------------


def read_csv(path: Path, label_column: str, window: int | None, stride: int | None, where: Where) -> Source:
    recordings = [_read_table(file, where.show(file), label_column, where) for file in _csv_files(path, where)]
    _check_same_columns(recordings, where)
    raw = np.concatenate([labels for _, labels, _ in recordings])
    y_all, names = encode_labels(raw, where, column=label_column)
    if window is None:
        x = np.concatenate([features for features, _, _ in recordings]).astype(np.float32)
        return Source(x=x, y=y_all, class_names=names)
    xs, ys, longest, start = [], [], 0, 0
    for features, labels, _ in recordings:
        y = y_all[start:start + len(labels)]
        start += len(labels)
        longest = max(longest, _longest_run(y))
        for begin in _window_starts(y, window, stride or window):
            xs.append(features[begin:begin + window])
            ys.append(y[begin])
    if not xs:
        raise _no_window(window, longest, where)
    y = np.asarray(ys, dtype=np.int64)
    present = np.unique(y)
    if present.size < len(names):  # a class whose runs are all shorter than a window vanished
        lost = [names[i] for i in sorted(set(range(len(names))) - set(present.tolist()))]
        raise where.error("window", f"{where.path}: class {lost[0]!r} has no run of {window} rows; lower dataset.window")
    return Source(x=np.stack(xs).astype(np.float32), y=y, class_names=names)


def inspect_csv(path: Path, label_column: str, window: int | None, stride: int | None, where: Where) -> Header:
    """Columns from the header and the label column, without converting the features."""
    columns, labels, lengths = [], [], []
    for file in _csv_files(path, where):
        header, rows = _rows(file, where.show(file), where)
        index = _label_index(header, label_column, where)
        columns.append([name for name in header if name != label_column])
        labels += [row[index] if index < len(row) else "" for row in rows]
        lengths.append(len(rows))
    if any(names != columns[0] for names in columns):
        raise where.error("path", f"{where.path}: the CSV files have different columns; give them one header")
    y, names = encode_labels(_parse_labels(labels), where, column=label_column)
    features = len(columns[0])
    if window is None:
        return Header(input_shape=(features,), y=y, class_names=names)
    # the windows' labels follow from the label runs alone: class sizes are checked before loading
    windows, longest, start = [], 0, 0
    for length in lengths:
        file_y = y[start:start + length]
        start += length
        longest = max(longest, _longest_run(file_y))
        windows += [file_y[begin] for begin in _window_starts(file_y, window, stride or window)]
    if not windows:
        raise _no_window(window, longest, where)
    return Header(input_shape=(window, features), y=np.asarray(windows, dtype=np.int64), class_names=names)


def _csv_files(path: Path, where: Where) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.glob("*.csv") if p.is_file())
    if not files:
        raise where.error("path", f"{where.path}: a folder with no .csv files; put recordings there, one CSV each")
    return files


def _rows(file: Path, shown: str, where: Where) -> tuple[list[str], list[list[str]]]:
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise where.error("path", f"{shown} could not be read as csv: {error}") from None
    if len(rows) < 2:
        raise where.error("path", f"{shown} could not be read as csv: a header row and at least one data row are needed")
    return [name.strip() for name in rows[0]], rows[1:]


def _label_index(header: list[str], label_column: str, where: Where) -> int:
    if label_column not in header:
        raise where.error(
            "label_column",
            f"{where.path}: no column '{label_column}' (columns: {', '.join(header)}); set dataset.label_column",
        )
    return header.index(label_column)


def _read_table(file: Path, shown: str, label_column: str, where: Where) -> tuple[np.ndarray, np.ndarray, list[str]]:
    header, rows = _rows(file, shown, where)
    index = _label_index(header, label_column, where)
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise where.error(
                "path", f"{shown}: line {number} has {len(row)} cells, the header {len(header)}; fix that line"
            )
    cells = np.array(rows, dtype=str)
    labels = _parse_labels(cells[:, index].tolist())
    feature_columns = [i for i in range(len(header)) if i != index]
    if not feature_columns:
        raise where.error("path", f"{shown}: no feature columns besides '{label_column}'")
    try:
        features = cells[:, feature_columns].astype(np.float64)
    except ValueError:
        features = _locate_bad_cell(shown, header, cells, feature_columns, where)
    bad = ~np.isfinite(features)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise where.error(
            "path",
            f"{shown}: line {row + 2}, column '{header[feature_columns[column]]}' is {str(cells[row, feature_columns[column]])!r} "
            "(NaN or inf); fill or drop it before training",
        )
    return features, labels, [header[i] for i in feature_columns]


def _locate_bad_cell(shown: str, header, cells, feature_columns, where: Where):
    for row_number, row in enumerate(cells):
        for column in feature_columns:
            try:
                float(row[column])
            except ValueError:
                cell = repr(str(row[column])) if row[column].strip() else "empty"
                raise where.error(
                    "path",
                    f"{shown}: line {row_number + 2}, column '{header[column]}' is {cell}, not a number; "
                    "features must be numeric (only the label column may hold names)",
                ) from None
    raise AssertionError("unreachable: numpy rejected a cell that float() accepts")


def _parse_labels(values: list[str]) -> np.ndarray:
    """Integers when every label is a number, else names (so '1' and 'walk' are both names)."""
    stripped = np.char.strip(np.asarray(values, dtype=str))
    try:
        return stripped.astype(np.float64)
    except ValueError:
        return stripped


def _check_same_columns(recordings, where: Where) -> None:
    first = recordings[0][2]
    for _, _, columns in recordings[1:]:
        if columns != first:
            raise where.error("path", f"{where.path}: the CSV files have different columns ({first} vs {columns}); give them one header")


def _window_starts(y: np.ndarray, window: int, stride: int) -> list[int]:
    """Starts of the windows that lie within one run of a label, `stride` apart in each run."""
    starts = []
    boundaries = np.flatnonzero(np.diff(y)) + 1
    for begin, end in zip(np.r_[0, boundaries], np.r_[boundaries, len(y)]):
        starts += range(int(begin), int(end) - window + 1, stride)
    return starts


def _no_window(window: int, longest: int, where: Where):
    return where.error(
        "window", f"{where.path}: no run of rows with one label is {window} rows long (longest: {longest}); lower dataset.window"
    )


def _longest_run(y: np.ndarray) -> int:
    boundaries = np.r_[0, np.flatnonzero(np.diff(y)) + 1, len(y)]
    return int(np.diff(boundaries).max())
