"""Emulation stages: efficiency, resolution, shape, evaporation, dead zone, magnification, ePOS."""

from dataclasses import replace

import numpy as np
import pytest

from synthapt.apt import EmulationParams, emulate
from synthapt.apt.bundle import IonBundle
from synthapt.apt.detector import dead_zone_losses
from synthapt.apt.emulate import STAGES, stage_generators
from synthapt.apt.params import (BackgroundParams, DetectorParams, EfficiencyParams,
                                 EvaporationParams, MagnificationParams, ResolutionParams,
                                 ShapeParams, SpectrumParams, VoltageParams)
from synthapt.apt.specimens import lattice_specimen
from synthapt.apt.tip import evaporation_key, tip_model
from synthapt.apt.voltage import time_of_flight
from synthapt.errors import ConfigError, SynthaptError
from synthapt.structures.isolated import Particles

SPHERE = Particles(centers=((6.0, 6.0, 6.0),), semi_axes=((3.0, 3.0, 3.0),))


def bare(**sections) -> EmulationParams:
    """Every optional stage off (box shape) except the given sections."""
    base = EmulationParams(
        shape=ShapeParams(kind="box"), efficiency=EfficiencyParams(enabled=False),
        detector=DetectorParams(enabled=False), resolution=ResolutionParams(enabled=False),
        magnification=MagnificationParams(enabled=False), background=BackgroundParams(enabled=False),
        spectrum=SpectrumParams(enabled=False))
    return replace(base, **sections)


@pytest.fixture(scope="module")
def big():
    """108,000 atoms, Ni-10Al matrix with a 3 nm Ni-25Al sphere."""
    return lattice_specimen((30, 30, 30), geometry=SPHERE, seed=1)


@pytest.fixture(scope="module")
def needle_specimen():
    return lattice_specimen((24, 24, 40), seed=2)


def test_kept_fraction_equals_efficiency(big):
    for value in (0.37, 0.8):
        ds = emulate(big, bare(efficiency=EfficiencyParams(value=value)), seed=4)
        n = big.n_atoms
        sigma = np.sqrt(n * value * (1 - value))
        assert abs(ds.n_ions - n * value) < 3 * sigma
        assert ds.metadata["stages"]["efficiency"]["detected"] == ds.n_ions
        # kept ions are distinct atoms with their true species
        assert len(np.unique(ds.truth.source_atom)) == ds.n_ions
        assert np.array_equal(ds.truth.species, big.species[ds.truth.source_atom])


def test_displacement_std_equals_sigma(big):
    params = bare(resolution=ResolutionParams(lateral_sigma=0.4, depth_sigma=0.15))
    ds = emulate(big, params, seed=5)
    shift = ds.positions.astype(np.float64) - ds.truth.position
    std = shift.std(axis=0)
    assert std == pytest.approx([0.4, 0.4, 0.15], rel=0.02)
    assert np.abs(shift.mean(axis=0)).max() < 0.01


def test_needle_crop_and_oversized_tip(needle_specimen):
    params = bare(shape=ShapeParams(apex_radius=3.0, shank_angle=10.0))
    ds = emulate(needle_specimen, params, seed=0)
    tip = tip_model(IonBundle.from_specimen(needle_specimen), params)
    pos = ds.truth.position
    rho = np.hypot(pos[:, 0] - tip.axis_xy[0], pos[:, 1] - tip.axis_xy[1])
    assert np.all(rho <= tip.radius_at(pos[:, 2]) + 1e-9)
    centre = tip.apex_z - 3.0
    cap = pos[:, 2] > centre
    assert np.all(rho[cap] ** 2 + (pos[cap, 2] - centre) ** 2 <= 9.0 + 1e-9)
    assert ds.n_ions < needle_specimen.n_atoms
    with pytest.raises(ConfigError, match="shape.apex_radius"):
        emulate(needle_specimen, bare(shape=ShapeParams(apex_radius=20.0)), seed=0)


