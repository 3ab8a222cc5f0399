"""The compiled grid-distance kernels against straightforward numpy references: exact band
distances (brute force over all faces), the band of nodes (scipy's distance transform), the far
field (the numpy formulas), the interpolation (scipy.ndimage.map_coordinates) and the proxigram
bin counts built on them (np.histogram per species, molecular ions decomposed)."""

import numpy as np
import pytest
from scipy import ndimage

from synthapt.data import APTDataset
from synthapt.ranges import Range, RangeTable
from synthapt.spatial.distance_grid import (_far_field, ball_offsets, exact_distances, grid_distance,
                                            mesh_distance_field)
from synthapt.spatial.distance_kernels import compiled
from synthapt.spatial.mesh import Mesh, interface_mesh
from synthapt.spatial.mesh_distance import closest_point_on_triangles, signed_distance_to_mesh
from synthapt.spatial.profiles import proxigram


def _sphere_mesh(radius=3.0, center=5.0):
    x = (np.arange(20) + 0.5) * 0.5
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    return interface_mesh(radius - np.sqrt((X - center) ** 2 + (Y - center) ** 2 + (Z - center) ** 2),
                          np.zeros(3), 0.5, level=0.0)


def _cube_mesh(lo=2.0, hi=6.0):
    """A closed cube (sharp edges and corners), faces wound outward, plus one zero-area face."""
    v = np.array([[x, y, z] for x in (lo, hi) for y in (lo, hi) for z in (lo, hi)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))]
    mesh = Mesh(v, faces)
    if np.einsum("ij,ij->i", mesh.face_normals, mesh.triangles.mean(1) - v.mean(0)).min() < 0:
        mesh = mesh.flipped()
    return Mesh(mesh.vertices, np.vstack([mesh.faces, [[0, 0, 1]]]))


def _brute_force(points, mesh):
    """Unsigned distance (N,) nm and closest points (N, 3) over every face (numpy)."""
    tri = mesh.triangles
    q, _ = closest_point_on_triangles(points[:, None], tri[None, :, 0], tri[None, :, 1], tri[None, :, 2])
    d = np.linalg.norm(points[:, None] - q, axis=2)
    best = d.argmin(axis=1)
    return d[np.arange(len(points)), best], q[np.arange(len(points)), best]


@pytest.mark.parametrize("mesh_kind", ["sphere", "cube"])
def test_exact_distances_equal_brute_force_near_far_and_outside(rng, mesh_kind):
    mesh = _sphere_mesh() if mesh_kind == "sphere" else _cube_mesh()
    pts = np.concatenate([rng.uniform(-4.0, 14.0, (600, 3)),  # far beyond any band, outside the mesh box
                          rng.uniform(1.5, 8.5, (600, 3)),
                          mesh.vertices[:50] + rng.normal(scale=0.05, size=(min(50, len(mesh.vertices)), 3))])
    dist, foot = exact_distances(pts, mesh, workers=2)
    ref, ref_foot = _brute_force(pts, mesh)
    np.testing.assert_allclose(np.abs(dist), ref, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(pts - foot, axis=1), ref, atol=1e-9)
    np.testing.assert_allclose(foot, ref_foot, atol=1e-6)
    # the sign of the exact walk (pseudo-normals): positive inside
    np.testing.assert_array_equal(np.sign(dist), np.sign(signed_distance_to_mesh(pts, mesh)))
    if mesh_kind == "cube":
        inside = np.all((pts > 2.0) & (pts < 6.0), axis=1)
        np.testing.assert_array_equal(dist > 0, inside)
    # deterministic, whatever the thread count
    one, one_foot = exact_distances(pts, mesh, workers=1)
    np.testing.assert_array_equal(one, dist)
    np.testing.assert_array_equal(one_foot, foot)


@pytest.mark.parametrize("spacing, band", [(0.5, 1.5), (0.3, 1.0), (0.25, 0.6)])
def test_band_of_nodes_equals_the_distance_transform(rng, spacing, band):
    seeds = np.zeros((30, 25, 20), bool)
    seeds[tuple(rng.integers(0, n, 40) for n in seeds.shape)] = True
    seeds[0, 0, 0] = seeds[-1, -1, -1] = True  # balls clipped by the grid edges
    out = np.zeros(seeds.shape, bool)
    compiled(1).dilate_nodes(np.argwhere(seeds), ball_offsets(band, spacing), out)
    np.testing.assert_array_equal(out, ndimage.distance_transform_edt(~seeds, sampling=spacing) <= band)


