"""MD generator through real LAMMPS: tiny systems (<= 1,372 atoms, <= 200 steps).

Physics: L1_2 order after an anneal with MC swaps, phase compositions, no atoms lost,
minimization lowers the energy, per-phase lattice parameters vs the potential's bulk values,
true interface consistent with the final box. Plus provenance, determinism, CLI and errors.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from rich.progress import Progress
from scipy.spatial import cKDTree
from typer.testing import CliRunner

from synthapt.config import from_dict
from synthapt.data import MATRIX, PRECIPITATE, dataclass_arrays_equal
from synthapt.errors import ConfigError, SimulationError, SynthaptError
from synthapt.md import SimulationConfig, simulate
from synthapt.md.bulk import bulk_lattice_parameter
from synthapt.structures.alloy import (AlloyConfig, l12_order_parameter, ordering_boundary,
                                      sublattice_from_positions)
from synthapt.structures.potentials import potentials_dir

LAYERED = {"kind": "layered", "thicknesses": [1.2], "centers": [1.2]}


def config(geometry=None, box=2.5, alloy=None, seed=5, **md) -> SimulationConfig:
    md = {"temperature": 800.0, "steps": 200, "thermo_every": 50, **md}
    return from_dict(SimulationConfig, {
        "seed": seed, "structure": {"box": [box] * 3, "geometry": geometry or LAYERED},
        "alloy": alloy or {"system": "Ni-Al", "matrix": {"Al": 8.0}, "precipitate": {"Al": 24.0}},
        "md": md})


@pytest.fixture(scope="module")
def layered():
    """Ni-Al slab, plain anneal (no swaps), 7^3 cells = 1,372 atoms, 200 steps."""
    progress = Progress(console=Console(quiet=True))
    with progress:
        specimen = simulate(config(), progress)
    return specimen, progress


@pytest.fixture(scope="module")
def swapped():
    """Ni-Al sphere, anneal at 1000 K with Monte-Carlo Ni<->Al swaps."""
    geometry = {"kind": "isolated", "count": 1, "radius": 0.8, "min_gap": 0.2}
    return simulate(config(geometry, temperature=1000.0, swap_every=20, swap_attempts=30))


def test_no_atoms_lost_positions_wrapped_and_progress(layered):
    specimen, progress = layered
    assert specimen.n_atoms == 4 * 7 ** 3
    assert np.all(specimen.positions >= 0) and np.all(specimen.positions < specimen.box)
    assert specimen.species_names == ("Ni", "Al")
    anneal = next(t for t in progress.tasks if t.description == "LAMMPS anneal")
    assert anneal.completed == anneal.total == 200
    assert set(specimen.provenance["thermo"]) == {"setup", "minimize", "anneal", "quench"}


def test_phase_compositions_as_configured(layered):
    specimen, _ = layered
    assert abs(specimen.composition(MATRIX)["Al"] - 8.0) < 0.5
    assert abs(specimen.composition(PRECIPITATE)["Al"] - 24.0) < 0.5
    assert 0.4 < np.mean(specimen.phase == PRECIPITATE) < 0.6


def test_minimization_lowers_energy_and_anneal_reaches_temperature(layered):
    thermo = layered[0].provenance["thermo"]
    assert thermo["minimize"]["pe"] < thermo["setup"]["pe"]
    assert thermo["quench"]["pe"] < thermo["anneal"]["pe"]
    assert 600 < thermo["anneal"]["temp"] < 1000
    assert abs(thermo["quench"]["press"]) < 50  # bar, relaxed box


def _interior_lattice_parameter(specimen, phase: int) -> float:
    tree = cKDTree(specimen.positions, boxsize=specimen.box)
    dist, idx = tree.query(specimen.positions, k=13)
    dist, idx = dist[:, 1:], idx[:, 1:]
    interior = (specimen.phase == phase) & np.all(specimen.phase[idx] == phase, axis=1)
    assert interior.sum() > 50
    return float(np.sqrt(2.0) * dist[interior].mean())


def test_lattice_parameters_match_the_potentials_bulk_values(layered):
    specimen, _ = layered
    alloy = AlloyConfig(matrix={"Al": 8.0}, precipitate={"Al": 24.0})
    a_matrix = _interior_lattice_parameter(specimen, MATRIX)
    a_prec = _interior_lattice_parameter(specimen, PRECIPITATE)
    bulk_matrix = bulk_lattice_parameter(alloy, "matrix")
    bulk_prec = bulk_lattice_parameter(alloy, "precipitate")
    assert abs(a_matrix / bulk_matrix - 1) < 0.01
    assert abs(a_prec / bulk_prec - 1) < 0.01
    assert a_prec > a_matrix  # gamma-prime has the larger lattice parameter (misfit > 0)


def test_bulk_lattice_parameters_known_values():
    # pure Ni: the potential is fitted to a = 3.52 Angstrom; Ni3Al (L1_2) near 3.57 Angstrom
    assert bulk_lattice_parameter(AlloyConfig(matrix={"Al": 0.0}), "matrix") == pytest.approx(0.352, abs=5e-4)
    ni3al = bulk_lattice_parameter(AlloyConfig(precipitate={"Al": 25.0}), "precipitate")
    assert ni3al == pytest.approx(0.357, abs=2e-3)


def test_true_interface_follows_the_final_box(layered):
    specimen, _ = layered
    d = specimen.geometry.signed_distance(specimen.positions)
    clear = np.abs(d) > 0.05
    np.testing.assert_array_equal(d[clear] > 0, specimen.phase[clear] == PRECIPITATE)
    profile = specimen.truth_profile
    al = profile.column("Al")
    inside = profile.counts[profile.centers > 0].sum(axis=0)
    outside = profile.counts[profile.centers < 0].sum(axis=0)
    assert abs(100 * inside[al] / inside.sum() - 24.0) < 0.5
    assert abs(100 * outside[al] / outside.sum() - 8.0) < 0.5
    assert profile.totals.sum() == specimen.n_atoms


def _half_ordered_layer(specimen):
    """Atoms of the precipitate's first (002) plane inside the interface (built half ordered)."""
    a = specimen.provenance["lattice_parameter_nm"]["final"]
    return ordering_boundary(specimen.geometry.signed_distance(specimen.positions), a)


