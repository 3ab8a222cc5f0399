import numpy as np
import pytest

from synthapt.data import APTDataset
from synthapt.errors import SynthaptError
from synthapt.ranges import Range, RangeTable
from synthapt.spatial.voxel import fill_outside, voxelize


def _dataset(positions, species, names=("Ni", "Al"), ranges=None):
    positions = np.asarray(positions, dtype=np.float32)
    return APTDataset(positions, np.zeros(len(positions), np.float32), np.asarray(species, np.int16),
                      names, ranges=ranges)


def test_exact_counts_per_voxel_and_unranged_ignored():
    pos = [[0.1, 0.1, 0.1], [0.2, 0.4, 0.3], [0.6, 0.1, 0.1], [1.9, 1.9, 1.9], [1.2, 0.1, 1.7]]
    grid = voxelize(_dataset(pos, [0, 1, 1, 0, -1]), voxel_size=0.5, delocalization=0.0)
    assert grid.elements == ("Ni", "Al") and grid.shape == (4, 4, 4)
    np.testing.assert_allclose(grid.origin, [0.1, 0.1, 0.1], atol=1e-6)
    assert grid.counts.sum() == 4  # the unranged ion is not counted
    assert grid.counts[0, 0, 0, 0] == 1 and grid.counts[1, 0, 0, 0] == 1
    assert grid.counts[1, 1, 0, 0] == 1 and grid.counts[0, 3, 3, 3] == 1
    conc, mask = grid.concentration("Al", min_count=1.0, smoothed=False)
    assert conc[0, 0, 0] == pytest.approx(50.0) and conc[1, 0, 0] == pytest.approx(100.0)
    assert np.isnan(conc[2, 2, 2]) and mask.sum() == 3


def test_molecular_ions_decompose_into_elements():
    table = RangeTable((Range(26.5, 27.5, "Al", {"Al": 1}), Range(28.5, 29.5, "Ni", {"Ni": 1}),
                        Range(43.5, 44.5, "AlO", {"Al": 1, "O": 1})))
    names = table.ion_names
    pos = np.full((3, 3), 0.25)
    ds = _dataset(pos, [names.index("AlO"), names.index("Ni"), names.index("AlO")], names, table)
    grid = voxelize(ds, voxel_size=1.0, delocalization=0.0)
    assert grid.elements == ("Al", "Ni", "O")
    np.testing.assert_array_equal(grid.counts[:, 0, 0, 0], [2, 1, 2])
    conc, _ = grid.concentration("Al", smoothed=False)
    assert conc[0, 0, 0] == pytest.approx(40.0)
    conc, _ = grid.concentration(("Al", "O"), smoothed=False)
    assert conc[0, 0, 0] == pytest.approx(80.0)


def test_delocalization_conserves_atoms_away_from_edges_and_keeps_uniform_composition(rng):
    pos = rng.uniform(0, 10, (50_000, 3))
    species = (rng.uniform(size=len(pos)) < 0.2).astype(np.int16)
    grid = voxelize(_dataset(pos, species), voxel_size=0.5, delocalization=0.75)
    inner = (slice(None),) + (slice(5, -5),) * 3
    # a Gaussian redistributes atoms: the interior total is unchanged up to the boundary flux
    assert grid.smoothed[inner].sum() == pytest.approx(grid.counts[inner].sum(), rel=0.02)
    conc, mask = grid.concentration("Al", min_count=2.0)
    assert mask[5:-5, 5:-5, 5:-5].all()
    assert np.nanmean(conc[5:-5, 5:-5, 5:-5]) == pytest.approx(20.0, abs=0.3)
    # the smoothed image is much less noisy than the raw one
    raw, _ = grid.concentration("Al", min_count=1.0, smoothed=False)
    assert np.nanstd(conc[5:-5, 5:-5, 5:-5]) < 0.3 * np.nanstd(raw[5:-5, 5:-5, 5:-5])


def test_errors():
    with pytest.raises(SynthaptError, match="not ranged"):
        voxelize(APTDataset(np.zeros((2, 3)), np.zeros(2)))
    with pytest.raises(SynthaptError, match="no ions"):
        voxelize(_dataset(np.zeros((0, 3)), []))
    with pytest.raises(SynthaptError, match="voxel_size"):
        voxelize(_dataset([[0, 0, 0], [100, 100, 100]], [0, 1]), voxel_size=0.01)
    with pytest.raises(SynthaptError, match="voxel_size"):
        voxelize(_dataset([[0, 0, 0]], [0]), voxel_size=0.0)
    grid = voxelize(_dataset([[0, 0, 0]], [0]), voxel_size=1.0)
    with pytest.raises(SynthaptError, match="Cu"):
        grid.concentration("Cu")


def test_fill_outside_takes_nearest_value():
    values = np.arange(5, dtype=float)
    mask = np.array([False, True, False, False, True])
    np.testing.assert_array_equal(fill_outside(values, mask), [1, 1, 1, 4, 4])
    with pytest.raises(SynthaptError):
        fill_outside(values, np.zeros(5, bool))
