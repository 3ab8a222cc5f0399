"""Emulation stages: mass spectrum (isotopes x charge states, peak shapes), background, ranges.

Each ion of element E takes charge state q with the configured fraction and isotope i with its
natural abundance (``synthapt.apt.isotopes``, IUPAC 2013), so its nominal m/q is m_i / q (Da).
Peak shape: Gaussian of relative sigma 1 / (2.3548 R) for a mass resolving power R = m/dm (FWHM),
plus, for a fraction ``tail_fraction`` of the ions, an exponential thermal tail towards higher m/q
of decay length ``tail_decay`` x m/q (late evaporation after the laser pulse; Gault et al.,
"Atom Probe Microscopy", Springer 2012, ch. 5). Background ions are uniform in m/q.

The range table is generated from the same peak model: each peak's window holds the fraction
``range_coverage`` of its ions (Gaussian core +- z sigma, upper edge extended over the tail);
where windows of different elements overlap, each m/q goes to the element with the larger
expected ion density there (Gaussian + exponentially modified Gaussian tail), so ranges never
overlap and the overlap misranges as few ions as possible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import exponnorm, norm

from synthapt.apt.bundle import IonBundle
from synthapt.apt.chunks import for_chunks, gaussian_fill, scratch, uniform_fill
from synthapt.apt.isotopes import isotopes
from synthapt.apt.params import EmulationParams, SpectrumParams
from synthapt.ranges import Range, RangeTable

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
GUIDE = 4096  # guide-table cells per species for peak sampling
IDEAL_HALF_WIDTH = 0.3  # Da, ranges around the mean atomic mass when the spectrum stage is off
# Atomic volumes (nm^3) for the RRNG ``Vol`` field, from room-temperature lattice parameters
# (C. Kittel, Introduction to Solid State Physics, 8th ed., Wiley 2005, ch. 1): fcc a^3/4,
# bcc a^3/2, diamond a^3/8, hcp (sqrt(3)/2 a^2 c) / 2. Elements not listed get 0.
ATOMIC_VOLUMES = {"Ni": 0.3524 ** 3 / 4, "Al": 0.40495 ** 3 / 4, "Cu": 0.3615 ** 3 / 4,
                  "Fe": 0.28665 ** 3 / 2, "Cr": 0.2884 ** 3 / 2, "Mo": 0.3147 ** 3 / 2,
                  "W": 0.3165 ** 3 / 2, "Nb": 0.3300 ** 3 / 2, "Ta": 0.3306 ** 3 / 2,
                  "V": 0.3024 ** 3 / 2, "Si": 0.5431 ** 3 / 8,
                  "Co": 3 ** 0.5 / 2 * 0.2507 ** 2 * 0.4069 / 2,
                  "Ti": 3 ** 0.5 / 2 * 0.2951 ** 2 * 0.4684 / 2}
COLOURS = {"Ni": "00CC00", "Al": "0000FF", "Co": "FF00FF", "Cr": "999999", "Fe": "FF6600",
           "H": "FFFFFF", "Cu": "CC6600", "Si": "AAAA00", "Ti": "00AAAA", "Mo": "660099",
           "W": "333333", "Ta": "996633", "Re": "FF9999", "Nb": "3399FF", "C": "000000"}


@dataclass(frozen=True)
class PeakTable:
    """All peaks of a specimen's elements.

    element: (P,) species code of each peak; charge: (P,) int; mass_number: (P,) int;
    centre: (P,) nominal m/q in Da; probability: (P,) probability of the peak within its element.
    """

    element: np.ndarray
    charge: np.ndarray
    mass_number: np.ndarray
    centre: np.ndarray
    probability: np.ndarray

    def cumulative(self) -> np.ndarray:
        """(P,) cumulative probability of each peak within its element (last one exactly 1)."""
        out = np.empty(len(self.centre))
        for code in np.unique(self.element):
            rows = np.flatnonzero(self.element == code)
            cum = np.cumsum(self.probability[rows])
            cum[-1] = 1.0  # guard against round-off at the block end
            out[rows] = cum
        return out

    def centre_table(self, n_species: int) -> np.ndarray:
        """(n_species * GUIDE,) float32 guide table for inversion sampling: for species c and any
        u in [g, g+1) / GUIDE, entry c * GUIDE + g is the m/q centre (Da) of the first peak of c
        whose cumulative probability exceeds u, or -1 where a cumulative probability falls
        inside the cell (those few u go to ``exact_peaks``)."""
        cum = self.cumulative()
        table = np.full(n_species * GUIDE, -1.0, dtype=np.float32)
        lower = np.arange(GUIDE) / GUIDE
        upper = (np.arange(GUIDE) + 1) / GUIDE
        for code in range(n_species):
            rows = np.flatnonzero(self.element == code)
            if len(rows):
                first = np.searchsorted(cum[rows], lower, side="right")
                same = first == np.searchsorted(cum[rows], upper, side="left")
                block = table[code * GUIDE:(code + 1) * GUIDE]
                block[same] = self.centre[rows[first[same]]]
        return table

    def exact_peaks(self, codes: np.ndarray, u: np.ndarray) -> np.ndarray:
        """(n,) peak index for species ``codes`` (n,) and uniforms ``u`` (n,) in [0, 1): the first
        peak of the species whose cumulative probability exceeds u (exact inversion)."""
        cum = self.cumulative()
        peak = np.zeros(len(codes), dtype=np.int64)
        for code in np.unique(codes):
            rows = np.flatnonzero(self.element == code)
            these = np.flatnonzero(codes == code)
            peak[these] = rows[np.searchsorted(cum[rows], u[these].astype(np.float64), side="right")]
        return peak

    def sample_centres(self, codes: np.ndarray, u: np.ndarray, table: np.ndarray) -> np.ndarray:
        """(n,) float32 m/q centres (Da) of the peaks that ``exact_peaks`` picks, via ``table``
        (``centre_table``): one lookup per ion, exact inversion only in ambiguous cells. The
        result is a per-thread work array (``chunks.scratch``), valid until the next call."""
        n = len(u)
        scaled = np.multiply(u, np.float32(GUIDE), out=scratch("peak_u", n, np.float32))
        cell = scratch("peak_cell", n, np.intp)
        cell[...] = scaled  # truncation; exact as GUIDE = 2^12
        offset = np.multiply(codes, GUIDE, out=scratch("peak_offset", n, np.intp), dtype=np.intp)
        cell += offset
        centre = np.take(table, cell, out=scratch("peak_centre", n, np.float32), mode="clip")
        ambiguous = np.flatnonzero(centre < 0)
        if len(ambiguous):
            peak = self.exact_peaks(codes[ambiguous], u[ambiguous])
            centre[ambiguous] = self.centre[peak]
        return centre


def peak_table(species_names: tuple[str, ...], spectrum: SpectrumParams) -> PeakTable:
    """Peaks (isotope x charge state) of every species; ideal single peaks when ``spectrum`` is
    disabled (one per element at its mean atomic mass, charge 1)."""
    rows = []
    for code, element in enumerate(species_names):
        iso = isotopes(element, f"specimen species {element!r}")
        if not spectrum.enabled:
            rows.append((code, 1, 0, iso.mean_mass, 1.0))
            continue
        for q, fraction in enumerate(spectrum.charge_fractions(element), start=1):
            for number, mass, abundance in zip(iso.mass_numbers, iso.masses, iso.abundances):
                if fraction * abundance > 0:
                    rows.append((code, q, int(number), mass / q, fraction * abundance))
    element, charge, number, centre, prob = (np.array(col) for col in zip(*rows))
    return PeakTable(element.astype(np.int16), charge.astype(np.int8), number.astype(np.int16),
                     centre.astype(np.float64), prob.astype(np.float64))


def bernoulli_indices(g: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Sorted indices in [0, n) each selected independently with probability ``p``: a Bernoulli
    process drawn as geometric gaps (cheaper than n uniforms when p is small)."""
    if p <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1:
        return np.arange(n, dtype=np.int64)
    expected = n * p
    positions = np.cumsum(g.geometric(p, int(expected + 6 * np.sqrt(expected) + 16))) - 1
    while positions[-1] < n:
        more = np.cumsum(g.geometric(p, int(expected) + 16)) + positions[-1]
        positions = np.concatenate([positions, more])
    return positions[: np.searchsorted(positions, n)]


