"""Mass spectrum: isotope ratios, charge states, peak width, ranging with the generated table."""

from dataclasses import replace

import numpy as np
import pytest

from synthapt.apt import EmulationParams, emulate
from synthapt.apt.isotopes import isotopes
from synthapt.apt.params import (BackgroundParams, EfficiencyParams, ResolutionParams, ShapeParams,
                                 SpectrumParams)
from synthapt.apt.spectrum import FWHM_PER_SIGMA, peak_table, range_intervals
from synthapt.apt.specimens import lattice_specimen

BOX = ShapeParams(kind="box")


@pytest.fixture(scope="module")
def nialcr():
    return lattice_specimen((30, 30, 30), species_names=("Ni", "Al", "Cr"),
                            matrix_fractions=(0.8, 0.12, 0.08), seed=3)


@pytest.fixture(scope="module")
def nial():
    return lattice_specimen((30, 30, 30), seed=4)


def nearest_peak(ds, spectrum):
    """Index into the peak table of the nearest peak of each ion's true element."""
    peaks = peak_table(ds.truth.species_names, spectrum)
    dist = np.abs(ds.mass_to_charge[:, None].astype(np.float64) - peaks.centre[None, :])
    dist[peaks.element[None, :] != ds.truth.species[:, None]] = np.inf
    return peaks, np.argmin(dist, axis=1)


def test_isotope_and_charge_fractions_follow_the_tables(nialcr):
    spectrum = SpectrumParams(tail_fraction=0.0, mass_resolving_power=1000.0)
    ds = emulate(nialcr, EmulationParams(shape=BOX, spectrum=spectrum), seed=1)
    peaks, which = nearest_peak(ds, spectrum)
    counts = np.bincount(which, minlength=len(peaks.centre))
    for code, element in enumerate(ds.truth.species_names):
        iso = isotopes(element)
        mine = peaks.element == code
        n_element = counts[mine].sum()
        for q, fraction in enumerate(spectrum.charge_fractions(element), start=1):
            rows = mine & (peaks.charge == q)
            n_q = counts[rows].sum()
            sigma = np.sqrt(n_element * fraction * (1 - fraction)) + 1
            assert abs(n_q - n_element * fraction) < 4 * sigma, (element, q)
            if n_q < 1000:
                continue
            for number, abundance in zip(iso.mass_numbers, iso.abundances):
                n_iso = counts[rows & (peaks.mass_number == number)].sum()
                sigma = np.sqrt(n_q * abundance * (1 - abundance)) + 1
                assert abs(n_iso - n_q * abundance) < 4 * sigma, (element, q, number)


def test_peak_width_matches_resolving_power(nial):
    spectrum = SpectrumParams(tail_fraction=0.0, mass_resolving_power=800.0)
    ds = emulate(nial, EmulationParams(shape=BOX, spectrum=spectrum), seed=2)
    peaks, which = nearest_peak(ds, spectrum)
    rel = ds.mass_to_charge / peaks.centre[which] - 1.0
    assert rel.std() == pytest.approx(1.0 / (FWHM_PER_SIGMA * 800.0), rel=0.02)
    tailed = emulate(nial, EmulationParams(shape=BOX, spectrum=replace(spectrum, tail_fraction=0.2,
                                                                      tail_decay=0.003)), seed=2)
    rel_tail = tailed.mass_to_charge / peaks.centre[which] - 1.0
    # the exponential tail adds tail_fraction * tail_decay to the mean relative shift
    assert rel_tail.mean() - rel.mean() == pytest.approx(0.2 * 0.003, rel=0.05)


def test_background_free_ranging_recovers_true_species(nial):
    ds = emulate(nial, EmulationParams(shape=BOX), seed=3)
    names = np.array(ds.species_names + ("?",))
    ranged = names[ds.species]
    true = np.array(ds.truth.species_names)[ds.truth.species]
    assert np.mean(ranged == true) >= 0.999
    assert ds.species_names == ("Ni", "Al")
    volumes = {r.ion: r.volume for r in ds.ranges.ranges}
    assert volumes == {"Ni": pytest.approx(0.01094, abs=1e-5), "Al": pytest.approx(0.01660, abs=1e-5)}
    report = ds.metadata["ranging"]
    assert report["misassigned"] == 0
    assert report["correct"] == int(np.sum(ranged == true))
    assert report["unranged"] == int(np.sum(ds.species < 0))


def test_overlapping_peaks_go_to_the_dominant_element(nialcr):
    # 54Cr2+ (26.969 Da) sits under 27Al+ (26.982 Da): the range goes to Al, those Cr ions
    # are misassigned, at the expected rate of Cr fraction(2+) x abundance(54Cr)
    ds = emulate(nialcr, EmulationParams(shape=BOX), seed=4)
    intervals = range_intervals(("Ni", "Al", "Cr"), np.array([0.8, 0.12, 0.08]),
                                EmulationParams().resolved().spectrum)
    at_27 = [code for lo, hi, code in intervals if lo <= 26.97 < hi]
    assert at_27 == [1]
    cr = ds.truth.species == 2
    wrong = cr & (ds.species >= 0) & (ds.species != 2)
    expected = 0.90 * isotopes("Cr").abundances[3]
    n_cr = cr.sum()
    assert abs(wrong.sum() / n_cr - expected) < 4 * np.sqrt(expected * (1 - expected) / n_cr) + 2e-3
    assert ds.metadata["ranging"]["misassigned"] >= wrong.sum()


