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
from synthapt.errors import ConfigError
from synthapt.io import check_suffix
from synthapt.io.atomic import atomic_outputs, check_outputs
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
    try:
        return from_dict(EmulationParams, data)
    except ConfigError as exc:  # name the file, keep the keys as written in it
        raise ConfigError(f"{path}: {exc}" if path is not None else str(exc)) from None


OUTPUT_FORMATS = {"output": (".h5", ".hdf5"), "pos": (".pos",), "epos": (".epos",), "rrng": (".rrng",)}
"""Allowed extensions of the files ``emulate_files`` writes."""


def check_emulation_outputs(specimen_path: PathLike, output: PathLike, pos: PathLike | None = None,
                            epos: PathLike | None = None,
                            rrng: PathLike | None = None) -> dict[str, PathLike | None]:
    """Check the outputs of ``emulate_files`` before any work (extension, folder, distinct, not
    the specimen); SynthaptError otherwise. Returns them by option name."""
    outputs = {"output": output, "pos": pos, "epos": epos, "rrng": rrng}
    for option, path in outputs.items():
        if path is not None:
            check_suffix(path, OUTPUT_FORMATS[option], f"{option} file")
    check_outputs(outputs, inputs=[specimen_path])
    return outputs


def emulate_files(specimen_path: PathLike, output: PathLike, params: EmulationParams, seed: int = 0,
                  pos: PathLike | None = None, epos: PathLike | None = None,
                  rrng: PathLike | None = None,
                  progress: Callable[[str, IonBundle], None] | None = None) -> APTDataset:
    """Emulate the specimen of ``specimen_path`` and write the dataset (HDF5 with ground truth,
    resolved parameters as config) to ``output``, and the classic POS / ePOS / RRNG files if given.
    Every output is checked (extension, folder, not an input) before any work, and either all of
    them are written or none."""
    outputs = check_emulation_outputs(specimen_path, output, pos, epos, rrng)
    specimen = read_specimen(Path(specimen_path))
    dataset = emulate(specimen, params, seed, progress)
    writers = {"output": lambda path: write_dataset(path, dataset, config=params.resolved()),
               "pos": lambda path: write_pos(path, dataset),
               "epos": lambda path: write_epos(path, dataset),
               "rrng": lambda path: write_rrng(path, dataset.ranges)}
    chosen = [option for option, path in outputs.items() if path is not None]
    with atomic_outputs([outputs[option] for option in chosen]) as temporary:
        for option, path in zip(chosen, temporary):
            writers[option](path)
    return dataset
