"""What no segmentation can beat: the true geometry at each ion's observed position ("oracle"),
and the Bayes rule of the emulation's own resolution model ("bayes").

``oracle_labels``: precipitate (1) where the true geometry's signed distance at the OBSERVED
(reconstructed) position is > 0, else matrix (0).

``bayes_posterior``: the probability that an ion observed at x came from the precipitate, given
the true geometry and the resolution model the emulation applied. Atoms fill the analysed
specimen S with uniform density and every atom is detected with the same efficiency, so an ion
observed at x came from y with density ~ 1_S(y) G(x - y), and

    P(precipitate | x) = (G * (1_P 1_S))(x) / (G * 1_S)(x),

G the anisotropic Gaussian of the resolution stage (``lateral_sigma`` along x and y, across the
tip axis; ``depth_sigma`` along z, the tip axis; the same for every ion, as
``synthapt.apt.aberrations.resolution_stage`` applies it). S is the needle (cap + cone of the
dataset's ``metadata["tip"]``) within the specimen box. The convolution is a fixed quasi-random
rule: ``NODES`` points of a scrambled Sobol sequence (fixed seed ``NODES_SEED``) mapped to
standard normals, with their mirror images (antithetic pairs, exact for a flat interface up to
the rule's 1/NODES resolution). Deterministic; no random numbers are drawn. Only ions within
``BAND_SIGMAS`` Gaussian widths of the interface are integrated, all others get 0 or 1 (the
neglected tail is below 3e-7).

Not modelled (the posterior is then only approximately the Bayes rule): the local-magnification
displacement (``magnification.field_ratio`` != 1; ``unmodelled`` names it), the detector's field
of view (``detector.radius``), dead-zone losses and the other composition-dependent losses,
background ions (they are scored by position like every other ion), and atom-density differences
between the phases. Background ions get the posterior of their position like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm, qmc

from synthapt.apt.aberrations import interface_band
from synthapt.apt.bundle import TipModel
from synthapt.data import APTDataset
from synthapt.errors import SynthaptError

NODES = 128
"""Sobol points per half of the antithetic rule (256 displacements per integrated ion)."""
NODES_SEED = 20240607
"""Fixed scrambling seed of the Sobol points (part of the rule, not a random draw)."""
BAND_SIGMAS = 5.0
"""Ions farther than this many Gaussian widths (the larger sigma) from the interface are not
integrated: their posterior is 0 or 1 up to 3e-7."""
CHUNK_IONS = 2048
"""Ions integrated per vectorised block (CHUNK_IONS x 2 NODES points)."""


@dataclass(frozen=True)
class ResolutionModel:
    """What the ceilings know about an emulated dataset.

    geometry: the true interface (signed distance in nm, positive inside the precipitate).
    box: (3,) specimen box, nm. tip: the specimen shape (``TipModel``) or None (whole box).
    lateral_sigma / depth_sigma: Gaussian widths across / along the tip axis (z), nm.
    unmodelled: emulation effects the posterior leaves out (empty: none that move ions).
    """

    geometry: Any
    box: np.ndarray
    tip: TipModel | None
    lateral_sigma: float
    depth_sigma: float
    unmodelled: tuple[str, ...] = ()

    @property
    def sigmas(self) -> np.ndarray:
        """(3,) Gaussian widths along x, y, z, nm."""
        return np.array([self.lateral_sigma, self.lateral_sigma, self.depth_sigma])

    def in_specimen(self, points: np.ndarray) -> np.ndarray:
        """(K,) bool: (K, 3) points (nm) inside the analysed specimen (needle within the box)."""
        inside = np.all((points >= 0.0) & (points < self.box), axis=1)
        if self.tip is not None:
            inside &= self.tip.contains(points)
        return inside

    def specimen_clearance(self, points: np.ndarray) -> np.ndarray:
        """(K,) nm, a lower bound of each point's distance to the specimen surface (0 outside):
        box faces, the needle's cone (``(R(z) - rho) cos(alpha)``) and its cap sphere."""
        clearance = np.minimum(points, self.box - points).min(axis=1)
        if self.tip is not None:
            tip = self.tip
            _, _, rho = tip.radial(points)
            cone = (tip.radius_at(points[:, 2]) - rho) * np.cos(tip.shank_angle)
            centre = np.array([tip.axis_xy[0], tip.axis_xy[1], tip.apex_z - tip.apex_radius])
            cap = np.abs(tip.apex_radius - np.linalg.norm(points - centre, axis=1))
            clearance = np.minimum(clearance, np.minimum(cone, cap))
        return np.where(self.in_specimen(points), np.maximum(clearance, 0.0), 0.0)


