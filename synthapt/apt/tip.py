"""Emulation stages: specimen shape (needle crop) and field-evaporation order with pulses.

The needle is the usual APT specimen model: a hemispherical cap of radius R0 on a truncated cone
of shank half-angle alpha (B. Gault et al., "Atom Probe Microscopy", Springer 2012, ch. 3 and 7;
the same shape the Bas et al. reconstruction protocol assumes, Appl. Surf. Sci. 87/88 (1995) 298).
Atoms leave from the apex downwards: the surface is a sphere cap of the local radius R(z) whose
apex descends; an atom at height z and distance rho from the axis is reached when the apex stands
at s = z + R - sqrt(R^2 - rho^2), so atoms are evaporated in order of decreasing s.
Pulses: evaporation is a Poisson process of rate mu = detection_rate / efficiency ions per pulse,
so each ion's pulse is floor of a running sum of exponential gaps of mean 1/mu.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from synthapt.apt.bundle import IonBundle, TipModel
from synthapt.apt.params import EmulationParams
from synthapt.apt.spectrum import bernoulli_indices
from synthapt.errors import ConfigError


def tip_model(bundle: IonBundle, params: EmulationParams) -> TipModel:
    """The TipModel of the specimen for the shape parameters (box mode if shape is off)."""
    spec = bundle.specimen
    box = spec.box
    axis = (float(box[0] / 2), float(box[1] / 2))
    top = float(spec.positions[:, 2].max()) if spec.n_atoms else float(box[2])
    shape = params.shape
    if not shape.enabled or shape.kind == "box":
        radius = float(np.hypot(box[0], box[1]) / 2)
        return TipModel("box", axis, top, radius, 0.0)
    radius = shape.apex_radius if shape.apex_radius is not None else float(min(box[0], box[1]) / 2)
    return TipModel("needle", axis, top, radius, float(np.radians(shape.shank_angle)))


def shape_stage(bundle: IonBundle, params: EmulationParams, rng: np.random.Generator) -> IonBundle:
    """Keep the atoms inside the needle (cap + cone along z); ``box`` keeps every atom.

    Raises ConfigError if the apex does not fit in the specimen's cross-section or height.
    """
    tip = tip_model(bundle, params)
    if tip.kind == "box":
        return bundle.replace(tip=tip).with_stats("shape", kind="box", kept=bundle.n)
    box = bundle.specimen.box
    if 2 * tip.apex_radius > min(box[0], box[1]) * (1 + 1e-9) or tip.apex_radius > box[2]:
        raise ConfigError(
            f"shape.apex_radius: a {tip.apex_radius:g} nm tip does not fit the specimen "
            f"({box[0]:g} x {box[1]:g} x {box[2]:g} nm box); use a smaller radius or kind = \"box\"")
    keep = tip.contains(bundle.true_positions_of_atoms())
    base_radius = float(tip.radius_at(np.array([0.0]))[0])
    clipped = base_radius > min(box[0], box[1]) / 2
    return bundle.take(keep).replace(tip=tip).with_stats(
        "shape", kind="needle", kept=int(keep.sum()), removed=int(bundle.n - keep.sum()),
        base_radius_nm=base_radius, shank_clipped_by_box=bool(clipped))


def evaporation_key(positions: np.ndarray, tip: TipModel) -> np.ndarray:
    """(n,) apex height s (nm) at which the descending tip surface reaches each atom at (n, 3)
    ``positions`` (float32 in the evaporation stage: order resolved to about 1e-5 nm)."""
    _, _, rho = tip.radial(positions)
    radius = tip.radius_at(positions[:, 2])
    rho = np.minimum(rho, radius)
    return positions[:, 2] + radius - np.sqrt(radius * radius - rho * rho)


def apex_travel(positions: np.ndarray, tip: TipModel) -> np.ndarray:
    """(n,) float64 apex travel u (nm, >= 0) at which atoms at (n, 3) ``positions`` leave the tip whose
    state is a sphere of radius R(u) = R0 + g u (``TipModel.shank_growth``) with its top at
    apex_z - u: the larger root of (z - c)^2 + rho^2 = R(u)^2, c = apex_z - u - R(u), i.e. the
    moment the descending upper surface reaches the atom (the atom is then at polar angle
    atan2(rho, z - c) on the sphere). Atoms wider than the sphere ever gets are taken at its
    widest point. Used for the evaporation order of the hits chain."""
    positions = np.asarray(positions, dtype=np.float64)  # the same arithmetic as the hits kernel
    _, _, rho = tip.radial(positions)
    g, r0 = tip.shank_growth, tip.apex_radius
    b = positions[:, 2] - tip.apex_z + r0
    quad_a = 1.0 + 2.0 * g
    quad_b = (1.0 + g) * b - g * r0
    quad_c = (b - r0) * (b + r0) + rho * rho
    root = np.sqrt(np.maximum(quad_b * quad_b - quad_a * quad_c, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):  # stable form of the larger root
        travel = np.where(quad_b > 0, -quad_c / (quad_b + root), (root - quad_b) / quad_a)
    return np.maximum(travel, 0.0)


def descending_order(key: np.ndarray) -> np.ndarray:
    """(n,) int64 indices sorting ``key`` (n,) from largest to smallest, ties by index.

    Packs the quantised key and the index into one int64 and sorts that (numpy's vectorised
    integer sort is several times faster than argsort); the key is quantised to 2^(63 - b)
    levels over its range, b = bits of the largest index (1e-10 nm steps for 10 M atoms).
    """
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    key = np.asarray(key, dtype=np.float64)
    index_bits = max(int(n - 1).bit_length(), 1)
    levels = float(2 ** (63 - index_bits) - 1)
    top, span = float(key.max()), float(key.max() - key.min())
    scaled = (top - key) * (levels / span) if span > 0 else np.zeros(n)
    packed = scaled.astype(np.int64) << index_bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    return packed & ((1 << index_bits) - 1)


def co_evaporation_partners(positions: np.ndarray, chosen: np.ndarray, distance: float,
                            neighbours: int = 12) -> np.ndarray:
    """(n,) int64 partner of each ion for co-evaporation: for the ``chosen`` ions (indices into
    ``positions`` (n, 3) nm, which are in evaporation order), the nearest ion within ``distance``
    nm that evaporates earlier; every other ion is its own partner. Chains are followed to their
    first ion, so a whole cluster leaves on one pulse."""
    n = len(positions)
    partner = np.arange(n, dtype=np.int64)
    if len(chosen) == 0:
        return partner
    tree = cKDTree(positions)
    dist, idx = tree.query(positions[chosen], k=min(neighbours + 1, n), distance_upper_bound=distance)
    earlier = (idx < chosen[:, None]) & np.isfinite(dist)  # idx == n marks "no neighbour"
    has = earlier.any(axis=1)
    first = np.argmax(earlier, axis=1)  # neighbours come sorted by distance: nearest earlier one
    partner[chosen[has]] = idx[has, first[has]]
    while True:  # pointer jumping: every ion points to the first ion of its chain
        jumped = partner[partner]
        if np.array_equal(jumped, partner):
            return partner
        partner = jumped


def evaporation_stage(bundle: IonBundle, params: EmulationParams,
                      rng: np.random.Generator) -> IonBundle:
    """Sort the ions into evaporation order and give each a pulse number (Poisson multiplicity).

    With ``correlated_fraction`` > 0 that fraction of the ions leaves on the pulse of its nearest
    earlier-evaporating neighbour within ``correlation_distance`` (correlated multiple events,
    co-evaporation of neighbouring atoms), and the ions are re-sorted by pulse.
    Switched off: ions keep the specimen order, one ion per pulse.
    """
    evap = params.evaporation
    if not evap.enabled:
        return bundle.replace(pulse=np.arange(bundle.n, dtype=np.int64)).with_stats(
            "evaporation", enabled=False)
    tip = bundle.tip or tip_model(bundle, params)
    positions = np.take(bundle.source_positions(), bundle.atom, axis=0)  # float32
    key = -apex_travel(positions, tip) if params.hits.enabled else evaporation_key(positions, tip)
    order = descending_order(key)
    resolved = params.resolved()
    efficiency = resolved.efficiency.value if resolved.efficiency.enabled else 1.0
    rate = evap.detection_rate / efficiency  # evaporated ions per pulse
    gaps = rng.exponential(1.0 / rate, size=bundle.n)
    pulse = np.floor(np.cumsum(gaps)).astype(np.int64)
    out = bundle.take(order)
    joined = 0
    if evap.correlated_fraction > 0:
        chosen = bernoulli_indices(rng, out.n, evap.correlated_fraction)
        partner = co_evaporation_partners(out.true_positions_of_atoms(), chosen,
                                          evap.correlation_distance)
        joined = int(np.count_nonzero(partner != np.arange(out.n)))
        pulse = pulse[partner]
        resort = np.argsort(pulse, kind="stable")
        out, pulse = out.take(resort), pulse[resort]
    return out.replace(pulse=pulse).with_stats(
        "evaporation", evaporated_per_pulse=rate, co_evaporated=joined,
        pulses=int(pulse[-1] + 1) if len(pulse) else 0)
