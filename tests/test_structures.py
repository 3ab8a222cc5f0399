"""Geometries: signed distances at points with known answers, periodic images, composition,
particle placement, gyroid level solving, dict round trips, and configuration errors."""

import json

import numpy as np
import pytest
from scipy.spatial import cKDTree

from synthapt.errors import ConfigError
from synthapt.structures import (
    Complement, Gyroid, Intersection, IsolatedSpec, Layered, Particles, Union, build_geometry,
    geometry_from_dict, gyroid_for_fraction, place_particles,
)
from synthapt.structures.build import check_geometry_spec
from synthapt.structures.isolated import RSA_LIMIT, ellipsoid_distance

BOX = np.array([10.0, 10.0, 10.0])


def test_single_slab_known_distances():
    slab = Layered(normal=(0, 0, 2), thicknesses=(2.0,), centers=(5.0,))
    pts = np.array([[1, 2, 5.0], [0, 0, 5.8], [3, 3, 6.0], [0, 0, 7.5], [0, 0, 1.0]])
    np.testing.assert_allclose(slab.signed_distance(pts), [1.0, 0.2, 0.0, -1.5, -3.0], atol=1e-12)


def test_oblique_periodic_multilayer():
    n = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    stack = Layered(normal=(1, 1, 0), thicknesses=(1.0, 0.5), centers=(0.0, 2.0), period=4.0)
    # along the normal: slab A covers [-0.5, 0.5], slab B [1.75, 2.25] (mod 4)
    s = np.array([0.0, 0.4, 1.0, 2.0, 3.0, 4.1, -3.9, 8.0])
    expected = [0.5, 0.1, -0.5, 0.25, -0.5, 0.4, 0.4, 0.5]
    pts = s[:, None] * n[None, :] + np.array([3.0, -3.0, 7.0])  # tangential offset changes nothing
    np.testing.assert_allclose(stack.signed_distance(pts), expected, atol=1e-12)


def test_overlapping_slabs_and_bad_period_rejected():
    with pytest.raises(ConfigError, match="overlap"):
        Layered(thicknesses=(2.0, 2.0), centers=(0.0, 1.0))
    with pytest.raises(ConfigError, match="period"):
        Layered(thicknesses=(3.0,), centers=(0.0,), period=2.0)


def test_sphere_distances_and_periodic_wrap():
    spheres = Particles(centers=((0.5, 5.0, 5.0),), semi_axes=((1.5, 1.5, 1.5),), box=tuple(BOX))
    pts = np.array([[0.5, 5, 5], [1.5, 5, 5], [9.5, 5, 5], [8.0, 5, 5], [0.5, 5, 9.0], [10.5, 5, 5]])
    # x = 9.5 is 1 nm from the centre through the periodic boundary; 10.5 wraps onto 0.5
    np.testing.assert_allclose(spheres.signed_distance(pts), [1.5, 0.5, 0.5, -1.0, -2.5, 1.5],
                               atol=1e-12)