def test_evaporation_goes_from_apex_down(needle_specimen):
    params = bare(shape=ShapeParams(apex_radius=4.0), evaporation=EvaporationParams(detection_rate=0.05))
    ds = emulate(needle_specimen, params, seed=1)
    assert np.all(np.diff(ds.pulse) >= 0)
    tip = tip_model(IonBundle.from_specimen(needle_specimen), params)
    key = evaporation_key(ds.truth.position.astype(np.float32), tip)
    assert np.all(np.diff(key) <= 0)
    # depth correlates with order: the first tenth lies above the last tenth
    tenth = ds.n_ions // 10
    assert ds.truth.position[:tenth, 2].min() > ds.truth.position[-tenth:, 2].max()
    # Poisson multiplicity: ions per pulse with mean detection_rate / (1 - exp(-rate)) per event
    ipp = ds.epos["ions_per_pulse"]
    events = ipp[ipp > 0]
    rate = 0.05
    assert events.mean() == pytest.approx(rate / (1 - np.exp(-rate)), rel=0.01)


def test_dead_zone_removes_later_close_hits(big):
    dense = EvaporationParams(detection_rate=3.0)
    params = bare(evaporation=dense, detector=DetectorParams(dead_zone_radius=6.0),
                  spectrum=SpectrumParams())
    ds = emulate(big, params, seed=2)
    lost = ds.metadata["stages"]["detector"]["lost_in_dead_zone"]
    assert lost > 1000
    xy = np.stack([ds.epos["det_x"], ds.epos["det_y"]], axis=1).astype(np.float64)
    close_pairs = 0
    for offset in range(1, 12):
        same = ds.pulse[offset:] == ds.pulse[:-offset]
        d = np.linalg.norm(xy[offset:] - xy[:-offset], axis=1)
        close_pairs += np.count_nonzero(same & (d < 6.0))
    assert close_pairs == 0
    # without the dead zone such pairs exist
    free = emulate(big, replace(params, detector=DetectorParams(dead_zone_radius=0.0)), seed=2)
    assert free.n_ions == ds.n_ions + lost


def test_dead_zone_loses_the_later_arrival():
    pulse = np.array([0, 1, 1, 1, 2, 2], dtype=np.int64)
    xy = np.array([[0, 0], [0, 0], [10, 0], [0.5, 0], [0, 0], [3, 0]], dtype=np.float32)
    mq = np.array([27, 30, 30, 9, 30, 20], dtype=np.float32)
    lost = dead_zone_losses(pulse, xy, mq, radius=1.0)
    # pulse 1: m/q 9 arrives first at (0.5, 0), so the m/q 30 ion at (0, 0) is lost
    assert lost.tolist() == [False, True, False, False, False, False]


def test_magnification_identity_and_density_change(big):
    base = bare()
    ident = emulate(big, replace(base, magnification=MagnificationParams(field_ratio=1.0)), seed=3)
    off = emulate(big, base, seed=3)
    assert np.array_equal(ident.positions, off.positions)

    def inside_count(ds):
        return int(np.count_nonzero(SPHERE.signed_distance(ds.positions.astype(np.float64)) > 0))

    truth = inside_count(off)
    high = emulate(big, replace(base, magnification=MagnificationParams(field_ratio=1.2)), seed=3)
    low = emulate(big, replace(base, magnification=MagnificationParams(field_ratio=0.8)), seed=3)
    # high field: precipitate spread out (fewer ions inside), low field: matrix ions pulled in
    assert inside_count(high) < 0.95 * truth
    assert inside_count(low) > 1.05 * truth
    # the displacement is lateral and largest at the interface (delta = 5 * 0.2 = 1 nm)
    shift = high.positions.astype(np.float64) - high.truth.position
    assert np.abs(shift[:, 2]).max() < 1e-5
    assert np.linalg.norm(shift, axis=1).max() == pytest.approx(1.0, abs=0.05)
    no_geometry = big.replace(geometry=None)
    with pytest.raises(SynthaptError, match="magnification"):
        emulate(no_geometry, replace(base, magnification=MagnificationParams(field_ratio=1.2)), seed=3)