def test_l12_order_survives_anneal_with_swaps(swapped):
    cells = tuple(swapped.provenance["cells"])
    sublattice = sublattice_from_positions(swapped.positions, swapped.box, cells)
    prec = swapped.phase == PRECIPITATE
    al = swapped.species_names.index("Al")
    interior = prec & ~_half_ordered_layer(swapped)
    assert l12_order_parameter(swapped.species[interior], sublattice[interior], al) > 0.85
    assert abs(l12_order_parameter(swapped.species[~prec], sublattice[~prec], al)) < 0.3
    assert "atom/swap" in swapped.provenance["lammps_input"]
    assert "atom/swap" in swapped.provenance["lammps_log"]


def test_provenance_records_lammps_and_potential(layered):
    prov = layered[0].provenance
    path = potentials_dir() / "NiAlH_jea.eam.alloy"
    assert prov["potential"] == "NiAlH_jea.eam.alloy"
    assert prov["potential_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["lammps_version"].isdigit() and int(prov["lammps_version"]) > 20200000
    assert prov["temperature_K"] == 800.0 and prov["steps"] == 200 and prov["seed"] == 5
    assert "Loop time" not in prov["lammps_log"] and "Minimization stats" in prov["lammps_log"]


def test_second_system_co_al():
    alloy = {"system": "Co-Al", "matrix": {"Al": 6.0}, "precipitate": {"Al": 25.0}}
    specimen = simulate(config(box=1.8, alloy=alloy, steps=50))
    assert specimen.species_names == ("Co", "Al")
    assert abs(specimen.composition(PRECIPITATE)["Al"] - 25.0) < 0.5
    assert abs(specimen.composition(MATRIX)["Al"] - 6.0) < 0.5
    cells = tuple(specimen.provenance["cells"])
    sub = sublattice_from_positions(specimen.positions, specimen.box, cells)
    interior = (specimen.phase == PRECIPITATE) & ~_half_ordered_layer(specimen)
    assert l12_order_parameter(specimen.species[interior], sub[interior], 1) > 0.95
    assert specimen.provenance["potential"] == "CoAl.eam.alloy"


def test_same_seed_same_specimen_and_file(tmp_path):
    cfg = config(box=1.8, steps=30)
    a, b = simulate(cfg), simulate(cfg)
    assert dataclass_arrays_equal(a.replace(provenance={}), b.replace(provenance={}))
    assert a.provenance == b.provenance
    c = simulate(config(box=1.8, steps=30, seed=6))
    assert not np.array_equal(a.positions, c.positions)


def _write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


TINY = """
seed = 3
[structure]
box = [1.8, 1.8, 1.8]
[structure.geometry]
kind = "layered"
thicknesses = [0.9]
[md]
steps = 20
"""


def test_cli_writes_specimen_identically(tmp_path):
    from synthapt.cli import app
    from synthapt.io.hdf5 import read_specimen

    cfg = _write_config(tmp_path / "tiny.toml", TINY)
    outputs = []
    for name in ("a.h5", "b.h5"):
        result = CliRunner().invoke(app, ["simulate", str(cfg), "-o", str(tmp_path / name), "--quiet"])
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    specimen = read_specimen(tmp_path / "a.h5")
    assert specimen.n_atoms == 500 and specimen.geometry.kind == "layered"
    assert specimen.provenance["steps"] == 20


@pytest.mark.parametrize("change, message", [
    ({"alloy": {"matrix": {"Cr": 5.0}}}, "alloy.matrix.Cr: unknown element"),
    ({"alloy": {"system": "Fe-Cr"}}, "alloy.system: unknown system"),
    ({"alloy": {"potential": "NoSuch.eam.alloy"}}, "alloy.potential: unknown potential"),
    ({"alloy": {"potential": "CoAl.eam.alloy"}}, "no parameters for Ni"),
    ({"structure": {"box": [1.0, 3.0, 3.0]}}, "smaller than twice the potential cutoff"),
    ({"structure": {"box": [5.0, 5.0, 5.0], "geometry": {"kind": "isolated", "radius": 1.0,
                                                         "volume_fraction": 0.6}}},
     "volume_fraction"),
    ({"md": {"timestep": 0.5}}, "md.timestep"),
])
def test_bad_config_is_one_line_config_error(change, message):
    data = {"structure": {"box": [3.0, 3.0, 3.0], "geometry": LAYERED}}
    for key, value in change.items():
        data[key] = {**data.get(key, {}), **value}
    with pytest.raises(ConfigError, match=message) as info:
        from_dict(SimulationConfig, data)
    assert "\n" not in str(info.value)


def test_atom_count_beyond_the_memory_budget_refused_before_building(monkeypatch):
    data = {"structure": {"box": [1000.0, 1000.0, 1000.0], "geometry": LAYERED}}
    with pytest.raises(SynthaptError, match=r"structure.box: \[1000.0, 1000.0, 1000.0\] nm \(about "
                                            r"93,280,467,172 atoms\) needs 86.9 TiB, more than the "
                                            r"memory budget of"):
        from_dict(SimulationConfig, data)
    small = {"structure": {"box": [3.5, 3.5, 3.5], "geometry": LAYERED}}
    assert from_dict(SimulationConfig, small).estimated_atoms() == 4 * 10 ** 3
    monkeypatch.setenv("SYNTHAPT_MEMORY_BUDGET", "3M")  # 4,000 atoms x 1 KiB = 3.9 MiB
    with pytest.raises(SynthaptError, match="about 4,000 atoms"):
        from_dict(SimulationConfig, small)


def _broken_potential(tmp_path: Path, kind: str) -> Path:
    lines = (potentials_dir() / "NiAlH_jea.eam.alloy").read_text().splitlines()
    if kind == "truncated":
        lines = lines[:40]
    else:  # NaN embedding energies: LAMMPS runs, energies are not finite
        lines = lines[:6] + [" ".join(["nan"] * 5)] * 200 + lines[206:]
    path = tmp_path / f"{kind}.eam.alloy"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("kind, message", [("truncated", "Incorrect format"),
                                           ("nan", "not finite")])
def test_failed_lammps_run_is_a_simulation_error_with_log_tail(tmp_path, kind, message):
    alloy = {"potential": str(_broken_potential(tmp_path, kind)), "lattice_parameter": 0.355}
    with pytest.raises(SimulationError, match=message) as info:
        simulate(config(box=1.8, alloy=alloy, steps=10))
    assert "log:" in str(info.value) and "\n" not in str(info.value)


def test_cli_error_exit_code_and_no_partial_file(tmp_path):
    bad = _broken_potential(tmp_path, "truncated")
    cfg = _write_config(tmp_path / "bad.toml",
                        TINY + f'[alloy]\npotential = "{bad}"\nlattice_parameter = 0.355\n')
    out = tmp_path / "out.h5"
    proc = subprocess.run([sys.executable, "-m", "synthapt", "simulate", str(cfg), "-o", str(out),
                           "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: LAMMPS setup failed")
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.glob("out.h5*")) == [] and list(tmp_path.glob(".out.h5*")) == []
    cfg2 = _write_config(tmp_path / "frac.toml", TINY.replace(
        'kind = "layered"\nthicknesses = [0.9]', 'kind = "isolated"\nvolume_fraction = 0.7\nradius = 0.3'))
    proc = subprocess.run([sys.executable, "-m", "synthapt", "simulate", str(cfg2), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "volume_fraction" in proc.stderr and not out.exists()


def test_interconnected_network_fraction_and_truth():
    geometry = {"kind": "interconnected", "cell_size": 2.2, "volume_fraction": 0.35}
    specimen = simulate(config(geometry, box=2.2, steps=20))
    assert specimen.geometry.kind == "gyroid"
    assert abs(np.mean(specimen.phase == PRECIPITATE) - 0.35) < 0.03
    d = specimen.geometry.signed_distance(specimen.positions)
    clear = np.abs(d) > 0.05
    np.testing.assert_array_equal(d[clear] > 0, specimen.phase[clear] == PRECIPITATE)


def test_lammps_word_refuses_what_lammps_would_interpret():
    from synthapt.md.lammps_runtime import lammps_word

    assert lammps_word("/data/NiAl.eam.alloy", "x") == "/data/NiAl.eam.alloy"
    for text, shown in [("a b", "' '"), ("a\nshell ls", "'\\n'"), ("${x}", "'$'"), ("a&", "'&'"),
                        ('a"b', "'\"'"), ("a#b", "'#'"), ("a\x00b", "'\\x00'"), ("", "empty")]:
        with pytest.raises(ConfigError, match="x: ") as info:
            lammps_word(text, "x")
        assert shown in str(info.value) and "\n" not in str(info.value)


def test_potential_name_cannot_inject_lammps_commands(tmp_path):
    """A potential file whose name carries a newline and a ``shell`` command (with a plain file
    of the first line's name beside it, so the injected input would run) is refused, nothing runs."""
    from cli_run import assert_clean_error, synthapt

    crafted = "p.eam.alloy Ni Al\nshell touch PWNED\n#"
    source = potentials_dir() / "NiAlH_jea.eam.alloy"
    for name in (crafted, "p.eam.alloy"):
        (tmp_path / name).write_bytes(source.read_bytes())
    _write_config(tmp_path / "c.toml", TINY + '[alloy]\npotential = "p.eam.alloy Ni Al\\nshell touch '
                                              'PWNED\\n#"\nlattice_parameter = 0.355\n')
    line = assert_clean_error(synthapt("simulate", "c.toml", "-o", "o.h5", "--quiet", cwd=tmp_path))
    assert "alloy.potential" in line and "cannot go into a LAMMPS input" in line
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "o.h5").exists()