def _far_field_numpy(field, in_band, lo, spacing, band_nodes, dist, foot):
    """The far-field formulas in numpy, one component at a time (float32)."""
    far = ~in_band
    nearest = ndimage.distance_transform_edt(far, return_distances=False, return_indices=True)
    owner = np.full(field.shape, -1, dtype=np.int32)
    owner[in_band] = np.arange(len(band_nodes), dtype=np.int32)
    src = owner[tuple(ix[far] for ix in nearest)]
    far_index = np.nonzero(far)
    normal = (lo + band_nodes * spacing).astype(np.float32) - foot.astype(np.float32)
    length = np.sqrt(np.einsum("ij,ij->i", normal, normal))
    normal /= np.maximum(length, np.float32(1e-12))[:, None]
    along = np.zeros(len(src), dtype=np.float32)
    direct = np.zeros(len(src), dtype=np.float32)
    for k in range(3):
        offset = (lo[k] + far_index[k].astype(np.float32) * np.float32(spacing)).astype(np.float32)
        offset -= foot[src, k].astype(np.float32)
        along += offset * normal[src, k]
        direct += offset * offset
    along, direct = np.abs(along), np.sqrt(direct)
    aligned = (length[src] > 1e-6) & (along >= np.float32(0.95) * direct)
    value = np.where(aligned, np.minimum(along, direct), direct) * np.sign(dist[src]).astype(np.float32)
    out = field.copy()
    out[far] = value
    return out


def test_distance_field_band_is_exact_and_far_field_equals_numpy():
    mesh, spacing = _sphere_mesh(), 0.5
    field, lo = mesh_distance_field(mesh, np.zeros(3), np.full(3, 10.0), spacing, band=1.5)
    nodes = lo + np.argwhere(np.ones(field.shape, bool)) * spacing
    ref = np.abs(exact_distances(nodes, mesh)[0]).reshape(field.shape)  # = brute force (above)
    # surely in the band (within 1.5 nm of a surface sample's node): < 0.6 nm from the surface
    in_band = ref < 0.6
    np.testing.assert_allclose(np.abs(field[in_band]), ref[in_band], atol=1e-6)
    assert (~in_band).sum() > 1000
    # far field from given band distances and feet, compiled vs numpy
    band = np.zeros(field.shape, bool)
    band[3:9, 4:12, 2:10] = True
    band_nodes = np.argwhere(band)
    dist, foot = exact_distances(lo + band_nodes * spacing, mesh)
    start = np.zeros(field.shape, np.float32)
    start[band] = dist
    fast = start.copy()
    _far_field(fast, band, lo, spacing, band_nodes, dist, foot, workers=2)
    np.testing.assert_array_equal(fast, _far_field_numpy(start, band, lo, spacing, band_nodes, dist, foot))


def test_interpolation_equals_map_coordinates_inside_and_outside_the_grid(rng):
    field = rng.normal(size=(7, 9, 5)).astype(np.float32)
    origin, spacing = np.array([1.0, -2.0, 0.5], np.float32), 0.5
    pts = np.concatenate([rng.uniform(-3.0, 6.0, (3000, 3)),  # many beyond the grid
                          origin + np.argwhere(np.ones(field.shape, bool)) * spacing])  # on nodes
    for dtype in (np.float32, np.float64):
        p = pts.astype(dtype)
        out = np.empty(len(p), np.float32)
        compiled(2).interpolate_grid(p, origin, np.float32(1 / spacing), field, out)
        coords = ((p - origin).astype(np.float32) * np.float32(1 / spacing)).T
        ref = ndimage.map_coordinates(field, coords, order=1, mode="nearest")
        np.testing.assert_allclose(out, ref, atol=1e-6)
    assert np.abs(out - ref).max() <= 1e-6 and (out[-field.size:] == field.ravel()).all()


def test_grid_proxigram_counts_equal_a_numpy_reference(rng):
    mesh = _sphere_mesh()
    table = RangeTable((Range(26.5, 27.5, "Al", {"Al": 1}), Range(58.5, 59.5, "Ni", {"Ni": 1}),
                        Range(43.5, 44.5, "AlO", {"Al": 1, "O": 1}), Range(15.5, 16.5, "O2", {"O": 2})))
    n = 20_000
    pos = rng.uniform(-2.0, 12.0, (n, 3)).astype(np.float32)  # ions far beyond the band too
    species = rng.integers(-1, 4, n).astype(np.int16)  # with unranged ions (-1)
    ds = APTDataset(pos, np.zeros(n, np.float32), species, table.ion_names, ranges=table)
    prof = proxigram(ds, mesh, bin_width=0.2)
    # reference: the same distance field, scipy interpolation, np.histogram per element
    lo = np.minimum(pos.min(0), mesh.vertices.min(0))
    hi = np.maximum(pos.max(0), mesh.vertices.max(0))
    field, origin = mesh_distance_field(mesh, lo, hi, 0.5, 1.5)
    coords = ((pos - origin.astype(np.float32)) * np.float32(2.0)).T
    dist = ndimage.map_coordinates(field, coords, order=1, mode="nearest")
    np.testing.assert_allclose(grid_distance(pos, mesh, 0.5, 1.5, 2), dist, atol=1e-5)
    atoms = {"Al": [(0, 1), (2, 1)], "Ni": [(1, 1)], "O": [(2, 1), (3, 2)]}
    for element, parts in atoms.items():
        ref = sum(k * np.histogram(dist[species == s], prof.edges)[0] for s, k in parts)
        np.testing.assert_array_equal(prof.counts[:, prof.column(element)], ref)
    assert prof.counts.sum() == np.sum([(species == s).sum() * k for p in atoms.values() for s, k in p])
