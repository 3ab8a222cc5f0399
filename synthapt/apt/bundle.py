"""The arrays bundle passed between emulation stages, carrying the ground-truth links.

Per-ion arrays are only created when a stage needs them: the source-atom index ``atom`` is the
link to the Specimen, so true species, phase and position are gathered from it at the end, and
``position`` stays ``None`` (meaning "the true positions") until a stage displaces ions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from synthapt.apt.chunks import compress_rows
from synthapt.data import NO_PHASE, Specimen


@dataclass(frozen=True)
class TipModel:
    """Specimen tip: axis through ``axis_xy`` (nm) along z, apex at ``apex_z`` (nm), hemispherical
    cap of ``apex_radius`` nm on a cone of half-angle ``shank_angle`` (radians). ``kind`` "box"
    keeps the whole box; its surface is a cap spanning the box cross-section."""

    kind: str
    axis_xy: tuple[float, float]
    apex_z: float
    apex_radius: float
    shank_angle: float

    def radius_at(self, z: np.ndarray) -> np.ndarray:
        """(n,) local radius of curvature (nm) of the tip surface when it passes height z (nm)."""
        cap_centre = self.apex_z - self.apex_radius
        below = np.maximum(cap_centre - z, 0.0)
        return self.apex_radius + below * float(np.tan(self.shank_angle))

    @property
    def shank_growth(self) -> float:
        """g = sin(a) / (1 - sin(a)): apex-radius growth per nm of apex travel of a sphere
        sliding down a cone of half-angle a while touching it (Gault et al. 2012, ch. 7)."""
        sin_a = float(np.sin(self.shank_angle))
        return sin_a / (1.0 - sin_a)

    def radial(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dx, dy, rho): lateral offsets and distance (nm) of (n, 3) points from the tip axis."""
        dx = positions[:, 0] - self.axis_xy[0]
        dy = positions[:, 1] - self.axis_xy[1]
        return dx, dy, np.hypot(dx, dy)

    def contains(self, positions: np.ndarray) -> np.ndarray:
        """(n,) bool: (n, 3) points (nm) inside the needle (cap + cone; "box": every point)."""
        if self.kind == "box":
            return np.ones(len(positions), dtype=bool)
        _, _, rho = self.radial(positions)
        z = positions[:, 2]
        cap_centre = self.apex_z - self.apex_radius
        in_cap = (z > cap_centre) & (rho * rho + (z - cap_centre) ** 2 <= self.apex_radius ** 2)
        in_cone = (z <= cap_centre) & (rho <= self.radius_at(z))
        return in_cap | in_cone

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "axis_xy": list(self.axis_xy), "apex_z": self.apex_z,
                "apex_radius": self.apex_radius, "shank_angle_deg": float(np.degrees(self.shank_angle))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TipModel:
        """Inverse of ``to_dict`` (as stored in a dataset's ``metadata["tip"]``)."""
        return cls(str(data["kind"]), tuple(float(v) for v in data["axis_xy"]),
                   float(data["apex_z"]), float(data["apex_radius"]),
                   float(np.radians(data["shank_angle_deg"])))


