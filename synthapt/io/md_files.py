"""File-level entry points of the MD generator (used by ``synthapt simulate``)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from synthapt.config import from_dict, read_toml
from synthapt.data import Specimen
from synthapt.errors import SynthaptError
from synthapt.io.hdf5 import write_specimen
from synthapt.md.config import SimulationConfig
from synthapt.md.generator import simulate


def load_simulation_config(path: str | os.PathLike, threads: int | None = None) -> SimulationConfig:
    """Read a ``synthapt simulate`` TOML file; ``threads`` overrides ``md.threads``."""
    data = read_toml(path)
    if threads is not None:
        data = {**data, "md": {**data.get("md", {}), "threads": threads}}
    try:
        return from_dict(SimulationConfig, data)
    except SynthaptError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def mpi_rank() -> int:
    """This process's MPI rank when started by ``mpiexec`` (0 otherwise)."""
    for key in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if key in os.environ:
            return int(os.environ[key])
    return 0


def check_output_folder(output: str | os.PathLike) -> None:
    """SynthaptError if the folder of ``output`` does not exist (checked before long work)."""
    out = Path(output)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise SynthaptError(f"{out}: output folder {folder} does not exist")


def simulate_file(config: SimulationConfig | str | os.PathLike, output: str | os.PathLike,
                  threads: int | None = None, progress: Any = None) -> Specimen:
    """Simulate the specimen of ``config`` (a SimulationConfig or a TOML path) and write it to
    ``output`` (HDF5, atomically; only MPI rank 0 writes). Nothing is written if anything fails."""
    if not isinstance(config, SimulationConfig):
        config = load_simulation_config(config, threads)
    elif threads is not None:
        config = config.replace(md=dataclasses.replace(config.md, threads=threads))
    check_output_folder(output)
    out = Path(output)
    specimen = simulate(config, progress)
    if mpi_rank() == 0:
        write_specimen(out, specimen, config)
    return specimen
