"""Hits chain and point-projection reconstruction: identity at matching parameters, the projection
law under parameter errors, local magnification at low- and high-field precipitates."""

from dataclasses import replace

import numpy as np
import pytest

from synthapt.apt import EmulationParams, emulate, reconstruct
from synthapt.apt.params import (BackgroundParams, DetectorParams, HitsParams,
                                 ReconstructionParams, ResolutionParams, ShapeParams,
                                 SpectrumParams)
from synthapt.apt.reconstruct import depth_per_ion_factor
from synthapt.apt.specimens import lattice_specimen
from synthapt.config import from_dict
from synthapt.errors import ConfigError, SynthaptError
from synthapt.structures.isolated import Particles

RADIUS = 3.0
SPHERE = Particles(centers=((8.1, 8.1, 10.0),), semi_axes=((RADIUS,) * 3,))


@pytest.fixture(scope="module")
def specimen():
    """389,344 atoms (16.2 nm cube), Ni-10Al with a 3 nm Ni-25Al sphere on the tip axis."""
    return lattice_specimen((46, 46, 46), geometry=SPHERE, seed=1)


def chain(field_ratio=1.0, resolution=False, **reconstruction) -> EmulationParams:
    """Needle (R0 7 nm, shank 10 degrees), hits chain on, no spectrum, dead zone or background."""
    return EmulationParams(
        shape=ShapeParams(apex_radius=7.0, shank_angle=10.0),
        spectrum=SpectrumParams(enabled=False), background=BackgroundParams(enabled=False),
        detector=DetectorParams(dead_zone_radius=0.0, radius=40.0),
        resolution=ResolutionParams(enabled=resolution, lateral_sigma=0.3, depth_sigma=0.15),
        hits=HitsParams(enabled=True, field_ratio=field_ratio),
        reconstruction=ReconstructionParams(**reconstruction))


def precipitate(ds) -> np.ndarray:
    return ds.positions[ds.truth.phase == 1].astype(np.float64)


def apparent_radii(points: np.ndarray) -> np.ndarray:
    """Radius per axis of a uniform ball with the points' standard deviations (r = sqrt(5) std)."""
    return np.sqrt(5.0) * points.std(axis=0)


@pytest.fixture(scope="module")
def matched(specimen):
    return emulate(specimen, chain(), seed=1)


def test_matching_parameters_recover_the_true_positions(specimen, matched):
    error = matched.positions - matched.truth.position
    assert np.abs(error[:, :2]).max() < 1e-3  # lateral: exact up to float32
    assert abs(error[:, 2].mean()) < 0.02 and error[:, 2].std() < 0.1  # depth: ion counting
    # truth links intact: every ion is its atom
    assert np.array_equal(matched.truth.position, specimen.positions[matched.truth.source_atom])
    radii = apparent_radii(precipitate(matched))
    assert radii == pytest.approx([RADIUS] * 3, rel=0.03)  # a sphere stays a sphere
    stats = matched.metadata["stages"]
    assert stats["magnification"]["replaced_by"] == "hits"
    assert stats["reconstruction"]["atomic_volume"] == pytest.approx(0.352 ** 3 / 4)
    assert stats["detector"]["lost_outside_detector"] > 0
    # the DC voltage keeps the field: V = F k R, R growing along the shank from 7 nm
    v = matched.epos["v_dc"]
    assert v.min() == pytest.approx(35.0 * 3.3 * 7.0, rel=1e-3) and np.all(np.diff(v) >= 0)


def test_with_resolution_errors_are_the_added_blur(specimen):
    ds = emulate(specimen, chain(resolution=True), seed=2)
    error = ds.positions - ds.truth.position
    assert error[:, :2].std(axis=0) == pytest.approx([0.3, 0.3], rel=0.03)
    assert 0.15 <= error[:, 2].std() < 0.15 * 1.15
    assert np.abs(error.mean(axis=0)).max() < 0.03


def test_shank_radius_mode_with_matching_parameters(specimen, matched):
    ds = emulate(specimen, chain(radius_mode="shank"), seed=1)
    error = ds.positions - ds.truth.position
    assert np.abs(error).mean(axis=0).max() < 0.05
    assert apparent_radii(precipitate(ds)) == pytest.approx([RADIUS] * 3, rel=0.03)


