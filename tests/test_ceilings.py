"""Oracle and Bayes ceilings against known answers, on real emulations of lattice builds.

- oracle on a sharp slab with depth blur only: misclassified fraction = sum over atoms of the
  probability to cross a face (exact) and, in the continuum, 4 sigma / (sqrt(2 pi) L);
- the posterior on that slab is Phi((z_hi - z) / sigma) - Phi((z_lo - z) / sigma);
- Bayes beats the oracle on a small sphere at large blur, and is never worse on a slab;
- everything the ceilings need travels in the dataset file; real data get a clear error.
"""

import numpy as np
import pytest
from scipy.stats import norm

from synthapt.apt import emulate
from synthapt.apt.ceilings import bayes_labels, bayes_posterior, oracle_labels, resolution_model
from synthapt.apt.params import (DetectorParams, EfficiencyParams, EmulationParams,
                                 ResolutionParams, ShapeParams)
from synthapt.config import from_dict
from synthapt.data import Specimen
from synthapt.errors import SynthaptError
from synthapt.io.hdf5 import read_dataset, write_dataset
from synthapt.md.config import SimulationConfig
from synthapt.md.generator import prepare_structure

ALLOY = {"system": "Ni-Al", "matrix": {"Al": 8.0}, "precipitate": {"Al": 24.0},
         "lattice_parameter": 0.356}


def specimen(geometry, box, seed=1):
    config = from_dict(SimulationConfig, {"seed": seed, "structure": {"box": box,
                                          "geometry": geometry}, "alloy": ALLOY})
    p = prepare_structure(config)
    return Specimen(p.positions, p.species, p.elements, p.precipitate.astype(np.int8), p.box,
                    p.geometry)


def emulated(spec, lateral, depth, shape="box", seed=0):
    params = EmulationParams(
        shape=ShapeParams(kind=shape), efficiency=EfficiencyParams(enabled=False),
        detector=DetectorParams(enabled=False),
        resolution=ResolutionParams(lateral_sigma=lateral, depth_sigma=depth))
    return emulate(spec, params, seed=seed)


@pytest.fixture(scope="module")
def slab():
    spec = specimen({"kind": "layered", "thicknesses": [5.0], "centers": [6.0]}, [5.0, 5.0, 12.0])
    return spec, emulated(spec, 0.0, 0.3)


def test_oracle_error_on_a_slab_with_depth_blur_matches_the_analytic_fraction(slab):
    spec, ds = slab
    sigma, z_true = 0.3, ds.truth.position[:, 2]
    geometry = spec.geometry
    lo = geometry.centers[0] - 0.5 * geometry.thicknesses[0]
    hi = geometry.centers[0] + 0.5 * geometry.thicknesses[0]
    wrong = oracle_labels(ds) != ds.truth.phase
    inside = ds.truth.phase == 1
    # exact expectation from the true positions: probability to land across a face
    p_in = norm.cdf((hi - z_true) / sigma) - norm.cdf((lo - z_true) / sigma)
    expected = np.where(inside, 1.0 - p_in, p_in)
    se = np.sqrt(np.sum(expected * (1 - expected)))
    assert abs(wrong.sum() - expected.sum()) < 3 * se
    # continuum: two faces, sigma / sqrt(2 pi) crossings per unit area from each side
    analytic = 4 * sigma / (np.sqrt(2 * np.pi) * spec.box[2])
    assert wrong.mean() == pytest.approx(analytic, abs=3 * se / ds.n_ions + 0.02 * analytic)


def test_posterior_on_a_flat_slab_is_the_gaussian_overlap(slab):
    spec, ds = slab
    z = ds.positions[:, 2].astype(np.float64)
    geometry = spec.geometry
    lo = geometry.centers[0] - 0.5 * geometry.thicknesses[0]
    hi = geometry.centers[0] + 0.5 * geometry.thicknesses[0]
    away_from_ends = (z > 1.5) & (z < spec.box[2] - 1.5)
    exact = norm.cdf((hi - z) / 0.3) - norm.cdf((lo - z) / 0.3)
    posterior = bayes_posterior(ds)
    assert np.abs(posterior - exact)[away_from_ends].max() < 0.01
    np.testing.assert_array_equal(bayes_posterior(ds), posterior)  # deterministic


