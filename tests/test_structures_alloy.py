"""Alloy decoration without LAMMPS: exact counts, L1_2 sublattice order, sublattice recovery,
potential header parsing and alloy configuration errors."""

import numpy as np
import pytest

from synthapt.errors import ConfigError
from synthapt.structures.potentials import potentials_dir
from synthapt.structures.alloy import (
    AlloyConfig, decorate, fcc_sites, l12_order_parameter, read_eam_alloy_header,
    sublattice_from_positions, to_ase,
)


def test_fcc_sites_count_spacing_and_sublattices():
    pos, sub = fcc_sites((3, 4, 5), 0.36)
    assert pos.shape == (4 * 60, 3) and np.bincount(sub).tolist() == [60] * 4
    assert pos.min() == 0.0 and np.all(pos.max(axis=0) < np.array([3, 4, 5]) * 0.36)
    d = np.linalg.norm(pos[1:] - pos[0], axis=1)
    assert d.min() == pytest.approx(0.36 / np.sqrt(2))


def test_decorate_exact_counts_and_perfect_l12(rng):
    pos, sub = fcc_sites((6, 6, 6), 0.355)
    precipitate = pos[:, 2] < 0.355 * 3  # three whole cells: corners are exactly 1/4
    alloy = AlloyConfig(matrix={"Al": 8.0}, precipitate={"Al": 25.0})
    species = decorate(precipitate, sub, alloy, rng)
    n_matrix, n_prec = (~precipitate).sum(), precipitate.sum()
    assert (species[~precipitate] == 1).sum() == round(0.08 * n_matrix)
    assert (species[precipitate] == 1).sum() == round(0.25 * n_prec)
    assert np.all(species[precipitate & (sub == 0)] == 1)  # Al on every cube corner
    assert l12_order_parameter(species[precipitate], sub[precipitate], 1) == pytest.approx(1.0)
    assert abs(l12_order_parameter(species[~precipitate], sub[~precipitate], 1)) < 0.15


def test_decorate_off_stoichiometry(rng):
    pos, sub = fcc_sites((4, 4, 4), 0.355)
    everywhere = np.ones(len(pos), bool)
    low = decorate(everywhere, sub, AlloyConfig(precipitate={"Al": 20.0}), rng)
    assert (low == 1).sum() == round(0.2 * len(pos)) and np.all(low[sub != 0] == 0)
    high = decorate(everywhere, sub, AlloyConfig(precipitate={"Al": 30.0}), rng)
    assert (high == 1).sum() == round(0.3 * len(pos)) and np.all(high[sub == 0] == 1)


def test_decoration_is_seeded():
    pos, sub = fcc_sites((4, 4, 4), 0.355)
    mask = pos[:, 0] < 0.7
    a = decorate(mask, sub, AlloyConfig(), np.random.default_rng(3))
    b = decorate(mask, sub, AlloyConfig(), np.random.default_rng(3))
    c = decorate(mask, sub, AlloyConfig(), np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_sublattice_from_displaced_positions(rng):
    pos, sub = fcc_sites((5, 5, 5), 0.352)
    box = np.full(3, 5 * 0.352)
    moved = np.mod(pos + rng.normal(0, 0.02, pos.shape) + 0.001, box)
    np.testing.assert_array_equal(sublattice_from_positions(moved, box, (5, 5, 5)), sub)


def test_to_ase_units_and_arrays():
    pos, sub = fcc_sites((2, 2, 2), 0.35)
    atoms = to_ase(pos, np.zeros(len(pos), int), ("Ni", "Al"), np.full(3, 0.7), np.zeros(len(pos)), sub)
    assert atoms.get_chemical_symbols()[0] == "Ni"
    np.testing.assert_allclose(atoms.cell.lengths(), [7.0, 7.0, 7.0])
    np.testing.assert_allclose(atoms.positions, pos * 10)
    np.testing.assert_array_equal(atoms.get_array("sublattice"), sub)


def test_potential_headers():
    assert read_eam_alloy_header(potentials_dir() / "NiAlH_jea.eam.alloy") == (("Ni", "Al", "H"), 5.65)
    elements, cutoff = read_eam_alloy_header(potentials_dir() / "CoAl.eam.alloy")
    assert elements == ("Co", "Al") and cutoff == pytest.approx(5.600044)
    assert AlloyConfig().cutoff() == pytest.approx(0.565)


@pytest.mark.parametrize("kwargs, message", [
    ({"system": "Ni-Cr"}, "unknown system"),
    ({"matrix": {"Fe": 3.0}}, "alloy.matrix.Fe: unknown element"),
    ({"precipitate": {"Ni": 75.0}}, "balance element"),
    ({"precipitate": {"Al": 120.0}}, "0..100"),
    ({"lattice_parameter": 3.52}, "plausible"),
])
def test_alloy_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AlloyConfig(**kwargs)


def test_potential_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown potential"):
        AlloyConfig(potential="nope.eam.alloy").potential_path()
    bad = tmp_path / "bad.eam.alloy"
    bad.write_text("just\nsome\ntext\n")
    with pytest.raises(ConfigError, match="not an eam/alloy"):
        AlloyConfig(potential=str(bad)).potential_path()
