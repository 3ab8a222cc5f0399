"""``SimulationConfig``: the TOML of ``synthapt simulate`` (sections structure, alloy, md; seed).

Every value is checked when the config is built, so impossible requests (unknown element or
potential, impossible volume fraction, a box smaller than twice the potential cutoff) fail with
a one-line ``ConfigError`` before any lattice is built or LAMMPS is started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from synthapt.errors import ConfigError
from synthapt.memory import check_memory
from synthapt.structures.alloy import AlloyConfig
from synthapt.structures.build import check_geometry_spec


BYTES_PER_ATOM = 1024
"""Peak memory per atom of ``simulate`` (structure, LAMMPS with neighbour lists, specimen), an
upper bound: the peak RSS grew by 690 B per atom from a 3 nm to a 9 nm box (2,048 to 62,500
atoms, ``/usr/bin/time -f %M synthapt simulate``)."""


@dataclass(frozen=True)
class StructureConfig:
    """The ``[structure]`` table: periodic box edge lengths in nm (rounded to whole fcc cells)
    and the ``[structure.geometry]`` table (see ``synthapt.structures.build``)."""

    box: tuple[float, float, float] = (6.0, 6.0, 6.0)
    geometry: dict[str, Any] = field(default_factory=lambda: {"kind": "isolated", "count": 1,
                                                               "radius": 1.5})

    def __post_init__(self) -> None:
        if len(self.box) != 3 or min(self.box) <= 0:
            raise ConfigError(f"structure.box: need three positive lengths in nm, got {self.box}")
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))


@dataclass(frozen=True)
class MDConfig:
    """The ``[md]`` table.

    temperature: anneal temperature, K. steps: NPT anneal steps. timestep: ps.
    pressure: bar. tdamp / pdamp: thermostat / barostat damping, ps.
    minimize: relax positions before the anneal. quench: relax positions and box after it.
    min_iterations: iteration cap of each minimization (force tolerance ``ftol`` eV/Angstrom).
    swap_every / swap_attempts: Monte-Carlo solute/base exchanges (``fix atom/swap``): attempts
    per event and steps between events; 0 disables them.
    thermo_every: steps between thermo lines (and progress updates).
    threads: OpenMP threads (``-sf omp -pk omp N``).
    """

    temperature: float = 800.0
    steps: int = 1000
    timestep: float = 0.002
    pressure: float = 0.0
    tdamp: float = 0.1
    pdamp: float = 1.0
    minimize: bool = True
    quench: bool = True
    min_iterations: int = 1000
    ftol: float = 1.0e-4
    swap_every: int = 0
    swap_attempts: int = 0
    thermo_every: int = 100
    threads: int = 1

    def __post_init__(self) -> None:
        checks = [
            ("temperature", 0 < self.temperature <= 5000, "must be in (0, 5000] K"),
            ("steps", self.steps >= 0, "must be >= 0"),
            ("timestep", 0 < self.timestep <= 0.01, "must be in (0, 0.01] ps"),
            ("tdamp", self.tdamp > 0, "must be > 0 ps"),
            ("pdamp", self.pdamp > 0, "must be > 0 ps"),
            ("min_iterations", self.min_iterations >= 1, "must be >= 1"),
            ("ftol", self.ftol > 0, "must be > 0 eV/Angstrom"),
            ("swap_every", self.swap_every >= 0, "must be >= 0"),
            ("swap_attempts", self.swap_attempts >= 0, "must be >= 0"),
            ("thermo_every", self.thermo_every >= 1, "must be >= 1"),
            ("threads", self.threads >= 1, "must be >= 1"),
        ]
        for name, ok, what in checks:
            if not ok:
                raise ConfigError(f"md.{name}: {what}, got {getattr(self, name)!r}")
        if (self.swap_every > 0) != (self.swap_attempts > 0):
            raise ConfigError("md.swap_every: set both swap_every and swap_attempts (or neither)")

    @property
    def swaps(self) -> bool:
        return self.swap_every > 0 and self.swap_attempts > 0 and self.steps > 0


@dataclass(frozen=True)
class SimulationConfig:
    """Everything ``simulate`` needs: structure, alloy, md sections and the seed."""

    structure: StructureConfig = field(default_factory=StructureConfig)
    alloy: AlloyConfig = field(default_factory=AlloyConfig)
    md: MDConfig = field(default_factory=MDConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed: must be a non-negative integer, got {self.seed}")
        cutoff = self.alloy.cutoff()  # also checks the potential file and its elements
        box = np.asarray(self.structure.box)
        if box.min() < 2 * cutoff:
            raise ConfigError(f"structure.box: {tuple(box)} nm is smaller than twice the "
                              f"potential cutoff ({cutoff:.3f} nm) along some axis")
        check_memory(self.estimated_atoms() * BYTES_PER_ATOM,
                     f"structure.box: {list(self.structure.box)} nm (about {self.estimated_atoms():,} atoms)")
        check_geometry_spec(self.structure.geometry, box, "structure.geometry")

    def estimated_atoms(self) -> int:
        """Atoms of the structure: 4 per cubic fcc cell (lattice parameter as configured, else
        0.35 nm, a little below that of Ni or Co, so the estimate errs high)."""
        a = self.alloy.lattice_parameter or 0.35
        return 4 * math.prod(max(1, round(b / a)) for b in self.structure.box)

    def replace(self, **changes: Any) -> SimulationConfig:
        return replace(self, **changes)
