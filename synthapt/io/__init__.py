"""Readers and writers: POS, ePOS, RRNG, RNG, APT6, and the synthapt HDF5 dataset file.

``load_dataset`` / ``save_dataset`` pick the format from the file extension.
"""

from __future__ import annotations

import os
from pathlib import Path

from synthapt.data import APTDataset
from synthapt.errors import FormatError
from synthapt.io.apt6 import read_apt6
from synthapt.io.epos import read_epos, write_epos
from synthapt.io.hdf5 import read_dataset, write_dataset
from synthapt.io.pos import read_pos, write_pos
from synthapt.io.rng import read_rng
from synthapt.io.rrng import read_rrng

DATASET_READ_FORMATS = (".h5", ".hdf5", ".pos", ".epos", ".apt")
DATASET_WRITE_FORMATS = (".h5", ".hdf5", ".pos", ".epos")
RANGE_FORMATS = (".rrng", ".rng")


def _suffix(path: str | os.PathLike, allowed: tuple[str, ...], what: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise FormatError(f"{path}: unknown {what} extension {suffix or '(none)'!r} "
                          f"(known: {', '.join(allowed)})")
    return suffix


def load_ranges(path: str | os.PathLike):
    """Read a .rrng or .rng range file -> ``synthapt.ranges.RangeTable``."""
    if _suffix(path, RANGE_FORMATS, "range file") == ".rrng":
        return read_rrng(path)
    return read_rng(path)


def apply_ranges(dataset: APTDataset, ranges) -> APTDataset:
    """A new dataset ranged with ``ranges`` (RangeTable): species codes, species_names, ranges."""
    return dataset.replace(species=ranges.assign(dataset.mass_to_charge),
                           species_names=ranges.ion_names, ranges=ranges)


def load_dataset(path: str | os.PathLike, ranges=None) -> APTDataset:
    """Read .h5/.hdf5/.pos/.epos/.apt by extension; ``ranges`` (path to .rrng/.rng or a
    RangeTable) re-ranges the ions (species, species_names, ranges)."""
    suffix = _suffix(path, DATASET_READ_FORMATS, "dataset")
    reader = {".h5": read_dataset, ".hdf5": read_dataset, ".pos": read_pos, ".epos": read_epos,
              ".apt": read_apt6}[suffix]
    table = load_ranges(ranges) if isinstance(ranges, (str, os.PathLike)) else ranges
    dataset = reader(path)
    return dataset if table is None else apply_ranges(dataset, table)


def save_dataset(path: str | os.PathLike, dataset: APTDataset) -> None:
    """Write ``dataset`` as .h5/.hdf5 (everything), .pos (positions, m/q) or .epos (+ ePOS fields)."""
    suffix = _suffix(path, DATASET_WRITE_FORMATS, "output")
    if suffix in (".h5", ".hdf5"):
        write_dataset(path, dataset)
    elif suffix == ".pos":
        write_pos(path, dataset)
    else:
        write_epos(path, dataset)


def convert_file(source: str | os.PathLike, target: str | os.PathLike, ranges=None) -> APTDataset:
    """Read ``source`` (optionally ranging it), write it to ``target``; returns the dataset."""
    dataset = load_dataset(source, ranges)
    save_dataset(target, dataset)
    return dataset


__all__ = ["load_dataset", "save_dataset", "load_ranges", "apply_ranges", "convert_file"]