def resolution_model(dataset: APTDataset) -> ResolutionModel:
    """The ``ResolutionModel`` of an emulated dataset, from its truth and metadata.

    Raises SynthaptError (one line) for data without ground truth (real measurements) or
    without the emulation parameters."""
    truth = dataset.truth
    if truth is None or truth.geometry is None:
        raise SynthaptError("ceilings: the dataset has no ground-truth geometry (real data?); "
                            "the oracle and Bayes ceilings need a synthetic dataset")
    emulation = dataset.metadata.get("emulation")
    if not isinstance(emulation, dict) or "resolution" not in emulation:
        raise SynthaptError("ceilings: the dataset metadata has no emulation parameters "
                            "(metadata['emulation']['resolution']); re-emulate it with synthapt")
    box = truth.box if truth.box is not None else np.nanmax(truth.position, axis=0)
    res = emulation["resolution"]
    enabled = bool(res.get("enabled", True))
    lateral = float(res.get("lateral_sigma") or 0.0) if enabled else 0.0
    depth = float(res.get("depth_sigma") or 0.0) if enabled else 0.0
    shape = emulation.get("shape", {})
    tip_dict = dataset.metadata.get("tip")
    tip = TipModel.from_dict(tip_dict) if isinstance(tip_dict, dict) else None
    if tip is not None and (tip.kind == "box" or not shape.get("enabled", True)):
        tip = None
    unmodelled = []
    mag = emulation.get("magnification", {})
    if mag.get("enabled", True) and float(mag.get("field_ratio", 1.0)) != 1.0:
        unmodelled.append(f"magnification.field_ratio {mag['field_ratio']}")
    if emulation.get("detector", {}).get("radius") is not None:
        unmodelled.append("detector.radius (field of view)")
    return ResolutionModel(truth.geometry, np.asarray(box, dtype=np.float64), tip, lateral,
                           depth, tuple(unmodelled))


def oracle_labels(dataset: APTDataset) -> np.ndarray:
    """(M,) int8: 1 where the true geometry holds the ion's OBSERVED position, else 0 (needs only
    the true geometry, not the resolution model)."""
    if dataset.truth is None or dataset.truth.geometry is None:
        raise SynthaptError("ceilings: the dataset has no ground-truth geometry (real data?); "
                            "the oracle and Bayes ceilings need a synthetic dataset")
    geometry = dataset.truth.geometry
    out = np.empty(dataset.n_ions, dtype=np.int8)
    step = 1 << 18
    for start in range(0, dataset.n_ions, step):
        block = dataset.positions[start:start + step].astype(np.float64)
        out[start:start + step] = geometry.contains(block)
    return out


def gaussian_nodes(count: int = NODES) -> np.ndarray:
    """(2 count, 3) standard-normal displacements: scrambled Sobol points (fixed seed) through
    the normal quantile, and their mirror images."""
    points = qmc.Sobol(d=3, scramble=True, seed=NODES_SEED).random(count)
    half = norm.ppf(points)
    return np.concatenate([half, -half])


def bayes_posterior(dataset: APTDataset, model: ResolutionModel | None = None) -> np.ndarray:
    """(M,) float64 posterior probability that each ion came from the precipitate (see the
    module docstring), in [0, 1]; ``model`` defaults to ``resolution_model(dataset)``.

    Work is saved without changing the result: a displacement shorter than an ion's distance
    to the interface (or to the specimen surface) cannot change which side the source lies on
    (signed distances change by at most the distance moved), so only the longer displacements
    are evaluated; the others count as the ion's own side (and inside the specimen)."""
    model = model or resolution_model(dataset)
    positions = dataset.positions
    posterior = oracle_labels(dataset).astype(np.float64)
    sigma = model.sigmas
    if not sigma.max() > 0:
        return posterior
    band, distance = interface_band(model.geometry, positions, BAND_SIGMAS * float(sigma.max()))
    displacements = gaussian_nodes() * sigma  # (Q, 3) nm
    lengths = np.sqrt((displacements ** 2).sum(axis=1))
    order = np.argsort(-lengths, kind="stable")
    displacements, lengths = displacements[order], lengths[order]
    q = len(displacements)
    x_band = positions[band].astype(np.float64)

    def longer_than(length: np.ndarray) -> np.ndarray:  # displacements longer than ``length``
        return np.searchsorted(-lengths, -length, side="left")

    need_p = longer_than(np.abs(distance))
    need_s = longer_than(model.specimen_clearance(x_band))
    by_need = np.argsort(need_p, kind="stable")
    for start in range(0, len(band), CHUNK_IONS):
        rows = by_need[start:start + CHUNK_IONS]
        x = x_band[rows]
        own_side = np.broadcast_to((distance[rows] > 0)[:, None], (len(rows), q))
        in_precipitate = own_side.copy()
        in_specimen = np.ones((len(rows), q), dtype=bool)
        k_p, k_s = int(need_p[rows].max()), int(need_s[rows].max())
        if k_p:
            sources = (x[:, None, :] - displacements[None, :k_p, :]).reshape(-1, 3)
            in_precipitate[:, :k_p] = model.geometry.contains(sources).reshape(-1, k_p)
        if k_s:
            near_surface = np.flatnonzero(need_s[rows] > 0)
            sources = (x[near_surface][:, None, :] - displacements[None, :k_s, :]).reshape(-1, 3)
            in_specimen[near_surface, :k_s] = model.in_specimen(sources).reshape(-1, k_s)
        total = in_specimen.sum(axis=1)
        inside = (in_precipitate & in_specimen).sum(axis=1)
        posterior[band[rows]] = np.where(total > 0, inside / np.maximum(total, 1),
                                         posterior[band[rows]])
    return posterior


def bayes_labels(dataset: APTDataset, model: ResolutionModel | None = None) -> np.ndarray:
    """(M,) int8: 1 where ``bayes_posterior`` > 0.5 (the Bayes-optimal labels), else 0."""
    return (bayes_posterior(dataset, model) > 0.5).astype(np.int8)