def test_time_of_flight_physics(big):
    ds = emulate(big, bare(spectrum=SpectrumParams(), voltage=VoltageParams(v_dc_start=4000.0, v_dc_end=5000.0,
                                                                           pulse_fraction=0.2)), seed=6)
    epos = ds.epos
    assert epos["v_dc"][0] == pytest.approx(4000.0) and epos["v_dc"][-1] == pytest.approx(5000.0)
    assert np.all(np.diff(epos["v_dc"]) >= 0)
    assert np.allclose(epos["v_pulse"], 0.2 * epos["v_dc"], rtol=1e-6)
    # m/q back from t = L sqrt(m / (2 q e V)): m/q = 2 e V t^2 / (L^2 u)
    u, e, length = 1.66053906660e-27, 1.602176634e-19, 0.1
    volts = epos["v_dc"].astype(np.float64) + epos["v_pulse"]
    mq = 2 * e * volts * (epos["tof"].astype(np.float64) * 1e-9) ** 2 / (length ** 2 * u)
    assert np.allclose(mq, ds.mass_to_charge, rtol=1e-5)
    # Al+ (26.9815 Da) at 5 kV over 100 mm: 528.81 ns
    assert time_of_flight(np.array([26.9815]), np.array([5000.0]), 100.0)[0] == pytest.approx(528.81, abs=0.01)
    assert np.sum(epos["delta_pulse"], dtype=np.int64) == ds.pulse[-1]


def test_inputs_are_not_mutated(big):
    frozen = big.replace(positions=big.positions.copy(), species=big.species.copy(),
                         phase=big.phase.copy())
    for arr in (frozen.positions, frozen.species, frozen.phase, frozen.box):
        arr.flags.writeable = False
    params = EmulationParams(shape=ShapeParams(apex_radius=5.0),
                             magnification=MagnificationParams(field_ratio=1.1),
                             background=BackgroundParams(fraction=0.01))
    before = params.resolved()
    ds = emulate(frozen, params, seed=1)
    assert ds.n_ions > 0
    assert np.array_equal(frozen.positions, big.positions)
    assert params.resolved() == before


def test_switching_a_stage_off_keeps_other_stages_randomness(big):
    with_res = emulate(big, bare(efficiency=EfficiencyParams(value=0.5), spectrum=SpectrumParams(),
                                 resolution=ResolutionParams()), seed=9)
    without = emulate(big, bare(efficiency=EfficiencyParams(value=0.5), spectrum=SpectrumParams()), seed=9)
    assert np.array_equal(with_res.truth.source_atom, without.truth.source_atom)
    assert np.array_equal(with_res.mass_to_charge, without.mass_to_charge)
    assert not np.array_equal(with_res.positions, without.positions)
    assert len(stage_generators(1)) == len(STAGES)


def test_same_seed_same_dataset_and_bad_seed(big):
    a = emulate(big, EmulationParams(shape=ShapeParams(apex_radius=4.0)), seed=11)
    b = emulate(big, EmulationParams(shape=ShapeParams(apex_radius=4.0)), seed=11)
    c = emulate(big, EmulationParams(shape=ShapeParams(apex_radius=4.0)), seed=12)
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.mass_to_charge, b.mass_to_charge)
    assert not np.array_equal(a.mass_to_charge[:1000], c.mass_to_charge[:1000])
    with pytest.raises(ConfigError, match="seed"):
        emulate(big, EmulationParams(), seed=-1)


def test_bad_specimens(big):
    with pytest.raises(ConfigError, match="Xx"):
        emulate(big.replace(species_names=("Ni", "Xx")), bare(), seed=0)
    empty = big.replace(positions=np.zeros((0, 3)), species=np.zeros(0), phase=np.zeros(0))
    with pytest.raises(SynthaptError, match="no atoms"):
        emulate(empty, bare(), seed=0)


def test_detector_field_of_view(needle_specimen):
    params = bare(shape=ShapeParams(apex_radius=4.0), detector=DetectorParams(radius=40.0))
    ds = emulate(needle_specimen, params, seed=1)
    hits = np.hypot(ds.epos["det_x"], ds.epos["det_y"])
    assert hits.max() <= 40.0
    lost = ds.metadata["stages"]["detector"]["lost_outside_detector"]
    full = emulate(needle_specimen, replace(params, detector=DetectorParams()), seed=1)
    assert lost > 0 and full.n_ions == ds.n_ions + lost
    assert np.hypot(full.epos["det_x"], full.epos["det_y"]).max() > 40.0


def test_all_stages_off_reproduces_the_specimen(big):
    params = bare(evaporation=EvaporationParams(enabled=False), voltage=VoltageParams(enabled=False))
    ds = emulate(big, params, seed=0)
    assert ds.n_ions == big.n_atoms
    assert np.array_equal(ds.truth.source_atom, np.arange(big.n_atoms))
    assert np.array_equal(ds.positions, big.positions.astype(np.float32))
    assert np.array_equal(ds.truth.position, big.positions)
    assert np.array_equal(ds.truth.phase, big.phase)
    assert np.array_equal(ds.species, big.species)
    assert ds.epos is None and np.array_equal(ds.pulse, np.arange(big.n_atoms))