def spectrum_stage(bundle: IonBundle, params: EmulationParams,
                   rng: np.random.Generator) -> IonBundle:
    """Give every ion an m/q (Da): peak by charge state and isotope, Gaussian width, thermal tail."""
    spec = params.resolved().spectrum
    peaks = peak_table(bundle.specimen.species_names, spec)
    if not spec.enabled:
        mq = peaks.centre.astype(np.float32)[bundle.true_species()]
        return bundle.replace(mass_to_charge=mq).with_stats("spectrum", enabled=False)
    table = peaks.centre_table(len(bundle.specimen.species_names))
    rel_sigma = np.float32(1.0 / (FWHM_PER_SIGMA * spec.mass_resolving_power))
    tail_fraction, tail_decay = np.float32(spec.tail_fraction), np.float32(spec.tail_decay)
    species, atom = bundle.source_species(), bundle.atom
    mq = np.empty(bundle.n, dtype=np.float32)

    def work(s: slice, g: np.random.Generator) -> None:
        m = s.stop - s.start
        codes = np.take(species, atom[s], out=scratch("species", m, species.dtype), mode="clip")
        u = uniform_fill(g, scratch("uniform", m, np.float32))
        centre = peaks.sample_centres(codes, u, table)
        out = mq[s]
        gaussian_fill(g, out, scale=rel_sigma)
        out += np.float32(1.0)
        if tail_fraction > 0 and tail_decay > 0:
            tail = bernoulli_indices(g, m, spec.tail_fraction)
            out[tail] += g.standard_exponential(len(tail), dtype=np.float32) * tail_decay
        out *= centre

    for_chunks(bundle.n, rng, work)
    return bundle.replace(mass_to_charge=mq).with_stats(
        "spectrum", peaks=len(peaks.centre), mass_resolving_power=spec.mass_resolving_power,
        tail_fraction=spec.tail_fraction, tail_decay=spec.tail_decay)


