"""Cases that differ only after MD share one simulation within a campaign folder."""

from __future__ import annotations

from pathlib import Path

from synthapt.campaign.run import _distinct_simulations_first, load_suite
from synthapt.campaign.case import SPECIMEN_DIR, generate_case, sha256_file, simulate_and_emulate
from synthapt.data import dataclass_arrays_equal

SUITE = """
suite_version = 1
name = "shared"
[base]
seed = 5
[base.simulation.structure]
box = [4.0, 4.0, 4.0]
geometry = { kind = "layered", thicknesses = [2.0], centers = [2.0] }
[base.simulation.alloy]
lattice_parameter = 0.355
[base.simulation.md]
steps = 10
min_iterations = 20
thermo_every = 5
[base.emulation.shape]
kind = "box"
[grid]
"emulation.efficiency.value" = [0.5, 0.8]
"""


def test_one_md_run_serves_every_case_with_that_simulation(tmp_path: Path):
    suite_file = tmp_path / "shared.toml"
    suite_file.write_text(SUITE)
    cases = load_suite(suite_file).cases
    assert len(cases) == 2
    out = tmp_path / "out"
    first = generate_case(cases[0].case, out)
    shared = list((out / SPECIMEN_DIR).glob("*.h5"))
    assert len(shared) == 1
    stamp = (shared[0].stat().st_ino, shared[0].stat().st_mtime_ns)
    second = generate_case(cases[1].case, out)
    assert (shared[0].stat().st_ino, shared[0].stat().st_mtime_ns) == stamp  # not re-simulated
    assert first["n_atoms"] == second["n_atoms"]
    assert first["n_ions"] < second["n_ions"]  # efficiency 0.5 vs 0.8 on the same atoms

    # the reused specimen gives exactly what a fresh MD run gives
    spec_shared, data_shared, _ = simulate_and_emulate(cases[1].case, 1, out)
    spec_fresh, data_fresh, _ = simulate_and_emulate(cases[1].case, 1)
    assert dataclass_arrays_equal(spec_shared.replace(provenance={}), spec_fresh.replace(provenance={}))
    assert dataclass_arrays_equal(data_shared.replace(metadata={}), data_fresh.replace(metadata={}))


def test_distinct_simulations_are_scheduled_first(tmp_path: Path):
    suite_file = tmp_path / "grid.toml"
    suite_file.write_text(SUITE + '\n[grid.geometry.thin]\nsimulation.structure.geometry = '
                          '{ kind = "layered", thicknesses = [1.0], centers = [2.0] }\n'
                          '[grid.geometry.thick]\nsimulation.structure.geometry = '
                          '{ kind = "layered", thicknesses = [3.0], centers = [2.0] }\n')
    cases = load_suite(suite_file).cases
    assert len(cases) == 4
    order = _distinct_simulations_first(list(cases))
    geometries = [str(sc.case.simulation.structure.geometry) for sc in order]
    assert geometries[0] != geometries[1] and geometries[2] != geometries[3]
    assert sorted(sc.hash for sc in order) == sorted(sc.hash for sc in cases)


def test_cases_of_a_simulation_follow_its_first_case(tmp_path: Path):
    suite_file = tmp_path / "grid3.toml"
    suite_file.write_text(SUITE + '\n[grid.geometry.thin]\nsimulation.structure.geometry = '
                          '{ kind = "layered", thicknesses = [1.0], centers = [2.0] }\n'
                          '[grid.geometry.thick]\nsimulation.structure.geometry = '
                          '{ kind = "layered", thicknesses = [3.0], centers = [2.0] }\n'
                          '[grid.geometry.mid]\nsimulation.structure.geometry = '
                          '{ kind = "layered", thicknesses = [2.0], centers = [2.0] }\n')
    suite_file.write_text(suite_file.read_text().replace("[0.5, 0.8]", "[0.4, 0.5, 0.8]"))
    cases = load_suite(suite_file).cases
    order = [str(sc.case.simulation.structure.geometry) for sc in _distinct_simulations_first(list(cases))]
    assert len(order) == 9 and len(set(order[:3])) == 3
    # then the other cases grouped by simulation, in the order the simulations started
    assert order[3:] == [order[0]] * 2 + [order[1]] * 2 + [order[2]] * 2