def test_background_misassignment_is_reported(nial):
    params = EmulationParams(shape=BOX, efficiency=EfficiencyParams(value=0.8),
                             background=BackgroundParams(fraction=0.05, mq_min=1.0, mq_max=80.0))
    ds = emulate(nial, params, seed=5)
    report = ds.metadata["ranging"]
    bg = ds.truth.source_atom < 0
    assert bg.sum() == report["background_ions"]
    assert bg.mean() == pytest.approx(0.05, abs=1e-4)
    assert np.all(np.isnan(ds.truth.position[bg])) and np.all(ds.truth.species[bg] == -1)
    assert np.all(ds.truth.phase[bg] == -1)
    wrong = (ds.species >= 0) & (np.array([0, 1], dtype=np.int16)[np.maximum(ds.species, 0)]
                                 != ds.truth.species)
    assert report["misassigned"] == int(wrong.sum())
    expected = report["expected_background_misassigned_fraction"]
    covered = sum(min(r.hi, 80.0) - max(r.lo, 1.0) for r in ds.ranges.ranges) / 79.0
    assert expected == pytest.approx(0.05 * covered)
    n = ds.n_ions
    assert abs(report["misassigned_fraction"] - expected) < 4 * np.sqrt(expected / n)
    # background ions sit inside the analysed volume and in pulse order
    assert np.all(np.diff(ds.pulse) >= 0)
    lo, hi = ds.positions[~bg].min(axis=0), ds.positions[~bg].max(axis=0)
    assert np.all(ds.positions[bg] > lo - 3.0) and np.all(ds.positions[bg] < hi + 3.0)


def test_spectrum_off_gives_ideal_peaks(nial):
    ds = emulate(nial, EmulationParams(shape=BOX, spectrum=SpectrumParams(enabled=False),
                                       resolution=ResolutionParams(enabled=False)), seed=6)
    expected = np.array([isotopes("Ni").mean_mass, isotopes("Al").mean_mass], dtype=np.float32)
    assert np.array_equal(ds.mass_to_charge, expected[ds.truth.species])
    assert np.array_equal(ds.species, ds.truth.species)


def test_range_boundary_between_overlapping_peaks_is_where_densities_cross():
    from synthapt.apt.spectrum import peak_density

    spectrum = EmulationParams().resolved().spectrum
    fractions = np.array([0.8, 0.2])
    intervals = range_intervals(("Ni", "Co"), fractions, spectrum)
    # 58Ni2+ (28.968 Da, tail upwards) meets 59Co2+ (29.467 Da)
    boundary = [hi for lo, hi, code in intervals if code == 0 and lo < 29.0 < hi][0]
    assert 29.2 < boundary < 29.467
    peaks = peak_table(("Ni", "Co"), spectrum)

    def density(code, x):
        rows = np.flatnonzero(peaks.element == code)
        return sum(fractions[code] * peaks.probability[p] * peak_density(np.array([x]), peaks.centre[p],
                                                                         spectrum)[0] for p in rows)

    step = 29.4 * 0.25 / (FWHM_PER_SIGMA * spectrum.mass_resolving_power)
    assert density(0, boundary - step) > density(1, boundary - step)
    assert density(0, boundary + step) < density(1, boundary + step)


def test_centre_table_sampling_is_exact_inversion():
    from synthapt.apt.spectrum import GUIDE

    peaks = peak_table(("Ni", "Al", "Mo"), EmulationParams().resolved().spectrum)
    table = peaks.centre_table(3)
    assert (table < 0).sum() < len(peaks.centre)  # few ambiguous cells
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 3, 400_000).astype(np.uint8)
    u = rng.random(400_000, dtype=np.float32)
    cum = peaks.cumulative()  # u right at and just below every cumulative boundary and cell edge
    edges = np.concatenate([cum, np.arange(GUIDE) / GUIDE]).astype(np.float32)
    u[: len(edges)] = edges
    u[len(edges): 2 * len(edges)] = np.nextafter(edges, np.float32(0))
    u = np.minimum(u, np.nextafter(np.float32(1), np.float32(0)))
    got = peaks.sample_centres(codes, u, table).copy()
    expected = peaks.centre[peaks.exact_peaks(codes, u)].astype(np.float32)
    assert np.array_equal(got, expected)
    brute = np.array([np.flatnonzero((peaks.element == c) & (cum > x))[0]
                      for c, x in zip(codes[:2000], u[:2000].astype(np.float64))])
    assert np.array_equal(peaks.exact_peaks(codes[:2000], u[:2000]), brute)
