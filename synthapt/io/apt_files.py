"""File-level emulation (specimen HDF5 in, dataset HDF5 + POS / ePOS / RRNG out) and
reconstruction (ePOS or dataset in, dataset with reconstructed positions out)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from synthapt.apt.bundle import IonBundle
from synthapt.apt.emulate import emulate
from synthapt.apt.params import EmulationParams, ReconstructionParams
from synthapt.apt.reconstruct import reconstruct
from synthapt.config import from_dict, read_toml, to_dict
from synthapt.data import APTDataset
from synthapt.errors import ConfigError, SynthaptError
from synthapt.io import DATASET_WRITE_FORMATS, check_suffix, load_dataset, save_dataset
from synthapt.io.atomic import atomic_outputs, check_output_file, check_outputs
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


def check_reconstruction_input(dataset: APTDataset, source: PathLike, radius_mode: str) -> None:
    """Raise SynthaptError unless ``dataset`` (read from ``source``) has usable detector hits
    and, in the voltage radius mode, positive DC voltages."""
    epos = dataset.epos or {}
    if dataset.n_ions == 0:
        raise SynthaptError(f"{source}: has no ions to reconstruct")
    if not {"det_x", "det_y", "v_dc"} <= set(epos):
        raise SynthaptError(f"{source}: has no detector x/y and voltage columns; reconstruct needs "
                            "an ePOS file or a synthapt dataset with ePOS fields")
    if not (np.any(epos["det_x"]) or np.any(epos["det_y"])):
        raise SynthaptError(f"{source}: the detector x/y columns are all zero (no hit positions "
                            "recorded); a reconstruction needs them")
    for name in ("det_x", "det_y", "v_dc"):
        if not np.isfinite(epos[name]).all():
            raise SynthaptError(f"{source}: the {name} column has non-finite values")
    if radius_mode == "voltage" and not np.min(epos["v_dc"]) > 0:
        raise SynthaptError(f"{source}: the DC voltage column has values <= 0 V; the voltage radius "
                            "mode needs it (or use --radius-mode shank with --initial-radius)")


def reconstruct_files(source: PathLike, output: PathLike, params: ReconstructionParams,
                      origin: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> APTDataset:
    """Reconstruct the ions of ``source`` (ePOS, or a synthapt .h5 dataset with ePOS fields; the
    file order is the evaporation sequence) with ``params`` and write the dataset with the new
    positions to ``output`` (.h5, .epos or .pos by extension; ground truth, if any, is kept)."""
    src, out = Path(source), Path(output)
    check_suffix(out, DATASET_WRITE_FORMATS, "output")
    check_output_file(out, inputs=[src])
    if src.suffix.lower() not in (".epos", ".h5", ".hdf5"):
        raise SynthaptError(f"{src}: reconstruct reads .epos or .h5 files (detector and voltage "
                            "columns are needed)")
    dataset = load_dataset(src)
    check_reconstruction_input(dataset, src, params.radius_mode)
    epos = dataset.epos
    xy = np.stack([epos["det_x"], epos["det_y"]], axis=1)
    positions = reconstruct(xy, epos["v_dc"], params, origin)
    metadata = {**dataset.metadata, "reconstruction": {**to_dict(params), "origin_nm": list(origin),
                                                       "source_file": src.name}}
    result = dataset.replace(positions=positions, metadata=metadata)
    save_dataset(out, result)
    return result
