"""Emulation stages: detection efficiency, projection onto the detector, multi-hit dead zone.

Efficiency: each evaporated ion is detected independently with probability ``efficiency``
(a Bernoulli draw per ion; the open area of the microchannel plates sets it).
Projection: point projection with image compression (Bas et al., Appl. Surf. Sci. 87/88 (1995)
298): an ion leaving the cap of local radius R at polar angle theta = asin(rho / R) flies at
theta / ICF and hits the detector at distance L tan(theta / ICF) from its centre (L: flight path,
mm), keeping its azimuth.
Dead zone: of two ions of the same pulse that land closer than the dead-zone radius on the
detector, the one arriving later (larger m/q, hence longer time of flight) is lost
(delay-line detector multi-hit dead zone; Peng et al., Ultramicroscopy 189 (2018) 54).
"""

from __future__ import annotations

import numpy as np

from synthapt.apt.bundle import IonBundle
from synthapt.apt.chunks import for_chunks, scratch, uniform_fill
from synthapt.apt.params import EmulationParams


def efficiency_stage(bundle: IonBundle, params: EmulationParams,
                     rng: np.random.Generator) -> IonBundle:
    """Keep each ion with probability ``efficiency.value`` (Bernoulli per ion)."""
    if not params.efficiency.enabled:
        return bundle.with_stats("efficiency", enabled=False)
    value = params.resolved().efficiency.value
    keep = np.empty(bundle.n, dtype=bool)
    threshold = np.float32(value)

    def work(s: slice, g: np.random.Generator) -> None:
        u = uniform_fill(g, scratch("uniform", s.stop - s.start, np.float32))
        np.less(u, threshold, out=keep[s])

    for_chunks(bundle.n, rng, work)
    out = bundle.take(keep)
    kept = out.n
    return out.with_stats("efficiency", value=value, evaporated=bundle.n,
                                        detected=kept)


def project_to_detector(positions: np.ndarray, bundle: IonBundle, flight_path: float,
                        image_compression: float) -> np.ndarray:
    """(n, 2) float32 detector hit positions in mm of atoms at (n, 3) ``positions`` (nm)."""
    tip = bundle.tip
    dx, dy, rho = tip.radial(positions)
    ratio = rho / tip.radius_at(positions[:, 2])
    np.minimum(ratio, np.float32(1.0), out=ratio)
    theta = np.arcsin(ratio, out=ratio)
    theta /= np.float32(image_compression)
    scale = np.tan(theta, out=theta)
    scale *= np.float32(flight_path)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(scale, rho, out=scale, where=rho > 0)
    scale[rho <= 0] = 0.0
    out = np.empty((len(positions), 2), dtype=np.float32)
    np.multiply(dx, scale, out=out[:, 0])
    np.multiply(dy, scale, out=out[:, 1])
    return out


def dead_zone_losses(pulse: np.ndarray, detector_xy: np.ndarray, arrival: np.ndarray | None,
                     radius: float) -> np.ndarray:
    """(n,) bool: ions lost in the dead zone of an earlier-arriving ion of the same pulse.

    ``pulse`` must be non-decreasing; ``arrival`` orders ions within a pulse (e.g. m/q), ties
    and ``None`` fall back to the input order. Only multi-hit groups are examined.
    """
    n = len(pulse)
    lost = np.zeros(n, dtype=bool)
    if n < 2 or radius <= 0:
        return lost
    same_as_next = pulse[1:] == pulse[:-1]
    in_group = np.zeros(n, dtype=bool)
    in_group[1:] |= same_as_next
    in_group[:-1] |= same_as_next
    members = np.flatnonzero(in_group)
    if len(members) == 0:
        return lost
    p = pulse[members]
    order = np.lexsort((members, p) if arrival is None else (members, arrival[members], p))
    members, p = members[order], p[order]
    xy = detector_xy[members].astype(np.float64)
    # largest group size bounds the offsets to compare
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    largest = int(np.diff(np.r_[starts, len(p)]).max())
    lost_sorted = np.zeros(len(members), dtype=bool)
    r2 = radius * radius
    for offset in range(1, largest):
        same = p[offset:] == p[:-offset]
        d2 = ((xy[offset:] - xy[:-offset]) ** 2).sum(axis=1)
        lost_sorted[offset:] |= same & (d2 < r2)
    lost[members[lost_sorted]] = True
    return lost


def detector_stage(bundle: IonBundle, params: EmulationParams,
                   rng: np.random.Generator) -> IonBundle:
    """Detector hit positions (mm; kept if the hits stage made them), field of view, and removal
    of same-pulse ions inside the dead zone."""
    if not params.detector.enabled:
        return bundle.with_stats("detector", enabled=False)
    det = params.resolved().detector
    if bundle.detector_xy is not None:  # hits from the tip state (synthapt.apt.hits)
        xy = bundle.detector_xy
    else:
        true_pos = np.take(bundle.source_positions(), bundle.atom, axis=0)  # float32, nm
        xy = project_to_detector(true_pos, bundle, det.flight_path, det.image_compression)
    out = bundle.replace(detector_xy=xy)
    outside = 0
    if det.radius is not None:
        seen = np.flatnonzero(np.hypot(xy[:, 0], xy[:, 1]) <= det.radius)
        outside = bundle.n - len(seen)
        out = out.take(seen)
        xy = out.detector_xy
    pulse = out.pulse if out.pulse is not None else np.arange(out.n, dtype=np.int64)
    multi = int(np.count_nonzero(pulse[1:] == pulse[:-1]))
    lost = dead_zone_losses(pulse, xy, out.mass_to_charge, det.dead_zone_radius)
    n_lost = int(np.count_nonzero(lost))
    if n_lost:
        out = out.take(~lost)
    return out.with_stats("detector", flight_path_mm=det.flight_path,
                          image_compression=det.image_compression,
                          dead_zone_radius_mm=det.dead_zone_radius, detector_radius_mm=det.radius,
                          lost_outside_detector=outside,
                          same_pulse_followers=multi, lost_in_dead_zone=n_lost)
