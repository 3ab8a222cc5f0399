"""The data objects that flow through synthapt.

- ``Specimen``: ground-truth atoms from the generator (positions in nm, species, phase, the geometry
  that defines the true interface, MD provenance).
- ``APTDataset``: detected ions (reconstructed positions in nm, mass-to-charge in Da, ranged
  species, ePOS fields) plus optional per-ion ``GroundTruth`` links. Real data has ``truth=None``.
- ``Profile``: a composition profile (proxigram): ion counts per element per signed-distance bin.

Objects are treated as immutable: stages return new objects (``dataclasses.replace``), never
modify arrays in place. Phase codes: 0 matrix, 1 precipitate (2, 3, ... further phases);
-1 means "no phase" (background ions, which come from no atom).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from synthapt.errors import SynthaptError

MATRIX = 0
PRECIPITATE = 1
NO_PHASE = -1
UNRANGED = -1


def _check_len(name: str, arr: np.ndarray | None, n: int) -> None:
    if arr is not None and len(arr) != n:
        raise SynthaptError(f"{name}: length {len(arr)} does not match {n} ions/atoms")


def _check_finite(name: str, arr: np.ndarray) -> None:
    if arr.size and not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise SynthaptError(f"{name}: {bad} non-finite (NaN/inf) values")


@dataclass(frozen=True, eq=False)
class Specimen:
    """Ground-truth atoms.

    positions: (N, 3) float64, nm, inside the periodic box [0, box).
    species: (N,) int16 codes into ``species_names`` (element symbols, e.g. ("Ni", "Al")).
    phase: (N,) int8, 0 matrix / 1 precipitate, from the construction geometry.
    box: (3,) float64, orthorhombic box edge lengths in nm (origin at 0).
    geometry: object with ``signed_distance(points (K,3) nm) -> (K,) nm`` (positive inside the
        precipitate) and ``to_dict()``; see ``synthapt.structures``. None if unknown.
    provenance: JSON-serialisable dict (potential, its SHA-256, temperature, steps, LAMMPS
        version, seed, ...).
    truth_profile: the ground-truth composition profile vs signed distance, if computed.
    """

    positions: np.ndarray
    species: np.ndarray
    species_names: tuple[str, ...]
    phase: np.ndarray
    box: np.ndarray
    geometry: Any = None
    provenance: dict = field(default_factory=dict)
    truth_profile: Profile | None = None

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise SynthaptError(f"Specimen.positions: expected shape (N, 3), got {pos.shape}")
        _check_finite("Specimen.positions", pos)
        n = len(pos)
        _check_len("Specimen.species", self.species, n)
        _check_len("Specimen.phase", self.phase, n)
        box = np.asarray(self.box, dtype=np.float64).reshape(3)
        if not (np.isfinite(box).all() and (box > 0).all()):
            raise SynthaptError(f"Specimen.box: edge lengths must be positive nm, got {box}")
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "species", np.asarray(self.species, dtype=np.int16))
        object.__setattr__(self, "phase", np.asarray(self.phase, dtype=np.int8))
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "species_names", tuple(self.species_names))

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    def composition(self, phase: int | None = None) -> dict[str, float]:
        """Atomic fraction in at.% of each species, optionally within one phase."""
        return composition_percent(self.species, self.species_names,
                                   None if phase is None else self.phase == phase)

    def replace(self, **changes: Any) -> Specimen:
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """Per-ion links from detected ions back to the atoms they came from.

    source_atom: (M,) int64 index into the Specimen's atoms, -1 for background (noise) ions.
    species: (M,) int16 true species codes into ``species_names``, -1 for background.
    phase: (M,) int8 true phase, -1 for background.
    position: (M, 3) float64 true position in nm (NaN rows for background).
    species_names: element symbols of the Specimen.
    geometry: the Specimen's geometry (exact true interface), or None.
    box: (3,) nm, the Specimen box.
    """

    source_atom: np.ndarray
    species: np.ndarray
    phase: np.ndarray
    position: np.ndarray
    species_names: tuple[str, ...]
    geometry: Any = None
    box: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.source_atom)
        for name in ("species", "phase", "position"):
            _check_len(f"GroundTruth.{name}", getattr(self, name), n)
        object.__setattr__(self, "source_atom", np.asarray(self.source_atom, dtype=np.int64))
        object.__setattr__(self, "species", np.asarray(self.species, dtype=np.int16))
        object.__setattr__(self, "phase", np.asarray(self.phase, dtype=np.int8))
        object.__setattr__(self, "position", np.asarray(self.position, dtype=np.float64).reshape(n, 3))
        object.__setattr__(self, "species_names", tuple(self.species_names))
        if self.box is not None:
            object.__setattr__(self, "box", np.asarray(self.box, dtype=np.float64).reshape(3))

    def subset(self, index: np.ndarray) -> GroundTruth:
        """The links of the ions selected by ``index`` (boolean mask or integer indices)."""
        return replace(self, source_atom=self.source_atom[index], species=self.species[index],
                       phase=self.phase[index], position=self.position[index])


EPOS_FIELDS = ("tof", "v_dc", "v_pulse", "det_x", "det_y", "delta_pulse", "ions_per_pulse")
"""ePOS per-ion fields beyond x, y, z, m/q: TOF ns, DC and pulse voltage V, detector x/y mm,
pulses since the previous detected event (uint32), ions in this multi-hit event (uint32)."""


@dataclass(frozen=True, eq=False)
class APTDataset:
    """Detected (or measured) ions.

    positions: (M, 3) float32 reconstructed positions, nm.
    mass_to_charge: (M,) float32, Da.
    species: (M,) int16 ranged species codes into ``species_names`` (-1 unranged), or None if
        the data have not been ranged.
    species_names: ion names from the range table (e.g. "Ni", "Al", "AlH").
    ranges: a ``synthapt.ranges.RangeTable`` or None.
    epos: dict of the ePOS fields named in ``EPOS_FIELDS`` (each (M,)), or None.
    pulse: (M,) int64 absolute pulse number of each ion, or None.
    truth: per-ion ``GroundTruth`` (synthetic data) or None (real data).
    metadata: JSON-serialisable dict: instrument, emulation parameters, provenance, source file.
    """

    positions: np.ndarray
    mass_to_charge: np.ndarray
    species: np.ndarray | None = None
    species_names: tuple[str, ...] = ()
    ranges: Any = None
    epos: dict[str, np.ndarray] | None = None
    pulse: np.ndarray | None = None
    truth: GroundTruth | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float32)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise SynthaptError(f"APTDataset.positions: expected shape (M, 3), got {pos.shape}")
        n = len(pos)
        mq = np.asarray(self.mass_to_charge, dtype=np.float32).reshape(-1)
        _check_len("APTDataset.mass_to_charge", mq, n)
        _check_finite("APTDataset.positions", pos)
        _check_finite("APTDataset.mass_to_charge", mq)
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "mass_to_charge", mq)
        if self.species is not None:
            _check_len("APTDataset.species", self.species, n)
            object.__setattr__(self, "species", np.asarray(self.species, dtype=np.int16))
        if self.pulse is not None:
            _check_len("APTDataset.pulse", self.pulse, n)
            object.__setattr__(self, "pulse", np.asarray(self.pulse, dtype=np.int64))
        if self.epos is not None:
            unknown = set(self.epos) - set(EPOS_FIELDS)
            if unknown:
                raise SynthaptError(f"APTDataset.epos: unknown fields {sorted(unknown)}")
            for key, arr in self.epos.items():
                _check_len(f"APTDataset.epos[{key}]", arr, n)
        if self.truth is not None:
            _check_len("APTDataset.truth", self.truth.source_atom, n)
        object.__setattr__(self, "species_names", tuple(self.species_names))

    @property
    def n_ions(self) -> int:
        return len(self.positions)

    def subset(self, index: np.ndarray) -> APTDataset:
        """A new dataset with only the ions selected by ``index`` (mask or indices)."""
        return replace(
            self,
            positions=self.positions[index],
            mass_to_charge=self.mass_to_charge[index],
            species=None if self.species is None else self.species[index],
            epos=None if self.epos is None else {k: v[index] for k, v in self.epos.items()},
            pulse=None if self.pulse is None else self.pulse[index],
            truth=None if self.truth is None else self.truth.subset(index),
        )

    def replace(self, **changes: Any) -> APTDataset:
        return replace(self, **changes)

    def composition(self) -> dict[str, float]:
        """Ranged composition in at.% of ion species (unranged ions excluded); {} if unranged."""
        if self.species is None:
            return {}
        return composition_percent(self.species, self.species_names, None)


@dataclass(frozen=True, eq=False)
class Profile:
    """Composition profile vs signed distance to an interface (proxigram).

    edges: (B+1,) bin edges in nm; positive distances lie inside the precipitate.
    counts: (B, S) int64 counts of each species (column order ``species_names``) per bin.
    species_names: element names of the columns.
    """

    edges: np.ndarray
    counts: np.ndarray
    species_names: tuple[str, ...]

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=np.float64)
        counts = np.asarray(self.counts, dtype=np.int64)
        if counts.ndim != 2 or counts.shape != (len(edges) - 1, len(self.species_names)):
            raise SynthaptError(
                f"Profile: counts shape {counts.shape} does not match "
                f"{len(edges) - 1} bins x {len(self.species_names)} species")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "species_names", tuple(self.species_names))

    @property
    def centers(self) -> np.ndarray:
        """(B,) bin centres, nm."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def totals(self) -> np.ndarray:
        """(B,) all counted ions per bin."""
        return self.counts.sum(axis=1)

    @property
    def concentration(self) -> np.ndarray:
        """(B, S) at.% per bin; NaN for empty bins."""
        tot = self.totals[:, None].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, 100.0 * self.counts / tot, np.nan)

    @property
    def error(self) -> np.ndarray:
        """(B, S) binomial counting error (1 sigma) of ``concentration``, at.%."""
        tot = self.totals[:, None].astype(np.float64)
        c = self.concentration / 100.0
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, 100.0 * np.sqrt(c * (1.0 - c) / tot), np.nan)

    def column(self, element: str) -> int:
        try:
            return self.species_names.index(element)
        except ValueError:
            raise SynthaptError(
                f"element {element!r} not in profile species {list(self.species_names)}") from None


def composition_percent(species: np.ndarray, names: tuple[str, ...],
                        mask: np.ndarray | None) -> dict[str, float]:
    """at.% of each named species among ``species`` codes (negative codes ignored)."""
    codes = species if mask is None else species[mask]
    codes = codes[codes >= 0]
    counts = np.bincount(codes.astype(np.int64), minlength=len(names))[: len(names)]
    total = counts.sum()
    if total == 0:
        return {name: float("nan") for name in names}
    return {name: 100.0 * float(c) / float(total) for name, c in zip(names, counts)}


def dataclass_arrays_equal(a: Any, b: Any) -> bool:
    """Field-by-field equality of two data objects, arrays compared exactly (NaN == NaN)."""
    if type(a) is not type(b):
        return False
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if x is None or y is None or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                return False
        elif hasattr(x, "__dataclass_fields__"):
            if not dataclass_arrays_equal(x, y):
                return False
        elif isinstance(x, dict) and any(isinstance(v, np.ndarray) for v in x.values()):
            if set(x) != set(y) or not all(np.array_equal(x[k], y[k]) for k in x):
                return False
        elif x != y:
            return False
    return True