def test_output_does_not_depend_on_thread_count(big, monkeypatch):
    import synthapt.apt.chunks

    monkeypatch.setattr(synthapt.apt.chunks, "CHUNK", 10_000)  # 11 chunks
    params = EmulationParams(shape=ShapeParams(kind="box"), background=BackgroundParams(fraction=0.01))
    results = []
    for threads in ("1", "3"):
        monkeypatch.setenv("SYNTHAPT_THREADS", threads)
        results.append(emulate(big, params, seed=21))
    a, b = results
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.mass_to_charge, b.mass_to_charge)
    assert np.array_equal(a.truth.source_atom, b.truth.source_atom)


def test_gaussian_fill_is_standard_normal():
    from scipy import stats

    from synthapt.apt.chunks import gaussian_fill

    out = np.full(400_001, np.nan, dtype=np.float32)  # odd length: last pair half used
    gaussian_fill(np.random.default_rng(3), out)
    assert np.isfinite(out).all()
    assert abs(out.mean()) < 4 / np.sqrt(len(out))
    assert out.std() == pytest.approx(1.0, abs=4 / np.sqrt(2 * len(out)))
    assert abs(stats.kurtosis(out)) < 0.05 and abs(stats.skew(out)) < 0.03
    assert stats.kstest(out, "norm").pvalue > 1e-3
    assert np.abs(out).max() < 5.8


def test_interface_band_prescreen_is_exact(monkeypatch):
    import synthapt.apt.aberrations as aberrations
    import synthapt.apt.chunks as chunks

    monkeypatch.setattr(chunks, "CHUNK", 1 << 15)  # several chunks, several threads
    monkeypatch.setenv("SYNTHAPT_THREADS", "2")
    points = np.random.default_rng(0).random((300_000, 3)) * 20.0
    geometry = Particles(centers=((10.0, 10.0, 10.0), (3.0, 4.0, 5.0)),
                         semi_axes=((5.0, 5.0, 5.0), (2.0, 2.0, 2.0)), box=(20.0, 20.0, 20.0))
    band, s = aberrations.interface_band(geometry, points, 2.0)  # 22^3 grid nodes: screened
    direct = geometry.signed_distance(points)
    expected = np.flatnonzero(np.abs(direct) < 2.0)
    assert np.array_equal(band, expected) and np.array_equal(s, direct[expected])
    assert 0 < len(band) < len(points) // 2
    index = np.random.default_rng(1).integers(0, len(points), 200_000)  # ions = points[index]
    band, s = aberrations.interface_band(geometry, points, 2.0, index=index)
    expected = np.flatnonzero(np.abs(direct[index]) < 2.0)
    assert np.array_equal(band, expected) and np.array_equal(s, direct[index][expected])


def test_correlated_co_evaporation(needle_specimen):
    base = bare(shape=ShapeParams(apex_radius=4.0), detector=DetectorParams(),
                spectrum=SpectrumParams())
    plain = emulate(needle_specimen, base, seed=4)
    params = replace(base, evaporation=EvaporationParams(correlated_fraction=0.3))
    ds = emulate(needle_specimen, params, seed=4)
    joined = ds.metadata["stages"]["evaporation"]["co_evaporated"]
    evaporated = ds.metadata["stages"]["shape"]["kept"]
    assert 0.2 * evaporated < joined < 0.3 * evaporated + 4 * np.sqrt(evaporated)
    assert plain.metadata["stages"]["evaporation"]["co_evaporated"] == 0
    same = ds.pulse[1:] == ds.pulse[:-1]
    gap = np.linalg.norm(ds.truth.position[1:] - ds.truth.position[:-1], axis=1)
    assert np.median(gap[same]) < 0.4  # same-pulse ions are neighbours (fcc Ni: 0.249 nm)
    plain_same = plain.pulse[1:] == plain.pulse[:-1]
    plain_gap = np.linalg.norm(plain.truth.position[1:] - plain.truth.position[:-1], axis=1)
    assert np.median(plain_gap[plain_same]) > 1.0  # uncorrelated Poisson multiples are not
    # neighbours land within the dead zone: many more losses than without correlation
    lost = ds.metadata["stages"]["detector"]["lost_in_dead_zone"]
    assert lost > 10 * max(plain.metadata["stages"]["detector"]["lost_in_dead_zone"], 1)
    assert np.all(np.diff(ds.pulse) >= 0)


