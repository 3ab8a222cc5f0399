"""File-level emulation: specimen HDF5 in, dataset HDF5 (+ POS / ePOS / RRNG) out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from synthapt.apt.bundle import IonBundle
from synthapt.apt.emulate import emulate
from synthapt.apt.params import EmulationParams
from synthapt.config import from_dict, read_toml
from synthapt.data import APTDataset
from synthapt.io.epos import write_epos
from synthapt.io.hdf5 import read_specimen, write_dataset
from synthapt.io.pos import write_pos
from synthapt.io.rrng import write_rrng

PathLike = str | os.PathLike


def load_params(path: PathLike | None = None, instrument: str | None = None) -> EmulationParams:
    """EmulationParams from a TOML file (defaults if None); ``instrument`` overrides the file's."""
    data = read_toml(path) if path is not None else {}
    if instrument is not None:
        data = {**data, "instrument": instrument}
    where = str(path) if path is not None else ""
    return from_dict(EmulationParams, data, where)


def emulate_files(specimen_path: PathLike, output: PathLike, params: EmulationParams, seed: int = 0,
                  pos: PathLike | None = None, epos: PathLike | None = None,
                  rrng: PathLike | None = None,
                  progress: Callable[[str, IonBundle], None] | None = None) -> APTDataset:
    """Emulate the specimen of ``specimen_path`` and write the dataset (HDF5 with ground truth,
    resolved parameters as config) to ``output``, and the classic POS / ePOS / RRNG files if given."""
    specimen = read_specimen(Path(specimen_path))
    dataset = emulate(specimen, params, seed, progress)
    write_dataset(output, dataset, config=params.resolved())
    if pos is not None:
        write_pos(pos, dataset)
    if epos is not None:
        write_epos(epos, dataset)
    if rrng is not None:
        write_rrng(rrng, dataset.ranges)
    return dataset
