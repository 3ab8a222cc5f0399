"""POS files: 4 big-endian float32 per ion (x, y, z in nm; mass-to-charge in Da), no header.

Reference: Larson et al., Local Electrode Atom Probe Tomography (Springer 2013), appendix on
file formats. Records are read in cache-sized blocks straight into the native-endian output
arrays, so reading needs no memory beyond the returned arrays and one ~1 MiB block, and the
plausibility checks (NaN/inf, value ranges) run on each block while it is in cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synthapt.data import APTDataset
from synthapt.errors import FormatError
from synthapt.io.atomic import atomic_output

POS_DTYPE = np.dtype([("xyz", ">f4", (3,)), ("mass_to_charge", ">f4")])
"""Structured big-endian record of one POS ion (16 bytes)."""
MAX_ABS_COORDINATE_NM = 1.0e4
MAX_MASS_TO_CHARGE_DA = 1.0e4
MIN_NONZERO_MAGNITUDE = 1.0e-30
"""Byte-swapped small floats turn into denormals/tiny numbers; real data never hold these."""
FIELD_LABELS = {"xyz": "coordinate", "mass_to_charge": "mass-to-charge"}
BLOCK_BYTES = 1 << 20
SAMPLE_IONS = 100_000
"""Ions (evenly spaced) checked for implausibly tiny values."""


def _file_size(p: Path, record: int, kind: str) -> int:
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
    return size


def read_fields(path: str | os.PathLike, record: np.dtype,
                kind: str) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float]]]:
    """Read a headerless file of big-endian ``record``s.

    Returns ({field: native-endian (M, ...) array}, {float field: (min, max)}). Float fields are
    checked block by block for NaN/inf (while in cache); raises FormatError for a missing,
    unreadable or empty file, or a size that is not a whole number of records (naming the
    bytes left over).
    """
    p = Path(path)
    size = _file_size(p, record.itemsize, kind)
    n = size // record.itemsize
    out = {name: np.empty((n, *record[name].shape), dtype=record[name].base.newbyteorder("="))
           for name in record.names}
    block = max(1, BLOCK_BYTES // record.itemsize)
    buf = np.empty(block, dtype=record)
    raw = memoryview(buf.view(np.uint8))
    stats = {name: (np.inf, -np.inf) for name in record.names if record[name].base.kind == "f"}
    try:
        with p.open("rb") as fh:
            for start in range(0, n, block):
                k = min(block, n - start)
                got = fh.readinto(raw[: k * record.itemsize])
                if got != k * record.itemsize:
                    raise FormatError(f"{p}: file shrank while reading ({start * record.itemsize + got} "
                                      f"of {size} bytes)")
                for name in record.names:
                    dest = out[name][start:start + k]
                    dest[...] = buf[name][:k]
                    if name not in stats:
                        continue
                    lo, hi = dest.min(), dest.max()
                    if not np.isfinite(lo + hi):
                        bad = int(dest.size - np.count_nonzero(np.isfinite(dest)))
                        label = FIELD_LABELS.get(name, name)
                        raise FormatError(f"{p}: {bad} non-finite (NaN/inf) {label} values in ions "
                                          f"{start}..{start + k - 1}; wrong byte order or not a {kind} file?")
                    stats[name] = (min(stats[name][0], float(lo)), max(stats[name][1], float(hi)))
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return out, stats


def check_plausible(p: Path, positions: np.ndarray, mass_to_charge: np.ndarray, kind: str,
                    ranges: tuple[tuple[float, float], tuple[float, float]] | None = None) -> None:
    """FormatError for NaN/inf or implausible values (|coord| > 1e4 nm, m/q < 0 or > 1e4 Da,
    non-zero magnitudes < 1e-30 among ~1e5 sampled ions), the usual signs of a wrong byte order
    or another format. ``ranges``: known ((min, max) of coordinates, (min, max) of m/q)."""
    if positions.size == 0:
        return
    if ranges is None:
        ranges = ((float(positions.min()), float(positions.max())),
                  (float(mass_to_charge.min()), float(mass_to_charge.max())))
    (lo, hi), (mq_lo, mq_hi) = ranges
    if not np.isfinite([lo, hi, mq_lo, mq_hi]).all():
        bad = int(np.count_nonzero(~np.isfinite(positions))) + int(np.count_nonzero(~np.isfinite(mass_to_charge)))
        raise FormatError(f"{p}: {bad} non-finite (NaN/inf) values; wrong byte order or not a {kind} file?")
    big = max(abs(lo), abs(hi))
    if big > MAX_ABS_COORDINATE_NM:
        raise FormatError(f"{p}: implausible coordinate {big:.3g} nm (limit {MAX_ABS_COORDINATE_NM:g}); "
                          f"wrong byte order or not a {kind} file?")
    if mq_lo < 0 or mq_hi > MAX_MASS_TO_CHARGE_DA:
        raise FormatError(f"{p}: implausible mass-to-charge {mq_lo if mq_lo < 0 else mq_hi:.3g} Da "
                          f"(expected 0..{MAX_MASS_TO_CHARGE_DA:g}); wrong byte order or not a {kind} file?")
    step = max(1, len(positions) // SAMPLE_IONS)
    for name, arr in (("coordinate", positions[::step]), ("mass-to-charge", mass_to_charge[::step])):
        mag = np.abs(arr)
        tiny = int(np.count_nonzero((mag < MIN_NONZERO_MAGNITUDE) & (mag > 0)))
        if tiny:
            raise FormatError(f"{p}: implausibly tiny (< {MIN_NONZERO_MAGNITUDE:g}) non-zero {name} "
                              f"values; wrong byte order or not a {kind} file?")


def check_not_empty(path: str | os.PathLike, dataset: APTDataset) -> None:
    if dataset.n_ions == 0:
        raise FormatError(f"{path}: dataset has no ions; refusing to write an empty file")


def read_pos(path: str | os.PathLike) -> APTDataset:
    """Read a POS file -> unranged APTDataset (positions (M,3) float32 nm, m/q (M,) float32 Da)."""
    p = Path(path)
    fields, stats = read_fields(p, POS_DTYPE, "POS")
    check_plausible(p, fields["xyz"], fields["mass_to_charge"], "POS", (stats["xyz"], stats["mass_to_charge"]))
    return APTDataset(positions=fields["xyz"], mass_to_charge=fields["mass_to_charge"],
                      metadata={"source_file": p.name, "source_format": "POS"})


def write_records(path: str | os.PathLike, record: np.dtype, columns: dict[str, np.ndarray], n: int) -> None:
    """Write ``n`` big-endian ``record``s from native ``columns`` in blocks, atomically."""
    block = max(1, BLOCK_BYTES // record.itemsize)
    buf = np.empty(block, dtype=record)
    with atomic_output(path) as tmp, tmp.open("wb") as fh:
        for start in range(0, n, block):
            k = min(block, n - start)
            for name in record.names:
                buf[name][:k] = columns[name][start:start + k]
            fh.write(memoryview(buf.view(np.uint8))[: k * record.itemsize])


def write_pos(path: str | os.PathLike, dataset: APTDataset) -> None:
    """Write ``dataset`` positions (nm) and m/q (Da) as POS; all other fields are dropped."""
    check_not_empty(path, dataset)
    write_records(path, POS_DTYPE, {"xyz": dataset.positions, "mass_to_charge": dataset.mass_to_charge},
                  dataset.n_ions)