def paired_accuracy_gain(ds):
    """(mean gain of Bayes over the oracle in accuracy, its standard error)."""
    truth = ds.truth.phase
    gain = (bayes_labels(ds) == truth).astype(float) - (oracle_labels(ds) == truth)
    return gain.mean(), gain.std(ddof=1) / np.sqrt(len(gain))


def test_bayes_beats_the_oracle_on_a_small_sphere_at_large_blur():
    spec = specimen({"kind": "isolated", "shape": "sphere", "radius": 1.0, "count": 1}, [5.0] * 3)
    ds = emulated(spec, 0.6, 0.6)
    gain, se = paired_accuracy_gain(ds)
    assert gain > 2 * se and gain > 0


def test_bayes_is_never_worse_than_the_oracle_on_a_slab_in_a_needle():
    spec = specimen({"kind": "layered", "thicknesses": [3.0], "centers": [5.0]}, [7.0, 7.0, 10.0])
    ds = emulated(spec, 0.5, 0.2, shape="needle")
    gain, se = paired_accuracy_gain(ds)
    assert gain > -2 * se


def test_ceilings_read_everything_from_the_dataset_file(tmp_path, slab):
    _, ds = slab
    path = tmp_path / "slab.h5"
    write_dataset(path, ds)
    back = read_dataset(path)
    model = resolution_model(back)
    assert (model.lateral_sigma, model.depth_sigma, model.unmodelled) == (0.0, 0.3, ())
    np.testing.assert_array_equal(bayes_posterior(back), bayes_posterior(ds))


def test_real_data_get_a_clear_error(slab):
    _, ds = slab
    with pytest.raises(SynthaptError, match="no ground-truth geometry"):
        oracle_labels(ds.replace(truth=None))


def test_skipping_short_displacements_changes_nothing():
    """The posterior equals the plain average over every displacement of the rule."""
    from synthapt.apt.ceilings import gaussian_nodes

    spec = specimen({"kind": "isolated", "shape": "sphere", "radius": 1.2, "count": 2,
                     "min_gap": 0.4}, [6.0] * 3)
    ds = emulated(spec, 0.5, 0.3, shape="needle")
    model = resolution_model(ds)
    picked = np.arange(0, ds.n_ions, 37)
    x = ds.positions[picked].astype(np.float64)
    sources = (x[:, None, :] - gaussian_nodes() * model.sigmas).reshape(-1, 3)
    in_s = model.in_specimen(sources).reshape(len(x), -1)
    in_p = model.geometry.contains(sources).reshape(len(x), -1) & in_s
    brute = in_p.sum(axis=1) / in_s.sum(axis=1)
    np.testing.assert_array_equal(bayes_posterior(ds)[picked], brute)


def test_fast_contains_agrees_with_the_signed_distance():
    from synthapt.structures import Complement, Gyroid, Layered, Particles, Union

    box = (6.0, 6.0, 6.0)
    points = np.random.default_rng(2).random((3_000, 3)) * 8.0 - 1.0  # also outside the box
    shapes = [Particles(((1.0, 5.5, 3.0), (4.0, 2.0, 2.5)), ((1.0, 1.0, 1.0), (1.4, 0.9, 1.8)), box),
              Gyroid(box, (1, 1, 1), 0.4),
              Union((Layered((0, 0, 1), (1.0,), (0.8,), 6.0), Gyroid(box, (1, 1, 1), 0.9))),
              Complement(Particles(((3.0, 3.0, 3.0),), ((2.0, 2.0, 2.0),), box))]
    for shape in shapes:
        s = shape.signed_distance(points)
        clear = np.abs(s) > 1e-6
        np.testing.assert_array_equal(shape.contains(points)[clear], (s > 0)[clear])
