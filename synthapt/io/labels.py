"""Per-ion label files written by other tools: ``.npy``, one-column ``.csv`` or ``file.h5:/inner``."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from synthapt.errors import FormatError, SynthaptError
from synthapt.io.hdf5 import check_declared_size
from synthapt.memory import check_memory, format_bytes


def read_labels(spec: str | Path) -> np.ndarray:
    """Per-ion labels from ``x.npy``, ``x.csv`` (one column, optional header line) or
    ``file.h5:/path/to/dataset``. Values are checked later against the dataset."""
    text = str(spec)
    match = re.fullmatch(r"(.+\.(?:h5|hdf5)):(.+)", text, flags=re.IGNORECASE)
    if match:
        return _read_h5_labels(Path(match.group(1)), match.group(2))
    path = Path(text)
    if not path.is_file():
        raise SynthaptError(f"{path}: labels file not found")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        check_npy_size(path)
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
        return arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if suffix in (".csv", ".txt"):
        return _read_csv_labels(path)
    if suffix in (".h5", ".hdf5"):
        raise SynthaptError(f"{path}: name the labels inside the file as {path}:/path/to/dataset")
    raise SynthaptError(f"{path}: unknown labels format {suffix!r} (use .npy, .csv or file.h5:/path)")


def check_npy_size(path: Path) -> None:
    """Before loading the ``.npy`` file ``path``: its header must be readable and the bytes it
    declares (shape x item size) must be stored in the file and fit in the memory budget.
    FormatError / SynthaptError otherwise."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            read_header = {(1, 0): fmt.read_array_header_1_0,
                           (2, 0): fmt.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = read_header(fh)  # checks the header's syntax
            offset = fh.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "empty or truncated header"
        raise FormatError(f"{path}: not a readable .npy array ({reason})") from None
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    what = f"{path} ({' x '.join(map(str, shape)) or 'scalar'} {dtype})"
    stored = os.path.getsize(path) - offset
    if not dtype.hasobject and nbytes > stored:
        raise FormatError(f"{what}: declares {format_bytes(nbytes)} of data, but the file stores "
                          f"{format_bytes(stored)} (truncated or forged header)")
    check_memory(nbytes, what)


def _read_csv_labels(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (byte {exc.start}); save the labels as "
                          "UTF-8 CSV, one number per line") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and not _is_number(lines[0].split(",")[0]):
        lines = lines[1:]  # header
    values = []
    for number, line in enumerate(lines, start=1):
        cells = line.split(",")
        if len(cells) != 1 or not _is_number(cells[0]):
            raise FormatError(f"{path}: line {number} is not a single number: {line[:40]!r}")
        values.append(float(cells[0]))
    if not values:
        raise FormatError(f"{path}: no labels in the file")
    return np.array(values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_h5_labels(path: Path, inner: str) -> np.ndarray:
    import h5py  # heavy; only for .h5 label files

    if not path.is_file():
        raise SynthaptError(f"{path}: labels file not found")
    try:
        with h5py.File(path, "r") as fh:
            if inner not in fh or not isinstance(fh[inner], h5py.Dataset):
                raise FormatError(f"{path}: no dataset {inner!r} in the file")
            check_declared_size(fh[inner])
            return np.asarray(fh[inner][()])
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None
