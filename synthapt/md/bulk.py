"""Bulk reference values with the potential: relaxed lattice parameter of each phase.

A small periodic crystal (``cells``^3 cubic cells) of one phase at the configured composition
(matrix: random solid solution; precipitate: L1_2) is relaxed at zero pressure with
``fix box/relax iso`` through the same templates as the main run.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from synthapt.md.config import MDConfig
from synthapt.md.driver import render_stages, run_stages
from synthapt.structures.alloy import SYSTEMS, AlloyConfig, decorate, fcc_sites, to_ase

REFERENCE_CELLS = 5


def bulk_lattice_parameter(alloy: AlloyConfig, phase: str, cells: int = REFERENCE_CELLS) -> float:
    """Zero-pressure, 0 K lattice parameter (nm) of ``phase`` ('matrix' or 'precipitate')."""
    if phase not in ("matrix", "precipitate"):
        raise ValueError(phase)
    return _bulk(str(alloy.potential_path()), alloy.system,
                 alloy.solute_percent(phase), phase == "precipitate", cells)


@functools.lru_cache(maxsize=64)
def _bulk(potential: str, system: str, solute_percent: float, ordered: bool, cells: int) -> float:
    from ase.io.lammpsdata import write_lammps_data

    key = "precipitate" if ordered else "matrix"
    alloy = AlloyConfig(system=system, potential=potential, **{key: {_solute(system): solute_percent}})
    a_guess = 0.36
    sites, sublattice = fcc_sites((cells, cells, cells), a_guess)
    precipitate = np.full(len(sites), ordered)
    species = decorate(precipitate, sublattice, alloy, np.random.default_rng(0))
    box = np.full(3, cells * a_guess)
    md = MDConfig(steps=0, minimize=False, quench=True, ftol=1e-4, min_iterations=5000)
    with tempfile.TemporaryDirectory(prefix="synthapt-bulk-") as tmp:
        workdir = Path(tmp)
        atoms = to_ase(sites, species, alloy.spec.elements, box, precipitate, sublattice)
        with open(workdir / "data.lmp", "w") as fh:
            write_lammps_data(fh, atoms, specorder=list(alloy.spec.elements), masses=True,
                              units="metal", atom_style="atomic")
        stages = render_stages(md, data_file=str(workdir / "data.lmp"), potential=potential,
                               pair_style=alloy.spec.pair_style, elements=alloy.spec.elements,
                               velocity_seed=1, swap_seed=1, with_progress=False, vmax=0.01)
        result = run_stages(stages, workdir, len(sites))
    return float(np.mean(result.box_hi - result.box_lo) / 10.0 / cells)


def _solute(system: str) -> str:
    return SYSTEMS[system].solute
