"""Isolated precipitates: spheres and axis-aligned ellipsoids in a periodic box.

``Particles`` stores every particle explicitly (centres and semi-axes, nm), so its dict form
reproduces the exact interface. ``place_particles`` draws sizes from a lognormal distribution and
places particles by random sequential addition with a minimum surface gap, respecting periodic
images (minimum image convention; neighbour search with ``cKDTree(boxsize=box)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree

from synthapt.errors import ConfigError
from synthapt.structures.geometry import Geometry, as_points, minimum_image, register_geometry

RSA_LIMIT = 0.38
"""Random sequential addition of equal spheres jams near a volume fraction of 0.38; fractions of
the gap-inflated spheres above this are refused as impossible (Feder, J. Theor. Biol. 87, 1980)."""


def ellipsoid_distance(y: np.ndarray, axes: np.ndarray, iterations: int = 100) -> np.ndarray:
    """Signed distance (positive inside) of points ``y`` (K, 3) from an origin-centred ellipsoid.

    axes: (3,) semi-axes along x, y, z (nm). Exact up to bisection precision: the closest point is
    found by bisection on the Lagrange parameter (Eberly, "Distance from a point to an ellipse, an
    ellipsoid, or a hyperellipsoid", 2013), valid inside and outside.
    """
    axes = np.asarray(axes, dtype=np.float64)
    order = np.argsort(axes)[::-1]  # e0 >= e1 >= e2
    e = axes[order]
    z = np.abs(y[:, order])
    z = np.maximum(z, 1e-12 * e[2])  # points on a symmetry plane: tiny offset keeps F monotone
    inside = ((z / e) ** 2).sum(axis=1) < 1.0
    ez = e * z
    shift = e ** 2 - e[2] ** 2  # bisect on s = t + e2^2 so the smallest axis keeps full precision
    lo = ez[:, 2]
    hi = np.linalg.norm(ez, axis=1)
    for _ in range(iterations):
        s = 0.5 * (lo + hi)
        f = ((ez / (s[:, None] + shift)) ** 2).sum(axis=1) - 1.0
        positive = f > 0
        lo = np.where(positive, s, lo)
        hi = np.where(positive, hi, s)
    s = 0.5 * (lo + hi)
    closest = e ** 2 * z / (s[:, None] + shift)
    dist = np.linalg.norm(closest - z, axis=1)
    return np.where(inside, dist, -dist)


@register_geometry
@dataclass(frozen=True)
class Particles(Geometry):
    """Explicit isolated precipitates in a periodic orthorhombic box.

    centers: (K, 3) particle centres, nm.
    semi_axes: (K, 3) semi-axes along x, y, z, nm (equal for spheres).
    box: (3,) periodic box edge lengths, nm, or None for an infinite, non-periodic space.
    """

    kind = "particles"
    centers: tuple[tuple[float, float, float], ...] = ()
    semi_axes: tuple[tuple[float, float, float], ...] = ()
    box: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        c = np.asarray(self.centers, dtype=np.float64).reshape(-1, 3)
        a = np.asarray(self.semi_axes, dtype=np.float64).reshape(-1, 3)
        if len(c) == 0:
            raise ConfigError("geometry.centers: need at least one particle")
        if len(c) != len(a):
            raise ConfigError(f"geometry.semi_axes: {len(a)} rows for {len(c)} centres")
        if not (np.isfinite(c).all() and np.isfinite(a).all() and (a > 0).all()):
            raise ConfigError("geometry.semi_axes: must be finite and > 0 nm")
        object.__setattr__(self, "centers", tuple(tuple(float(v) for v in row) for row in c))
        object.__setattr__(self, "semi_axes", tuple(tuple(float(v) for v in row) for row in a))
        if self.box is not None:
            box = tuple(float(v) for v in self.box)
            if len(box) != 3 or min(box) <= 0:
                raise ConfigError(f"geometry.box: need three positive lengths, got {self.box}")
            object.__setattr__(self, "box", box)

    @property
    def center_array(self) -> np.ndarray:
        """(K, 3) centres, nm."""
        return np.asarray(self.centers, dtype=np.float64)

    @property
    def axes_array(self) -> np.ndarray:
        """(K, 3) semi-axes, nm."""
        return np.asarray(self.semi_axes, dtype=np.float64)

    def _one(self, points: np.ndarray, k: int) -> np.ndarray:
        delta = minimum_image(points - self.center_array[k], self.box)
        axes = self.axes_array[k]
        if np.all(axes == axes[0]):
            return axes[0] - np.linalg.norm(delta, axis=1)
        return ellipsoid_distance(delta, axes)

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """(K, 3) nm -> (K,) nm: exact distance to the nearest particle surface, positive inside.

        Exact because the particles are disjoint convex bodies (max of their signed distances).
        Only particles that can matter are evaluated: the ``k`` nearest centres, then all centres
        within the bound ``max semi-axis - best distance`` for the few points that need them.
        """
        pts = as_points(points)
        n_particles = len(self.centers)
        if self.box is not None:
            pts = np.mod(pts, self.box)
        if n_particles <= 8:
            return np.max([self._one(pts, k) for k in range(n_particles)], axis=0)
        box = None if self.box is None else np.asarray(self.box)
        tree = cKDTree(np.mod(self.center_array, box) if box is not None else self.center_array,
                       boxsize=box)
        k_near = min(n_particles, 8)
        dist, idx = tree.query(pts, k=k_near)
        best = np.full(len(pts), -np.inf)
        for k in np.unique(idx):
            sel = np.nonzero((idx == k).any(axis=1))[0]
            best[sel] = np.maximum(best[sel], self._one(pts[sel], k))
        a_max = self.axes_array.max()
        unsure = np.nonzero(dist[:, -1] <= a_max - best)[0] if k_near < n_particles else []
        for i in unsure:  # rare: a big particle further away than the k nearest centres
            candidates = tree.query_ball_point(pts[i], a_max - best[i] + 1e-9)
            for k in candidates:
                best[i] = max(best[i], self._one(pts[i:i + 1], k)[0])
        return best

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(K,) bool: points inside any particle (the sign of ``signed_distance``, without the
        distance: one quadratic form per particle)."""
        pts = as_points(points)
        inside = np.zeros(len(pts), dtype=bool)
        box = None if self.box is None else np.asarray(self.box)
        x = pts[:, 0]
        for centre, axes in zip(self.center_array, self.axes_array):
            dx = x - centre[0]  # cheap pre-screen on x alone, then the few candidates in full
            if box is not None:
                dx -= box[0] * np.round(dx / box[0])
            near = np.flatnonzero(np.abs(dx) < axes[0])
            delta = minimum_image(pts[near] - centre, box) / axes
            inside[near] |= np.einsum("ij,ij->i", delta, delta) < 1.0
        return inside

    def signed_estimate(self, points: np.ndarray) -> np.ndarray:
        """(K,) nm: the exact distance for spheres (cheap); for ellipsoids the largest first-order
        distance ``(1 - r) r / |x / a^2|`` over the particles (``r = |x / a|``, x from the centre),
        exact on the surface and positive exactly inside, like ``contains``."""
        axes = self.axes_array
        if np.all(axes == axes[:, :1]):
            return self.signed_distance(points)
        pts = as_points(points)
        box = None if self.box is None else np.asarray(self.box)
        best = np.full(len(pts), -np.inf)
        for centre, semi in zip(self.center_array, axes):
            delta = minimum_image(pts - centre, box)
            r = np.linalg.norm(delta / semi, axis=1)
            grad = np.linalg.norm(delta / semi**2, axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                estimate = np.where(grad > 0, (1.0 - r) * r / grad, semi.min())
            best = np.maximum(best, estimate)
        return best

    def scaled(self, factor: float) -> Particles:
        return Particles(tuple(tuple(v * factor for v in c) for c in self.centers),
                         tuple(tuple(v * factor for v in a) for a in self.semi_axes),
                         None if self.box is None else tuple(v * factor for v in self.box))

    @property
    def volume(self) -> float:
        """Total particle volume, nm^3."""
        return float((4.0 / 3.0) * np.pi * np.prod(self.axes_array, axis=1).sum())


@dataclass(frozen=True)
class IsolatedSpec:
    """How to place isolated precipitates (the ``kind = "isolated"`` geometry table).

    shape: "sphere" or "ellipsoid" (axis-aligned; semi-axes = radius * aspect).
    radius: median radius of the lognormal size distribution, nm.
    radius_sigma: lognormal shape parameter (0 = all equal).
    aspect: (3,) semi-axis factors for ellipsoids (ignored for spheres).
    volume_fraction: target fraction of the box inside precipitates (used if count is 0).
    count: exact number of particles (overrides volume_fraction when > 0).
    min_gap: smallest surface-to-surface gap between particles (bounding spheres), nm.
    max_attempts: random trials per particle before giving up.
    """

    shape: Literal["sphere", "ellipsoid"] = "sphere"
    radius: float = 1.5
    radius_sigma: float = 0.0
    aspect: tuple[float, float, float] = (1.0, 1.0, 1.0)
    volume_fraction: float = 0.1
    count: int = 0
    min_gap: float = 0.5
    max_attempts: int = 20000

    def __post_init__(self) -> None:
        if not self.radius > 0:
            raise ConfigError(f"geometry.radius: must be > 0 nm, got {self.radius}")
        if not 0 <= self.radius_sigma < 1.5:
            raise ConfigError(f"geometry.radius_sigma: must be in [0, 1.5), got {self.radius_sigma}")
        if min(self.aspect) <= 0:
            raise ConfigError(f"geometry.aspect: must be > 0, got {self.aspect}")
        if self.min_gap < 0:
            raise ConfigError(f"geometry.min_gap: must be >= 0 nm, got {self.min_gap}")
        if self.count < 0:
            raise ConfigError(f"geometry.count: must be >= 0, got {self.count}")
        if self.count == 0 and not 0 < self.volume_fraction < 1:
            raise ConfigError(
                f"geometry.volume_fraction: must be in (0, 1), got {self.volume_fraction}")

    def semi_axis_factors(self) -> np.ndarray:
        return np.ones(3) if self.shape == "sphere" else np.asarray(self.aspect, dtype=np.float64)

    def check_feasible(self, box: np.ndarray) -> None:
        """Refuse impossible requests before any work (ConfigError naming the parameter)."""
        factors = self.semi_axis_factors()
        bound = self.radius * np.exp(2 * self.radius_sigma) * factors.max()
        if 2 * bound + self.min_gap > box.min():
            raise ConfigError(f"geometry.radius: particles of bounding radius {bound:.3g} nm "
                              f"plus min_gap do not fit in the box {tuple(float(b) for b in box)} nm")
        if self.count > 0:  # at least half of them (all if equal) are median-sized or larger
            sure = self.count if self.radius_sigma == 0 else (self.count + 1) // 2
            median_bound = self.radius * factors.max() + 0.5 * self.min_gap
            room = RSA_LIMIT * float(np.prod(box)) / ((4.0 / 3.0) * np.pi * median_bound ** 3)
            if sure > room:
                raise ConfigError(
                    f"geometry.count: {self.count} particles of radius {self.radius:g} nm with "
                    f"min_gap {self.min_gap:g} nm cannot fit in the box "
                    f"{tuple(float(b) for b in box)} nm (random packing jams near {RSA_LIMIT}; "
                    f"at most about {int(room)})")
        if self.count == 0:
            inflation = ((bound + 0.5 * self.min_gap) / bound) ** 3 * factors.max() ** 3 / factors.prod()
            if self.volume_fraction * inflation > RSA_LIMIT:
                raise ConfigError(
                    f"geometry.volume_fraction: {self.volume_fraction:g} is impossible with "
                    f"min_gap {self.min_gap:g} nm (random packing of the gap-inflated particles "
                    f"jams near {RSA_LIMIT}; at most {RSA_LIMIT / inflation:.3f})")


def place_particles(spec: IsolatedSpec, box: np.ndarray, rng: np.random.Generator) -> Particles:
    """Random non-overlapping particles in the periodic ``box`` (nm) following ``spec``.

    Sizes are drawn first (largest placed first); each particle gets up to ``spec.max_attempts``
    uniform trial centres, accepted when its bounding sphere keeps ``min_gap`` from all others
    (minimum image). Raises ConfigError if the target cannot be reached.
    """
    box = np.asarray(box, dtype=np.float64)
    spec.check_feasible(box)
    factors = spec.semi_axis_factors()
    unit_volume = (4.0 / 3.0) * np.pi * factors.prod()
    radii: list[float] = []
    target = spec.volume_fraction * box.prod()
    while (len(radii) < spec.count) if spec.count else (unit_volume * np.sum(np.power(radii, 3)) < target):
        r = spec.radius * (np.exp(rng.normal(0.0, spec.radius_sigma)) if spec.radius_sigma else 1.0)
        radii.append(float(min(r, spec.radius * np.exp(2 * spec.radius_sigma))))
    if spec.count == 0 and len(radii) > 1:  # drop the last one if that lands closer to the target
        with_last = unit_volume * np.sum(np.power(radii, 3))
        without = with_last - unit_volume * radii[-1] ** 3
        if abs(without - target) < abs(with_last - target):
            radii.pop()
    radii_arr = np.sort(np.asarray(radii))[::-1]
    bounding = radii_arr * factors.max()
    centers = np.empty((len(radii_arr), 3))
    for i, bound in enumerate(bounding):
        for _attempt in range(spec.max_attempts):
            trial = rng.random(3) * box
            if i == 0:
                break
            delta = minimum_image(centers[:i] - trial, box)
            if np.all(np.linalg.norm(delta, axis=1) >= bounding[:i] + bound + spec.min_gap):
                break
        else:
            raise ConfigError(
                f"geometry.volume_fraction: could only place {i} of {len(radii_arr)} particles "
                f"with min_gap {spec.min_gap:g} nm in the box; lower the fraction or the gap")
        centers[i] = trial
    axes = radii_arr[:, None] * factors[None, :]
    return Particles(tuple(map(tuple, centers)), tuple(map(tuple, axes)), tuple(box))
