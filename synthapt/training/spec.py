"""Ranges from which training specimens are drawn (TOML table ``[training]``).

Every range is ``[low, high]`` (uniform draw; equal ends fix the value). The default spec ships
with the package (``synthapt/training/default.toml``; ``load_training_spec("default")``).
Geometries are drawn from ``layered`` (one slab at a random normal), ``spheres`` and ``gyroid``;
ellipsoids and composite geometries are kept out of training (held-out evaluation).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthapt.config import from_dict, read_toml
from synthapt.errors import ConfigError

DEFAULT_SPEC = Path(__file__).parent / "default.toml"
GEOMETRY_KINDS = ("layered", "spheres", "gyroid")
SYSTEMS = {"Ni-Al": ("Ni", "Al"), "Co-Al": ("Co", "Al")}
"""Alloy systems: (solvent, solute) species names."""


def _check_range(name: str, value: tuple, low: float, high: float) -> tuple[float, float]:
    if len(value) != 2 or not (low <= float(value[0]) <= float(value[1]) <= high):
        raise ConfigError(f"training.{name}: need [low, high] with {low:g} <= low <= high <= {high:g}, "
                          f"got {list(value)}")
    return float(value[0]), float(value[1])


@dataclass(frozen=True)
class TrainingSpec:
    """What ``make_training_data`` draws from.

    seed: master seed (sample i uses ``SeedSequence([seed, i])``). specimens: number drawn.
    single_phase_fraction: share of uniform solid solutions (no interface; target all zero).
    geometries: relative weights of "layered", "spheres", "gyroid".
    box: edge length range, nm (each axis drawn independently). systems: alloy systems drawn
    uniformly. matrix_solute: at.% solute in the matrix; contrast: at.% more in the precipitate.
    efficiency: detection efficiency; lateral_sigma / depth_sigma: resolution, nm.
    voxel_size, delocalization: segmentation grid (nm) and Gaussian delocalization sigma (nm).
    slab_thickness (nm); sphere_radius (nm), sphere_count; gyroid_cell (nm), gyroid_fraction.
    """

    seed: int = 0
    specimens: int = 120
    single_phase_fraction: float = 0.15
    geometries: dict[str, float] = field(default_factory=lambda: {"layered": 1.0, "spheres": 1.0, "gyroid": 0.6})
    box: tuple[float, float] = (10.0, 16.0)
    systems: tuple[str, ...] = ("Ni-Al", "Co-Al")
    matrix_solute: tuple[float, float] = (4.0, 14.0)
    contrast: tuple[float, float] = (6.0, 18.0)
    efficiency: tuple[float, float] = (0.35, 0.85)
    lateral_sigma: tuple[float, float] = (0.1, 0.6)
    depth_sigma: tuple[float, float] = (0.03, 0.2)
    voxel_size: tuple[float, float] = (0.4, 0.6)
    delocalization: tuple[float, float] = (0.5, 1.0)
    slab_thickness: tuple[float, float] = (2.0, 6.0)
    sphere_radius: tuple[float, float] = (1.2, 4.0)
    sphere_count: tuple[float, float] = (1, 4)
    gyroid_cell: tuple[float, float] = (5.0, 10.0)
    gyroid_fraction: tuple[float, float] = (0.2, 0.5)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"training.seed: must be a non-negative integer, got {self.seed!r}")
        if not 1 <= self.specimens <= 100_000:
            raise ConfigError(f"training.specimens: must be within [1, 100000], got {self.specimens}")
        if not 0.0 <= self.single_phase_fraction <= 1.0:
            raise ConfigError(f"training.single_phase_fraction: must be within [0, 1], got "
                              f"{self.single_phase_fraction}")
        weights = dict(self.geometries)
        unknown = sorted(set(weights) - set(GEOMETRY_KINDS))
        if unknown or not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ConfigError(f"training.geometries: weights >= 0 (not all 0) of {', '.join(GEOMETRY_KINDS)}"
                              f"{'; unknown: ' + ', '.join(unknown) if unknown else ''}")
        object.__setattr__(self, "geometries", weights)
        systems = tuple(self.systems)
        if not systems or any(s not in SYSTEMS for s in systems):
            raise ConfigError(f"training.systems: choose from {', '.join(SYSTEMS)}, got {list(systems)}")
        object.__setattr__(self, "systems", systems)
        limits = {"box": (6.0, 40.0), "matrix_solute": (0.0, 50.0), "contrast": (0.0, 50.0),
                  "efficiency": (0.05, 1.0), "lateral_sigma": (0.0, 2.0), "depth_sigma": (0.0, 1.0),
                  "voxel_size": (0.2, 1.5), "delocalization": (0.0, 3.0), "slab_thickness": (0.5, 20.0),
                  "sphere_radius": (0.5, 10.0), "sphere_count": (1, 20), "gyroid_cell": (2.0, 40.0),
                  "gyroid_fraction": (0.05, 0.95)}
        for name, (low, high) in limits.items():
            object.__setattr__(self, name, _check_range(name, tuple(getattr(self, name)), low, high))
        if self.matrix_solute[1] + self.contrast[1] > 100.0:
            raise ConfigError("training.contrast: matrix_solute + contrast may exceed 100 at.%")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_training_spec(path: str | Path = "default") -> TrainingSpec:
    """A ``TrainingSpec`` from a TOML file (its ``[training]`` table), or the packaged default."""
    source = DEFAULT_SPEC if str(path) == "default" else Path(path)
    raw = read_toml(source)
    table = raw.get("training")
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: needs a [training] table")
    return from_dict(TrainingSpec, table, f"{source}: training")
