"""``simulate(config) -> Specimen``: lattice + geometry + alloy -> LAMMPS anneal -> ground truth.

Steps: relaxed bulk lattice parameters of both phases with the potential (``bulk.py``); one
coherent fcc lattice whose parameter is the phase-fraction weighted mean; geometry placed in
that box from the seed, flat layer faces moved midway between atomic planes; sites decorated
(random matrix, L1_2 precipitate whose first (002) plane of sites inside the interface is half
ordered, so the compositional interface is the geometry's zero level); LAMMPS minimize,
NPT anneal, optional MC swaps, quench; final positions wrapped into the box. The true interface
is the construction geometry dilated with the box (isotropic barostat), and the phase of each
atom is the phase of the lattice site it was built on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthapt.config import seed_stream, to_dict
from synthapt.data import Specimen
from synthapt.errors import SimulationError
from synthapt.md.bulk import bulk_lattice_parameter
from synthapt.md.config import SimulationConfig
from synthapt.md.driver import (PROGRESS_FIX, MDResult, Stage, input_script, render_stages,
                                run_stages)
from synthapt.md.lammps_runtime import md_workdir
from synthapt.provenance import provenance, sha256_file
from synthapt.structures.alloy import decorate, fcc_sites, ordering_boundary, to_ase
from synthapt.structures.build import build_geometry
from synthapt.structures.interface import place_between_planes
from synthapt.structures.geometry import Geometry
from synthapt.structures.truth import truth_profile


@dataclass(frozen=True, eq=False)
class PreparedStructure:
    """The starting crystal: sites (N, 3) nm, sublattice (N,), precipitate (N,) bool, species
    (N,) codes into ``elements``, box (3,) nm, cubic ``cells``, lattice parameters (nm) and the
    geometry in this box."""

    positions: np.ndarray
    sublattice: np.ndarray
    precipitate: np.ndarray
    species: np.ndarray
    elements: tuple[str, ...]
    box: np.ndarray
    cells: tuple[int, int, int]
    lattice: dict[str, float]
    geometry: Geometry


def prepare_structure(config: SimulationConfig) -> PreparedStructure:
    """Build the decorated starting lattice and its geometry (no MD)."""
    alloy = config.alloy
    rng = np.random.default_rng(seed_stream(config.seed, "structure"))
    if alloy.lattice_parameter:
        a_matrix = a_precipitate = alloy.lattice_parameter
    else:
        a_matrix = bulk_lattice_parameter(alloy, "matrix")
        a_precipitate = bulk_lattice_parameter(alloy, "precipitate")
    cells = tuple(max(1, int(round(b / a_matrix))) for b in config.structure.box)
    box_matrix = np.asarray(cells) * a_matrix
    sites, sublattice = fcc_sites(cells, a_matrix)
    geometry = place_between_planes(build_geometry(config.structure.geometry, box_matrix, rng),
                                    sites)
    distance = geometry.signed_distance(sites)
    precipitate = distance > 0  # a site exactly on the interface belongs to the matrix
    fraction = float(precipitate.mean())
    a_start = fraction * a_precipitate + (1.0 - fraction) * a_matrix
    scale = a_start / a_matrix
    species = decorate(precipitate, sublattice, alloy, rng,
                       half_ordered=ordering_boundary(distance, a_matrix))
    return PreparedStructure(sites * scale, sublattice, precipitate, species, alloy.spec.elements,
                             box_matrix * scale, cells,
                             {"matrix": a_matrix, "precipitate": a_precipitate, "start": a_start},
                             geometry.scaled(scale))


def lammps_seeds(seed: int) -> tuple[int, int]:
    """(velocity seed, swap seed) for LAMMPS (positive 31-bit integers) from the "lammps" stream of
    ``seed`` (``synthapt.config.seed_stream``)."""
    rng = np.random.default_rng(seed_stream(seed, "lammps"))
    return tuple(int(v) for v in rng.integers(1, 2**31 - 1, size=2))


def write_md_inputs(config: SimulationConfig, prepared: PreparedStructure, workdir: Path,
                    with_progress: bool = True) -> list[Stage]:
    """Write ``workdir/data.lmp`` and return the rendered stages (``input_script`` joins them)."""
    from ase.io.lammpsdata import write_lammps_data

    atoms = to_ase(prepared.positions, prepared.species, prepared.elements, prepared.box,
                   prepared.precipitate, prepared.sublattice)
    data_file = workdir / "data.lmp"
    with open(data_file, "w") as fh:
        write_lammps_data(fh, atoms, specorder=list(prepared.elements), masses=True,
                          units="metal", atom_style="atomic")
    velocity_seed, swap_seed = lammps_seeds(config.seed)
    return render_stages(config.md, data_file=str(data_file),
                         potential=str(config.alloy.potential_path()),
                         pair_style=config.alloy.spec.pair_style, elements=prepared.elements,
                         velocity_seed=velocity_seed, swap_seed=swap_seed,
                         with_progress=with_progress)


def simulate(config: SimulationConfig, progress: Any = None) -> Specimen:
    """Run the MD generator and return the ground-truth ``Specimen``.

    progress: an optional ``rich.progress.Progress``; one task per LAMMPS stage, the anneal
    advancing with the MD steps. Raises ConfigError / SimulationError with one-line messages.
    """
    prepared = prepare_structure(config)
    with md_workdir() as workdir:
        stages = write_md_inputs(config, prepared, workdir, with_progress=progress is not None)
        on_stage, on_step, finish = _progress_hooks(progress, stages)
        result = run_stages(stages, workdir, len(prepared.positions), config.md.threads,
                            on_stage, on_step)
        finish()
        script = "".join(line for line in input_script(stages).replace(str(workdir) + "/", "./")
                         .splitlines(keepends=True) if PROGRESS_FIX not in line)
    return _specimen(config, prepared, result, script)


def _specimen(config: SimulationConfig, prepared: PreparedStructure, result: MDResult,
              script: str) -> Specimen:
    box_final = (result.box_hi - result.box_lo) / 10.0
    scales = box_final / prepared.box
    if np.ptp(scales) > 1e-6 * scales.mean():
        raise SimulationError(f"LAMMPS: the box did not scale isotropically ({scales})")
    scale = float(scales.mean())
    positions = np.mod((result.positions - result.box_lo) / 10.0, box_final)
    positions = np.where(positions >= box_final, 0.0, positions)
    species = (result.types - 1).astype(np.int16)
    potential = config.alloy.potential_path()
    lattice = dict(prepared.lattice, final=float(prepared.lattice["start"] * scale))
    record = provenance(
        seed=config.seed,
        generator="synthapt.md.simulate",
        alloy_system=config.alloy.system,
        potential=potential.name,
        potential_sha256=sha256_file(potential),
        potential_reference=config.alloy.spec.reference,
        pair_style=config.alloy.spec.pair_style,
        lammps_version=result.version,
        temperature_K=config.md.temperature,
        steps=config.md.steps,
        timestep_ps=config.md.timestep,
        pressure_bar=config.md.pressure,
        swap_every=config.md.swap_every,
        swap_attempts=config.md.swap_attempts,
        cells=list(prepared.cells),
        lattice_parameter_nm=lattice,
        thermo=result.thermo,
        config=to_dict(config),
        lammps_input=script,
        lammps_log=result.log,
    )
    specimen = Specimen(positions, species, prepared.elements, prepared.precipitate.astype(np.int8),
                        box_final, prepared.geometry.scaled(scale), record)
    return specimen.replace(truth_profile=truth_profile(specimen))


def _progress_hooks(progress: Any, stages: list[Stage]):
    if progress is None:
        return None, None, lambda: None
    tasks = {s.name: progress.add_task(f"LAMMPS {s.name}", total=max(s.steps, 1), start=False)
             for s in stages}
    state = {"current": None}

    def on_stage(stage: Stage) -> None:
        if state["current"] is not None:
            progress.update(tasks[state["current"]], completed=max(1, _steps(stages, state["current"])))
        progress.start_task(tasks[stage.name])
        state["current"] = stage.name

    def on_step(stage: Stage, step: int) -> None:
        progress.update(tasks[stage.name], completed=min(step, stage.steps))

    def finish() -> None:
        for stage in stages:
            progress.update(tasks[stage.name], completed=max(stage.steps, 1))

    return on_stage, on_step, finish


def _steps(stages: list[Stage], name: str) -> int:
    return next(s.steps for s in stages if s.name == name)
