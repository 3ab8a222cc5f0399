"""Point-projection reconstruction from detector hits, voltage and sequence, and its stage.

The standard protocol (P. Bas, A. Bostel, B. Deconihout, D. Blavette, Appl. Surf. Sci. 87/88
(1995) 298; B. Gault et al., "Atom Probe Microscopy", Springer 2012, ch. 7), ion by ion in
evaporation order:

* flight angle theta' = atan(D / L) of a hit at distance D (mm) from the detector centre over
  the flight path L (mm); polar angle on the tip theta = ICF theta' (image compression factor);
* tip radius R = V / (k F) from the DC voltage V (V), field factor k and evaporation field F
  (V/nm) (``radius_mode = "voltage"``), or R = R0 + g d along the shank (``"shank"``: initial
  radius R0, g = sin a / (1 - sin a) for the shank half-angle a, d the depth reached);
* the ion sits on the sphere: x = R sin(theta) cos(phi), y = R sin(theta) sin(phi),
  z = z_apex - R (1 - cos(theta)), phi the azimuth of the hit;
* the apex moves down by dz = Omega / (eta A) per ion (atomic volume Omega nm^3, detection
  efficiency eta), A = pi R^2 [(1 + g) sin^2(theta_m) - 2 g (1 - cos(theta_m))] the volume the
  tip sphere sweeps per nm of apex travel inside the field of view theta_m = ICF atan(R_D / L)
  (detector radius R_D). For g = 0 and small angles this is Bas's A = S_D / M^2 (detector area
  over the squared magnification); the exact cap form follows the wide-angle treatment of
  D.J. Larson et al. / J.H. Geiser et al., Microsc. Microanal. 15 (2009) 292, and inverts the
  tip model of ``synthapt.apt.hits`` exactly.

In the shank mode the depth has a closed form: integrating dd/di = c / (R0 + g d)^2 gives
d(i) = ((R0^3 + 3 g c i)^(1/3) - R0) / g. The frame: the apex starts at ``origin`` (nm) and the
reconstruction goes down -z (the specimen frame of the emulator).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from synthapt.apt.bundle import IonBundle
from synthapt.apt.kernels import compiled
from synthapt.apt.params import EmulationParams, ReconstructionParams
from synthapt.config import to_dict
from synthapt.errors import ConfigError, SynthaptError

NEEDED = ("image_compression", "field_factor", "evaporation_field", "flight_path", "efficiency",
          "atomic_volume")


def depth_per_ion_factor(params: ReconstructionParams, detector_radius: float) -> float:
    """c (nm^3) in dz = c / R^2: Omega / (eta pi [(1 + g) sin^2 theta_m - 2 g (1 - cos theta_m)])."""
    theta_m = params.image_compression * math.atan(detector_radius / params.flight_path)
    shank = math.radians(params.shank_angle or 0.0)
    g = math.sin(shank) / (1.0 - math.sin(shank))
    area = math.pi * ((1.0 + g) * math.sin(theta_m) ** 2 - 2.0 * g * (1.0 - math.cos(theta_m)))
    if not (area > 0 and theta_m < math.pi / 2 - shank):  # beyond the cap, on the shank
        raise ConfigError(
            f"reconstruction.image_compression: a field of view of {math.degrees(theta_m):.0f} degrees "
            "on the tip (ICF x atan(detector radius / flight path)) is too wide; check ICF, "
            "flight path and detector radius")
    return params.atomic_volume / (params.efficiency * area)


def reconstruct(detector_xy: np.ndarray, v_dc: np.ndarray | None, params: ReconstructionParams,
                origin: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """(n, 3) float32 positions (nm) of ions with detector hits ``detector_xy`` (n, 2) mm and DC
    voltages ``v_dc`` (n,) V (only used in the voltage mode), in evaporation order.

    ``params`` must have every value set except ``detector_radius`` (None: the farthest hit)
    and, in the voltage mode, ``initial_radius``; ``shank_angle`` None means 0. The input arrays
    are not modified. Raises ConfigError for missing values and SynthaptError for voltages that
    are not positive.
    """
    mode = params.radius_mode
    needed = NEEDED + (("initial_radius",) if mode == "shank" else ())
    for name in needed:
        if getattr(params, name) is None:
            raise ConfigError(f"reconstruction.{name}: needed by the reconstruction, not set")
    xy = np.ascontiguousarray(detector_xy, dtype=np.float32)
    n = len(xy)
    out = np.empty((n, 3), np.float32)
    if n == 0:
        return out
    detector_radius = params.detector_radius or float(np.sqrt(np.einsum("ij,ij->i", xy, xy).max()))
    if not detector_radius > 0:
        raise SynthaptError("reconstruction: every detector hit is at the centre (det_x = det_y = 0)")
    c = depth_per_ion_factor(params, detector_radius)
    sin_a = math.sin(math.radians(params.shank_angle or 0.0))
    g = sin_a / (1.0 - sin_a)
    to_radius = 1.0 / (params.field_factor * params.evaporation_field)
    depth = np.zeros(1)
    volts = np.zeros(1, np.float32)
    kernels = compiled()
    if mode == "voltage":
        volts = np.ascontiguousarray(v_dc, dtype=np.float32)
        if len(volts) != n:
            raise SynthaptError(f"reconstruction: {len(volts)} voltages for {n} hits")
        if not (np.isfinite(volts).all() and volts.min() > 0):
            raise SynthaptError("reconstruction: DC voltages must be positive and finite (V)")
        depth = np.empty(n)
        kernels.voltage_depths(volts, to_radius, c, depth)
    kernels.place_ions(xy, volts, depth, mode == "voltage", to_radius,
                       float(params.initial_radius or 0.0), g, c, float(params.image_compression),
                       float(params.flight_path), np.asarray(origin, dtype=np.float64), out)
    return out


def resolved_reconstruction(bundle: IonBundle, params: EmulationParams) -> ReconstructionParams:
    """The reconstruction parameters with every ``None`` replaced by the value that made the
    hits (see ``ReconstructionParams``)."""
    rec, full = params.reconstruction, params.resolved()
    spec, tip = bundle.specimen, bundle.tip
    efficiency = full.efficiency.value if full.efficiency.enabled else 1.0
    defaults = {
        "image_compression": full.detector.image_compression,
        "flight_path": full.detector.flight_path,
        "field_factor": params.hits.field_factor,
        "evaporation_field": params.hits.evaporation_field,
        "detector_radius": full.detector.radius,
        "efficiency": efficiency,
        "atomic_volume": float(np.prod(spec.box)) / max(spec.n_atoms, 1),
        "initial_radius": tip.apex_radius if tip is not None else None,
        "shank_angle": float(np.degrees(tip.shank_angle)) if tip is not None else 0.0,
    }
    return replace(rec, **{k: v for k, v in defaults.items() if getattr(rec, k) is None})


def reconstruction_stage(bundle: IonBundle, params: EmulationParams,
                         rng: np.random.Generator) -> IonBundle:
    """Replace the positions by the reconstruction of the hits (only with the hits chain on)."""
    if not params.hits.enabled or not params.reconstruction.enabled:
        return bundle.with_stats("reconstruction", enabled=False)
    rec = resolved_reconstruction(bundle, params)
    tip = bundle.tip
    origin = (tip.axis_xy[0], tip.axis_xy[1], tip.apex_z)
    positions = reconstruct(bundle.detector_xy, bundle.v_dc, rec, origin)
    return bundle.replace(position=positions).with_stats(
        "reconstruction", **to_dict(rec), origin_nm=list(origin),
        reconstructed_depth_nm=float(origin[2] - positions[:, 2].min()) if len(positions) else 0.0)
