"""POS files: 4 big-endian float32 per ion (x, y, z in nm; mass-to-charge in Da), no header.

Reference: Larson et al., Local Electrode Atom Probe Tomography (Springer 2013), appendix on
file formats. Reading uses one ``np.fromfile`` and an in-place byte swap (about 16 bytes per ion
of memory beyond the returned arrays).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synthapt.data import APTDataset
from synthapt.errors import FormatError
from synthapt.io.atomic import atomic_output

POS_COLUMNS = 4
MAX_ABS_COORDINATE_NM = 1.0e4
MAX_MASS_TO_CHARGE_DA = 1.0e4
MIN_NONZERO_MAGNITUDE = 1.0e-30
"""Byte-swapped small floats turn into denormals/tiny numbers; real data never hold these."""


def read_records(path: str | os.PathLike, n_columns: int, kind: str) -> np.ndarray:
    """(M, n_columns) native uint32 words of a headerless big-endian 4-byte-per-value file.

    Raises FormatError for a missing/unreadable/empty file or a size that is not a whole number
    of records (naming the bytes left over).
    """
    p = Path(path)
    record = 4 * n_columns
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise FormatError(f"{p}: file not found") from None
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror})") from None
    if p.is_dir():
        raise FormatError(f"{p}: is a folder, expected a {kind} file")
    if size == 0:
        raise FormatError(f"{p}: empty file, expected {record}-byte {kind} records")
    if size % record:
        raise FormatError(
            f"{p}: size {size} bytes is not a whole number of {record}-byte {kind} records "
            f"({size % record} bytes left over); truncated or not a {kind} file?")
    try:
        words = np.fromfile(p, dtype=np.uint32)
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc})") from None
    if len(words) * 4 != size:
        raise FormatError(f"{p}: read {len(words) * 4} of {size} bytes")
    if np.little_endian:  # file is big-endian: swap once, in place
        words.byteswap(inplace=True)
    return words.reshape(-1, n_columns)


def check_plausible(p: Path, positions: np.ndarray, mass_to_charge: np.ndarray, kind: str) -> None:
    """FormatError for NaN/inf or implausible values (|coord| > 1e4 nm, m/q < 0 or > 1e4 Da,
    non-zero magnitudes < 1e-30), the usual signs of a wrong byte order or another format."""
    for name, arr in (("coordinates", positions), ("mass-to-charge", mass_to_charge)):
        finite = np.isfinite(arr)
        if not finite.all():
            bad = int(arr.size - np.count_nonzero(finite))
            raise FormatError(f"{p}: {bad} non-finite (NaN/inf) {name}; wrong byte order or not a {kind} file?")
    for name, arr in (("coordinate", positions), ("mass-to-charge", mass_to_charge)):
        mag = np.abs(arr)
        tiny = np.count_nonzero((mag < MIN_NONZERO_MAGNITUDE) & (mag > 0))
        if tiny:
            raise FormatError(f"{p}: {tiny} implausibly tiny (< {MIN_NONZERO_MAGNITUDE:g}) non-zero {name} "
                              f"values; wrong byte order or not a {kind} file?")
    big = float(np.abs(positions).max(initial=0.0))
    if big > MAX_ABS_COORDINATE_NM:
        raise FormatError(f"{p}: implausible coordinate {big:.3g} nm (limit {MAX_ABS_COORDINATE_NM:g}); "
                          f"wrong byte order or not a {kind} file?")
    lo, hi = float(mass_to_charge.min(initial=0.0)), float(mass_to_charge.max(initial=0.0))
    if lo < 0 or hi > MAX_MASS_TO_CHARGE_DA:
        raise FormatError(f"{p}: implausible mass-to-charge {lo if lo < 0 else hi:.3g} Da "
                          f"(expected 0..{MAX_MASS_TO_CHARGE_DA:g}); wrong byte order or not a {kind} file?")


def check_not_empty(path: str | os.PathLike, dataset: APTDataset) -> None:
    if dataset.n_ions == 0:
        raise FormatError(f"{path}: dataset has no ions; refusing to write an empty file")


def read_pos(path: str | os.PathLike) -> APTDataset:
    """Read a POS file -> unranged APTDataset (positions (M,3) float32 nm, m/q (M,) float32 Da)."""
    p = Path(path)
    values = read_records(p, POS_COLUMNS, "POS").view(np.float32)
    positions = np.ascontiguousarray(values[:, :3])
    mass_to_charge = np.ascontiguousarray(values[:, 3])
    del values
    check_plausible(p, positions, mass_to_charge, "POS")
    return APTDataset(positions=positions, mass_to_charge=mass_to_charge,
                      metadata={"source_file": p.name, "source_format": "POS"})


def write_pos(path: str | os.PathLike, dataset: APTDataset) -> None:
    """Write ``dataset`` positions (nm) and m/q (Da) as POS; all other fields are dropped."""
    check_not_empty(path, dataset)
    out = np.empty((dataset.n_ions, POS_COLUMNS), dtype=">f4")
    out[:, :3] = dataset.positions
    out[:, 3] = dataset.mass_to_charge
    with atomic_output(path) as tmp:
        out.tofile(tmp)