def test_parameter_errors_scale_as_the_projection_law(specimen, matched):
    origin_z = matched.metadata["stages"]["reconstruction"]["origin_nm"][2]
    base = precipitate(matched)
    base_depth = origin_z - base[:, 2].mean()
    rec = matched.metadata["stages"]["reconstruction"]
    good = from_dict(ReconstructionParams, {k: v for k, v in rec.items()
                                             if k not in ("origin_nm", "reconstructed_depth_nm")})
    # k 10 % too large: R = V / (k F) 1/1.1 -> lateral x 1/1.1, apex travel per ion x 1.21
    wrong_k = precipitate(emulate(specimen, chain(field_factor=3.3 * 1.1), seed=1))
    assert wrong_k[:, :2].std(axis=0) / base[:, :2].std(axis=0) == pytest.approx([1 / 1.1] * 2, rel=0.01)
    assert (origin_z - wrong_k[:, 2].mean()) / base_depth == pytest.approx(1.21, rel=0.03)
    # ICF 10 % too large: theta x 1.1 -> lateral x ~1.1 (sin(1.1 theta) / sin(theta) near the
    # axis), depth x area(ICF) / area(1.1 ICF) of the field of view
    wrong_icf = precipitate(emulate(specimen, chain(image_compression=1.65 * 1.1), seed=1))
    lateral = wrong_icf[:, :2].std(axis=0) / base[:, :2].std(axis=0)
    assert lateral == pytest.approx([1.1] * 2, rel=0.015)
    predicted = (depth_per_ion_factor(replace(good, image_compression=1.65 * 1.1), 40.0)
                 / depth_per_ion_factor(good, 40.0))
    assert 1 / 1.21 < predicted < 0.9  # small-angle limit: 1 / 1.1^2
    assert (origin_z - wrong_icf[:, 2].mean()) / base_depth == pytest.approx(predicted, rel=0.03)


def test_field_contrast_sets_local_magnification(specimen, matched):
    true = matched.truth.position[matched.truth.phase == 1]
    base_lateral = precipitate(matched)[:, :2].std()

    def lateral_and_density(ratio):
        points = precipitate(emulate(specimen, chain(field_ratio=ratio), seed=1))
        return points[:, :2].std() / base_lateral, len(points) / np.prod(points.std(axis=0))

    base_density = len(true) / np.prod(precipitate(matched).std(axis=0))
    results = {ratio: lateral_and_density(ratio) for ratio in (0.7, 0.85, 1.15, 1.3)}
    for ratio, (lateral, density) in results.items():
        # a low-field precipitate (f < 1) flattens: compressed by f, denser; high-field: dilated
        assert lateral == pytest.approx(ratio, abs=0.03)
        assert (density > base_density) == (ratio < 1)
    # the effect grows with the contrast
    assert results[0.7][0] < results[0.85][0] < 1 < results[1.15][0] < results[1.3][0]
    assert results[0.7][1] > results[0.85][1] > base_density > results[1.15][1] > results[1.3][1]


def test_reconstruct_function_checks_its_inputs():
    xy = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    full = ReconstructionParams(image_compression=1.65, field_factor=3.3, evaporation_field=35.0,
                                flight_path=100.0, efficiency=0.8, atomic_volume=0.011)
    with pytest.raises(ConfigError, match="reconstruction.atomic_volume"):
        reconstruct(xy, np.ones(2), replace(full, atomic_volume=None))
    with pytest.raises(SynthaptError, match="DC voltages"):
        reconstruct(xy, np.array([5000.0, 0.0]), full)
    with pytest.raises(ConfigError, match="too wide"):
        reconstruct(xy, np.ones(2), replace(full, image_compression=3.0, detector_radius=200.0))
    # a hit at the detector centre reconstructs on the axis at the apex; input not modified
    frozen = np.array([[0.0, 0.0], [0.0, 0.0]], np.float32)
    frozen.flags.writeable = False
    out = reconstruct(np.r_[frozen, xy], np.full(4, 5000.0), full, origin=(1.0, 2.0, 3.0))
    assert out[0].tolist() == [1.0, 2.0, 3.0]
    assert out[1, 2] < 3.0  # the apex has moved down by one ion's depth


@pytest.mark.parametrize("data,key", [
    ({"hits": {"field_ratio": 0.0}}, "hits.field_ratio"),
    ({"hits": {"evaporation_field": -35.0}}, "hits.evaporation_field"),
    ({"hits": {"surface_cell": 0.0}}, "hits.surface_cell"),
    ({"reconstruction": {"efficiency": 1.5}}, "reconstruction.efficiency"),
    ({"reconstruction": {"image_compression": -1.0}}, "reconstruction.image_compression"),
    ({"reconstruction": {"shank_angle": 75.0}}, "reconstruction.shank_angle"),
    ({"reconstruction": {"radius_mode": "curve"}}, "reconstruction.radius_mode"),
])
def test_parameter_errors_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        from_dict(EmulationParams, data)


def test_hits_chain_is_deterministic_and_thread_independent(monkeypatch):
    specimen = lattice_specimen((20, 20, 24), geometry=Particles(centers=((3.5, 3.5, 5.0),),
                                                                semi_axes=((1.5,) * 3,)), seed=3)
    params = replace(chain(field_ratio=0.8, resolution=True), shape=ShapeParams(apex_radius=3.0),
                     background=BackgroundParams(fraction=0.01))
    runs = []
    for threads in ("1", "2", "2"):
        monkeypatch.setenv("SYNTHAPT_THREADS", threads)
        runs.append(emulate(specimen, params, seed=5))
    for other in runs[1:]:
        assert np.array_equal(runs[0].positions, other.positions)
        assert np.array_equal(runs[0].epos["det_x"], other.epos["det_x"])
        assert np.array_equal(runs[0].epos["v_dc"], other.epos["v_dc"])
    assert runs[0].metadata["stages"]["hits"]["max_tilt_deg"] > 0