@dataclass(frozen=True, eq=False)
class IonBundle:
    """Ions in flight through the emulation.

    specimen: the source Specimen (never modified).
    atom_positions: (N, 3) float32 copy of the specimen's atom positions (nm), for fast gathers.
    atom_species: (N,) uint8 copy of the specimen's species codes (int16 beyond 255 species),
        for fast gathers.
    atom: (n,) int64 source-atom index, -1 for background ions.
    position: (n, 3) float32 reconstructed position in nm, or None (= true positions).
    pulse: (n,) int64 pulse number, or None.
    v_dc: (n,) float32 DC voltage (V) from the tip state (``synthapt.apt.hits``), or None.
    detector_xy: (n, 2) float32 detector hit position in mm, or None.
    mass_to_charge: (n,) float32 m/q in Da, or None.
    epos: dict of ePOS fields (``synthapt.data.EPOS_FIELDS``), each (n,), or None.
    tip: the TipModel once the shape stage has run.
    stats: ((stage name, dict of counts/values), ...) for the dataset metadata.
    """

    specimen: Specimen
    atom: np.ndarray
    atom_positions: np.ndarray | None = None
    position: np.ndarray | None = None
    pulse: np.ndarray | None = None
    detector_xy: np.ndarray | None = None
    mass_to_charge: np.ndarray | None = None
    epos: dict | None = None
    tip: TipModel | None = None
    stats: tuple = ()
    atom_species: np.ndarray | None = None
    v_dc: np.ndarray | None = None

    @classmethod
    def from_specimen(cls, specimen: Specimen) -> IonBundle:
        compact = np.uint8 if len(specimen.species_names) <= 256 else np.int16
        return cls(specimen=specimen, atom=np.arange(specimen.n_atoms, dtype=np.int64),
                   atom_positions=specimen.positions.astype(np.float32),
                   atom_species=specimen.species.astype(compact))

    @property
    def n(self) -> int:
        return len(self.atom)

    @property
    def is_background(self) -> np.ndarray:
        return self.atom < 0

    def true_positions(self) -> np.ndarray:
        """(n, 3) float64 true positions (nm), NaN rows for background ions."""
        out = np.take(self.specimen.positions, np.maximum(self.atom, 0), axis=0)
        if (self.atom < 0).any():
            out[self.atom < 0] = np.nan
        return out

    def true_species(self) -> np.ndarray:
        """(n,) int16 true species codes, -1 for background ions."""
        if self.specimen.n_atoms == 0:
            return np.full(self.n, -1, np.int16)
        codes = np.take(self.specimen.species, np.maximum(self.atom, 0))
        return np.where(self.atom >= 0, codes, np.int16(-1)).astype(np.int16)

    def true_phase(self) -> np.ndarray:
        """(n,) int8 true phase, -1 (NO_PHASE) for background ions."""
        if self.specimen.n_atoms == 0:
            return np.full(self.n, NO_PHASE, np.int8)
        phase = np.take(self.specimen.phase, np.maximum(self.atom, 0))
        return np.where(self.atom >= 0, phase, np.int8(NO_PHASE)).astype(np.int8)

    def reconstructed(self) -> np.ndarray:
        """(n, 3) float32 reconstructed positions, nm."""
        if self.position is not None:
            return self.position
        return np.take(self.source_positions(), self.atom, axis=0)

    def source_positions(self) -> np.ndarray:
        """(N, 3) float32 positions of all specimen atoms, nm."""
        if self.atom_positions is not None:
            return self.atom_positions
        return self.specimen.positions.astype(np.float32)

    def source_species(self) -> np.ndarray:
        """(N,) species codes of all specimen atoms (uint8 when there are <= 256 species)."""
        if self.atom_species is not None:
            return self.atom_species
        return self.specimen.species

    def true_positions_of_atoms(self) -> np.ndarray:
        """(n, 3) float64 true positions of the ions (all must come from atoms), nm."""
        return np.take(self.specimen.positions, self.atom, axis=0)

    def take(self, index: np.ndarray) -> IonBundle:
        """A bundle with only the ions selected by ``index`` (boolean mask or indices)."""
        index = np.asarray(index)
        if index.dtype == bool:
            fields = ("atom", "position", "pulse", "detector_xy", "mass_to_charge", "v_dc")
            epos_keys = tuple(self.epos) if self.epos is not None else ()
            arrays = [getattr(self, f) for f in fields] + [self.epos[k] for k in epos_keys]
            kept = compress_rows(index, arrays)
            epos = dict(zip(epos_keys, kept[len(fields):])) if self.epos is not None else None
            return replace(self, epos=epos, **dict(zip(fields, kept[:len(fields)])))

        def sub(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.take(a, index, axis=0)

        return replace(self, atom=sub(self.atom), position=sub(self.position),
                       pulse=sub(self.pulse), detector_xy=sub(self.detector_xy),
                       mass_to_charge=sub(self.mass_to_charge), v_dc=sub(self.v_dc),
                       epos=None if self.epos is None else {k: sub(v) for k, v in self.epos.items()})

    def with_stats(self, stage: str, **values: Any) -> IonBundle:
        return replace(self, stats=self.stats + ((stage, values),))

    def replace(self, **changes: Any) -> IonBundle:
        return replace(self, **changes)