def peak_windows(peaks: PeakTable, spectrum: SpectrumParams) -> tuple[np.ndarray, np.ndarray]:
    """(P,) lower and upper m/q bounds (Da) holding ``range_coverage`` of each peak's ions."""
    if not spectrum.enabled:
        return peaks.centre - IDEAL_HALF_WIDTH, peaks.centre + IDEAL_HALF_WIDTH
    eps = (1.0 - spectrum.range_coverage) / 2.0
    z = float(ndtri(1.0 - eps))
    rel_sigma = 1.0 / (FWHM_PER_SIGMA * spectrum.mass_resolving_power)
    tail = 0.0
    if spectrum.tail_fraction > 0 and spectrum.tail_decay > 0:
        tail = spectrum.tail_decay * max(np.log(spectrum.tail_fraction / eps), 0.0)
    lo = peaks.centre * (1.0 - z * rel_sigma)
    hi = peaks.centre * (1.0 + z * rel_sigma + tail)
    return lo, hi


def peak_density(x: np.ndarray, centre: float, spectrum: SpectrumParams) -> np.ndarray:
    """(n,) probability density (1/Da) at m/q ``x`` of the ions of one peak at ``centre`` (Da):
    Gaussian core, plus the thermal tail as an exponentially modified Gaussian."""
    sigma = centre / (FWHM_PER_SIGMA * spectrum.mass_resolving_power)
    core = norm.pdf(x, centre, sigma)
    if not (spectrum.tail_fraction > 0 and spectrum.tail_decay > 0):
        return core
    tail = exponnorm.pdf(x, centre * spectrum.tail_decay / sigma, loc=centre, scale=sigma)
    return (1.0 - spectrum.tail_fraction) * core + spectrum.tail_fraction * tail


def range_intervals(species_names: tuple[str, ...], element_fraction: np.ndarray,
                    spectrum: SpectrumParams) -> list[tuple[float, float, int]]:
    """Non-overlapping (lo, hi, species code) m/q intervals covering all peak windows, sorted by
    code then m/q. Where windows of different species overlap, each m/q goes to the species of
    the largest expected ion density there (the assignment that misranges fewest ions), on a grid
    of relative step sigma/4. ``element_fraction``: (S,) expected fraction of ions of each
    species; ``spectrum`` must be resolved (``EmulationParams.resolved().spectrum``)."""
    peaks = peak_table(species_names, spectrum)
    lo, hi = peak_windows(peaks, spectrum)
    weight = np.maximum(element_fraction[peaks.element], 1e-6) * peaks.probability
    if not spectrum.enabled:  # ideal peaks: uniform density over each window
        step = 1e-4
        lo, hi = lo * (1 - step), hi * (1 + step)

        def density_of(p: int, x: np.ndarray) -> np.ndarray:
            return np.full(len(x), weight[p] / (hi[p] - lo[p]))
    else:
        step = 0.25 / (FWHM_PER_SIGMA * spectrum.mass_resolving_power)
        lo, hi = lo * (1 - step), hi * (1 + step)  # the grid must not cut into a window

        def density_of(p: int, x: np.ndarray) -> np.ndarray:
            return weight[p] * peak_density(x, float(peaks.centre[p]), spectrum)

    start = np.log(lo.min())
    n_cells = int(np.ceil((np.log(hi.max()) - start) / step))
    edges = np.exp(start + step * np.arange(n_cells + 1))
    mids = np.sqrt(edges[:-1] * edges[1:])
    density = np.zeros((len(species_names), n_cells))
    for p in range(len(peaks.centre)):
        first, last = np.searchsorted(mids, [lo[p], hi[p]])
        density[peaks.element[p], first:last] += density_of(p, mids[first:last])
    winner = np.argmax(density, axis=0)
    winner[density.max(axis=0) <= 0] = -1
    change = np.flatnonzero(np.diff(winner)) + 1
    starts, stops = np.r_[0, change], np.r_[change, n_cells]
    pieces = [(float(edges[a]), float(edges[b]), int(winner[a]))
              for a, b in zip(starts, stops) if winner[a] >= 0]
    pieces.sort(key=lambda piece: (piece[2], piece[0]))
    return pieces