def test_ellipsoid_axis_points_and_brute_force():
    axes = np.array([3.0, 2.0, 1.0])
    on_axes = np.array([[0, 0, 0], [2.9, 0, 0], [0, 2.5, 0], [0, 0, 0.5], [0, 0, -5.0], [4, 0, 0]])
    np.testing.assert_allclose(ellipsoid_distance(on_axes, axes), [1.0, 0.1, -0.5, 0.5, -4.0, -1.0],
                               atol=1e-9)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(400, 3)) * 2.0
    u = rng.normal(size=(300_000, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    brute, _ = cKDTree(u * axes).query(pts)  # distance to a dense surface sampling (>= exact)
    d = np.abs(ellipsoid_distance(pts, axes))
    assert np.all(d <= brute + 1e-9)
    assert np.max(brute - d) < 0.03
    inside = ((pts / axes) ** 2).sum(axis=1) < 1
    np.testing.assert_array_equal(ellipsoid_distance(pts, axes) > 0, inside)


def test_many_particles_fast_path_matches_brute_force(rng):
    geom = place_particles(IsolatedSpec(radius=0.8, radius_sigma=0.3, volume_fraction=0.12,
                                        min_gap=0.3), BOX, rng)
    assert len(geom.centers) > 8
    pts = rng.random((3000, 3)) * 12 - 1  # includes points outside the box (wrapped)
    brute = np.max([geom._one(np.mod(pts, BOX), k) for k in range(len(geom.centers))], axis=0)
    np.testing.assert_allclose(geom.signed_distance(pts), brute, atol=1e-12)


def test_placement_fraction_gap_and_determinism():
    spec = IsolatedSpec(radius=1.0, radius_sigma=0.2, volume_fraction=0.1, min_gap=0.5)
    a = place_particles(spec, BOX, np.random.default_rng(7))
    b = place_particles(spec, BOX, np.random.default_rng(7))
    assert a == b
    assert abs(a.volume / BOX.prod() - 0.1) < 0.02
    c = a.center_array
    r = a.axes_array[:, 0]
    for i in range(len(c)):
        delta = c - c[i]
        delta -= BOX * np.round(delta / BOX)
        dist = np.linalg.norm(delta, axis=1)
        gap = dist - r - r[i]
        gap[i] = np.inf
        assert gap.min() >= 0.5 - 1e-9
    counted = place_particles(IsolatedSpec(radius=1.0, count=5, min_gap=0.5), BOX,
                              np.random.default_rng(1))
    assert len(counted.centers) == 5


def test_impossible_volume_fraction_is_a_config_error():
    with pytest.raises(ConfigError, match="volume_fraction"):
        place_particles(IsolatedSpec(radius=1.0, volume_fraction=0.45, min_gap=0.0), BOX,
                        np.random.default_rng(0))
    with pytest.raises(ConfigError, match="volume_fraction"):
        build_geometry({"kind": "isolated", "radius": 1.0, "volume_fraction": 0.3, "min_gap": 1.0},
                       BOX, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="radius"):
        build_geometry({"kind": "isolated", "radius": 6.0, "count": 1}, BOX, np.random.default_rng(0))


def test_too_many_particles_refused_before_placing():
    spec = {"kind": "isolated", "radius": 1.5, "min_gap": 0.5, "count": 10**9}
    with pytest.raises(ConfigError, match=r"geometry.count: 1000000000 particles .* at most about \d+"):
        check_geometry_spec(spec, BOX)
    room = RSA_LIMIT * np.prod(BOX) / (4 / 3 * np.pi * 1.75 ** 3)  # median bounding sphere + gap/2
    check_geometry_spec({**spec, "count": int(room)}, BOX)
    with pytest.raises(ConfigError, match="geometry.count"):
        check_geometry_spec({**spec, "count": int(room) + 1}, BOX)


def test_gyroid_fraction_periodicity_and_known_distances():
    g = gyroid_for_fraction(np.array([6.0, 6.0, 12.0]), (1, 1, 2), 0.3)
    assert abs(g.volume_fraction() - 0.3) < 0.005
    rng = np.random.default_rng(3)
    pts = rng.random((500, 3)) * np.asarray(g.box)
    d = g.signed_distance(pts)
    np.testing.assert_allclose(g.signed_distance(pts + np.asarray(g.box) * [1, -2, 1]), d, atol=1e-9)
    np.testing.assert_array_equal(d > 0, g.value(pts) > 0)
    # points at a known distance along the surface normal from surface points
    feet = g._project(pts, steps=20)
    normal = g.gradient(feet)
    normal /= np.linalg.norm(normal, axis=1)[:, None]
    for offset in (-0.2, -0.05, 0.05, 0.2):
        np.testing.assert_allclose(g.signed_distance(feet + offset * normal), offset, atol=2e-4)


def test_gyroid_against_dense_surface_everywhere():
    g = gyroid_for_fraction(np.array([4.0, 4.0, 4.0]), (1, 1, 1), 0.5)
    samples = g.surface_samples(per_cell=160)
    tree = cKDTree(samples, boxsize=np.asarray(g.box))
    pts = np.random.default_rng(5).random((2000, 3)) * 4.0
    brute, _ = tree.query(pts)
    d = np.abs(g.signed_distance(pts))
    assert np.all(d <= brute + 1e-4)  # never (beyond 1e-4 nm) further than a surface sample
    assert np.max(brute - d) < 0.02  # distance to a true surface point, which samples overestimate


def test_composition_known_values():
    a = Layered(thicknesses=(2.0,), centers=(5.0,))
    b = Particles(centers=((5.0, 5.0, 7.0),), semi_axes=((1.0, 1.0, 1.0),), box=tuple(BOX))
    pts = np.array([[0, 0, 5.0], [5, 5, 7.5], [5, 5, 6.5], [0, 0, 8.0]])
    np.testing.assert_allclose(Union((a, b)).signed_distance(pts), [1.0, 0.5, 0.5, -2.0])
    np.testing.assert_allclose(Intersection((a, b)).signed_distance(pts),
                               [1.0 - np.sqrt(54.0), -1.5, -0.5, 1.0 - np.sqrt(51.0)])
    np.testing.assert_allclose(Complement(a).signed_distance(pts), [-1.0, 1.5, 0.5, 2.0])


@pytest.mark.parametrize("geometry", [
    Layered(normal=(1, 2, 3), thicknesses=(1.0, 0.5), centers=(0.1, 2.0), period=3.3),
    Particles(centers=((1.1, 2.2, 3.3), (7.0, 7.0, 7.0)), semi_axes=((1.0, 1.0, 1.0), (0.5, 0.7, 0.9)),
              box=(10.0, 10.0, 10.0)),
    Gyroid(box=(5.0, 5.0, 10.0), cells=(1, 1, 2), level=0.3141592653589793),
    Union((Layered(), Complement(Gyroid()))),
    Intersection((Layered(), Particles(centers=((0.0, 0.0, 0.0),), semi_axes=((2.0, 2.0, 2.0),)))),
])
def test_dict_round_trip_is_exact(geometry):
    data = json.loads(json.dumps(geometry.to_dict()))
    again = geometry_from_dict(data)
    assert again == geometry
    pts = np.random.default_rng(0).random((50, 3)) * 10
    np.testing.assert_array_equal(again.signed_distance(pts), geometry.signed_distance(pts))


def test_scaled_geometry_scales_distances():
    pts = np.random.default_rng(1).random((100, 3)) * 10
    for g in (Layered(thicknesses=(2.0,), centers=(3.0,), period=10.0),
              Particles(centers=((5.0, 5.0, 5.0),), semi_axes=((1.0, 1.5, 2.0),), box=(10.0,) * 3),
              Gyroid(box=(10.0,) * 3, level=0.2)):
        np.testing.assert_allclose(g.scaled(1.02).signed_distance(pts * 1.02),
                                   1.02 * g.signed_distance(pts), rtol=1e-6, atol=1e-6)


def test_build_layered_defaults_and_errors():
    box = np.array([4.0, 4.0, 8.1])
    g = build_geometry({"kind": "layered", "thicknesses": [2.0], "centers": [1.0], "period": 4.0},
                       box, np.random.default_rng(0))
    assert g.period == pytest.approx(4.05)  # snapped to a whole fraction of the box
    single = build_geometry({"kind": "layered", "thicknesses": [2.0]}, box, None or np.random.default_rng(0))
    assert single.period == pytest.approx(8.1)
    with pytest.raises(ConfigError, match="repeat"):
        build_geometry({"kind": "layered", "normal": [1, 1, 0], "thicknesses": [1.0]}, box,
                       np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown geometry"):
        build_geometry({"kind": "blob"}, box, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown key"):
        build_geometry({"kind": "isolated", "radius": 1.0, "colour": 3}, box, np.random.default_rng(0))


def test_signed_distance_grid_gives_the_exact_marching_cubes_surface():
    """The gyroid's exact distance is evaluated only next to sign changes; the level-0 surface
    is that of the exact distance at every node (to 1e-5 nm: the iterative foot-point search
    differs in the last bits between batches), and every sign agrees."""
    from skimage.measure import marching_cubes

    from synthapt.structures import Gyroid, Layered, signed_distance_grid

    gyroid = Gyroid((4.0, 4.0, 4.0), (1, 1, 1), 0.3)
    axes = [np.arange(0.1, 4.0, 0.2)] * 3
    fast = signed_distance_grid(gyroid, axes)
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    exact = gyroid.signed_distance(nodes).reshape(fast.shape)
    assert fast.shape == (20, 20, 20)
    np.testing.assert_array_equal(np.sign(fast), np.sign(exact))
    near = np.abs(exact) < 0.2 * 0.5  # an inner node this close has a neighbour across the surface
    near[[0, -1], :, :] = near[:, [0, -1], :] = near[:, :, [0, -1]] = False  # (across the grid edge)
    np.testing.assert_allclose(fast[near], exact[near], rtol=0, atol=1e-5)
    assert (fast != exact).any()  # the far nodes hold the cheap estimate
    (v_fast, f_fast, *_), (v_exact, f_exact, *_) = marching_cubes(fast, 0.0), marching_cubes(exact, 0.0)
    np.testing.assert_array_equal(f_fast, f_exact)
    np.testing.assert_allclose(v_fast, v_exact, rtol=0, atol=1e-4)  # in voxels of 0.2 nm
    slab = Layered(normal=(0.0, 0.0, 1.0), thicknesses=(2.0,), centers=(2.0,))  # exact everywhere
    np.testing.assert_array_equal(signed_distance_grid(slab, axes),
                                  slab.signed_distance(nodes).reshape(fast.shape))


def test_ellipsoid_signed_estimate_has_the_exact_sign_and_surface():
    """Ellipsoids: the first-order estimate is positive exactly inside, zero on the surface, and
    the grid distance built on it gives the marching-cubes surface of the exact distance."""
    from skimage.measure import marching_cubes

    from synthapt.structures import signed_distance_grid
    from synthapt.structures.isolated import Particles

    particles = Particles(((2.0, 2.0, 2.0), (5.5, 5.0, 4.5)), ((1.8, 1.2, 0.8), (1.0, 1.5, 0.8)),
                          (8.0, 8.0, 8.0))
    axes = [np.arange(0.1, 8.0, 0.2)] * 3
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    estimate = particles.signed_estimate(nodes)
    exact = particles.signed_distance(nodes)
    np.testing.assert_array_equal(estimate > 0, particles.contains(nodes))
    np.testing.assert_array_equal(estimate > 0, exact > 0)
    on_surface = np.array([[2.0 + 1.8, 2.0, 2.0], [5.5, 5.0, 4.5 - 0.8], [2.0, 2.0 + 1.2, 2.0]])
    np.testing.assert_allclose(particles.signed_estimate(on_surface), 0.0, atol=1e-12)
    fast = signed_distance_grid(particles, axes)
    (v_fast, f_fast, *_), (v_exact, f_exact, *_) = (marching_cubes(fast, 0.0),
                                                     marching_cubes(exact.reshape(fast.shape), 0.0))
    np.testing.assert_array_equal(f_fast, f_exact)
    np.testing.assert_allclose(v_fast, v_exact, rtol=0, atol=1e-6)
    spheres = Particles(((2.0, 2.0, 2.0),), ((1.5, 1.5, 1.5),), (8.0, 8.0, 8.0))  # exact and cheap
    np.testing.assert_array_equal(spheres.signed_estimate(nodes), spheres.signed_distance(nodes))