def test_co_evaporation_partners_follow_chains():
    from synthapt.apt.tip import co_evaporation_partners

    positions = np.array([[0, 0, 0], [0.3, 0, 0], [0.6, 0, 0], [5, 0, 0], [5.2, 0, 0.0]])
    partner = co_evaporation_partners(positions, np.array([1, 2, 3, 4]), distance=0.4)
    # 1 joins 0, 2 joins 1 and so 0; 3 has no earlier neighbour within 0.4 nm; 4 joins 3
    assert partner.tolist() == [0, 0, 0, 3, 3]


@pytest.mark.parametrize("section", ["shape", "evaporation", "efficiency", "spectrum", "detector",
                                     "magnification", "resolution", "background", "voltage"])
def test_each_stage_can_be_switched_off(big, section):
    params = EmulationParams(shape=ShapeParams(apex_radius=4.0),
                             magnification=MagnificationParams(field_ratio=1.1),
                             background=BackgroundParams(fraction=0.01))
    off = replace(params, **{section: replace(getattr(params, section), enabled=False)})
    on_ds, off_ds = emulate(big, params, seed=8), emulate(big, off, seed=8)
    stats = off_ds.metadata["stages"][section]
    assert stats.get("enabled") is False or stats.get("kind") == "box"
    assert off_ds.n_ions > 0 and off_ds.truth is not None

    def arrays(ds):
        return [ds.positions, ds.mass_to_charge] + ([] if ds.epos is None else list(ds.epos.values()))

    a, b = arrays(on_ds), arrays(off_ds)
    assert len(a) != len(b) or not all(np.array_equal(x, y) for x, y in zip(a, b))


def test_compress_rows_and_scaled_gaussians(monkeypatch):
    import synthapt.apt.chunks as chunks

    monkeypatch.setattr(chunks, "CHUNK", 1 << 12)
    monkeypatch.setenv("SYNTHAPT_THREADS", "2")
    rng = np.random.default_rng(2)
    mask = rng.random(50_001) < 0.7
    a, b = rng.integers(0, 99, 50_001), rng.random((50_001, 3)).astype(np.float32)
    got = chunks.compress_rows(mask, [a, None, b])
    assert got[1] is None and np.array_equal(got[0], a[mask]) and np.array_equal(got[2], b[mask])
    sigma = np.array([0.5, 0.5, 2.0], dtype=np.float32)
    scaled = chunks.gaussian_fill(np.random.default_rng(3), np.empty((40_000, 3), np.float32),
                                  scale=sigma)
    plain = chunks.gaussian_fill(np.random.default_rng(3), np.empty((40_000, 3), np.float32))
    assert np.allclose(scaled, plain * sigma, rtol=1e-6, atol=1e-6)
    assert scaled.std(axis=0) == pytest.approx(sigma, rel=0.03)


def test_uniform_fill_takes_float32_uniform_values():
    from synthapt.apt.chunks import uniform_fill

    u = uniform_fill(np.random.default_rng(4), np.empty(200_001, np.float32))
    k = u.astype(np.float64) * 2.0 ** 24
    assert u.min() >= 0 and u.max() < 1 and np.array_equal(k, np.round(k))
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / len(u))
    assert np.histogram(u, bins=10, range=(0, 1))[0].min() > 19_000


def test_ion_count_beyond_the_memory_budget_is_refused_first(monkeypatch):
    specimen = lattice_specimen((5, 5, 5), seed=1)  # 500 atoms
    params = bare(background=BackgroundParams(fraction=0.9999))
    monkeypatch.setenv("SYNTHAPT_MEMORY_BUDGET", "100M")
    with pytest.raises(SynthaptError) as info:
        emulate(specimen, params, seed=0)
    assert str(info.value) == ("background.fraction: 0.9999 on 500 atoms (up to 5,000,000 ions) "
                               "needs 1.2 GiB, more than the memory budget of 100.0 MiB "
                               "(set SYNTHAPT_MEMORY_BUDGET to change it)")
    assert emulate(specimen, bare(background=BackgroundParams(fraction=0.5)), seed=0).n_ions == 1000