def build_range_table(species_names: tuple[str, ...], element_fraction: np.ndarray,
                      spectrum: SpectrumParams):
    """The ``synthapt.ranges.RangeTable`` (one elemental ion per species) for the peak model."""
    ranges = tuple(
        Range(lo, hi, species_names[code], {species_names[code]: 1},
              volume=round(ATOMIC_VOLUMES.get(species_names[code], 0.0), 6),
              color=COLOURS.get(species_names[code], "FF0000"))
        for lo, hi, code in range_intervals(species_names, element_fraction, spectrum))
    table = RangeTable(ranges)
    table.validate()
    return table


def background_stage(bundle: IonBundle, params: EmulationParams,
                     rng: np.random.Generator) -> IonBundle:
    """Add background ions (``background.fraction`` of the output), uniform in m/q, at uniformly
    random pulses; each takes the position (+ 0.5 nm Gaussian jitter) and detector hit of a random
    detected ion evaporated near that pulse, so they fill the analysed volume."""
    bg = params.background
    if not bg.enabled or bg.fraction == 0.0 or bundle.n == 0:
        return bundle.with_stats("background", enabled=bg.enabled, added=0)
    n_bg = int(round(bundle.n * bg.fraction / (1.0 - bg.fraction)))
    pulse = bundle.pulse if bundle.pulse is not None else np.arange(bundle.n, dtype=np.int64)
    bg_pulse = np.sort(rng.integers(pulse[0], pulse[-1] + 1, size=n_bg))
    near = np.searchsorted(pulse, bg_pulse) + rng.integers(-500, 501, size=n_bg)
    donor = np.clip(near, 0, bundle.n - 1)
    position = bundle.reconstructed()[donor] + rng.normal(0.0, 0.5, (n_bg, 3)).astype(np.float32)
    mq = rng.uniform(bg.mq_min, bg.mq_max, size=n_bg).astype(np.float32)
    extra = {
        "atom": np.full(n_bg, -1, dtype=np.int64),
        "position": position.astype(np.float32),
        "pulse": bg_pulse,
        "detector_xy": None if bundle.detector_xy is None else bundle.detector_xy[donor],
        "mass_to_charge": mq,
        "v_dc": None if bundle.v_dc is None else bundle.v_dc[donor],
    }
    # insert after the detected ions of the same pulse, keeping pulse order
    slot = np.searchsorted(pulse, bg_pulse, side="right") + np.arange(n_bg)
    is_bg = np.zeros(bundle.n + n_bg, dtype=bool)
    is_bg[slot] = True
    base = {"atom": bundle.atom, "position": bundle.reconstructed(), "pulse": pulse,
            "detector_xy": bundle.detector_xy, "mass_to_charge": bundle.mass_to_charge,
            "v_dc": bundle.v_dc}
    merged = {}
    for key, own in base.items():
        if own is None or extra[key] is None:
            merged[key] = None
            continue
        out = np.empty((bundle.n + n_bg,) + own.shape[1:], dtype=own.dtype)
        out[~is_bg] = own
        out[is_bg] = extra[key]
        merged[key] = out
    return bundle.replace(**merged).with_stats("background", fraction=bg.fraction, added=n_bg,
                                               mq_min=bg.mq_min, mq_max=bg.mq_max)
