import numpy as np
import pytest
from skimage.measure import marching_cubes

from synthapt.data import APTDataset
from synthapt.errors import SynthaptError
from synthapt.ranges import Range, RangeTable
from synthapt.spatial.mesh import Mesh, read_mesh, write_mesh
from synthapt.spatial.distance_grid import signed_distance_grid
from synthapt.spatial.mesh_distance import closest_point_on_triangles, signed_distance_to_mesh
from synthapt.spatial.profiles import plateau_composition, proxigram, write_profile_csv
from synthapt.spatial.mesh import interface_mesh


def _sphere_mesh(radius=4.0, center=6.0, spacing=0.5):
    x = (np.arange(int(2 * center / spacing)) + 0.5) * spacing
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    field = radius - np.sqrt((X - center) ** 2 + (Y - center) ** 2 + (Z - center) ** 2)
    return interface_mesh(field, np.zeros(3), spacing, level=0.0)


def _cube_mesh(lo=2.0, hi=6.0):
    """A closed cube (sharp edges and corners), faces wound outward."""
    v = np.array([[x, y, z] for x in (lo, hi) for y in (lo, hi) for z in (lo, hi)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))]
    mesh = Mesh(v, faces)
    centre = v.mean(axis=0)
    if np.einsum("ij,ij->i", mesh.face_normals, mesh.triangles.mean(1) - centre).min() < 0:
        mesh = mesh.flipped()
    return mesh


def _brute_force(points, mesh):
    tri = mesh.triangles
    best = np.full(len(points), np.inf)
    for s in range(0, len(tri), 256):
        t = tri[s:s + 256]
        q, _ = closest_point_on_triangles(points[:, None], t[None, :, 0], t[None, :, 1], t[None, :, 2])
        best = np.minimum(best, np.linalg.norm(points[:, None] - q, axis=2).min(axis=1))
    return best


def test_sphere_distance_is_exact_and_positive_inside(rng):
    mesh = _sphere_mesh()
    # outward orientation: face normals point away from the centre
    assert (np.einsum("ij,ij->i", mesh.face_normals, mesh.triangles.mean(1) - 6.0) > 0).all()
    pts = np.concatenate([rng.uniform(-3, 15, (1500, 3)),
                          6.0 + rng.normal(size=(1500, 3)) * 0.0 + _shell(rng, 1500, 3.5, 4.5)])
    d = signed_distance_to_mesh(pts, mesh)
    np.testing.assert_allclose(np.abs(d), _brute_force(pts, mesh), atol=1e-9)
    r = np.linalg.norm(pts - 6.0, axis=1)
    clear = np.abs(r - 4.0) > 0.1  # the faceted mesh deviates from the sphere by < 0.1 nm
    np.testing.assert_array_equal(np.sign(d[clear]), np.sign(4.0 - r[clear]))
    np.testing.assert_allclose(d, 4.0 - r, atol=0.1)


def _shell(rng, n, r0, r1):
    u = rng.normal(size=(n, 3))
    return u / np.linalg.norm(u, axis=1)[:, None] * rng.uniform(r0, r1, (n, 1))


def test_sign_near_sharp_edges_and_corners(rng):
    mesh = _cube_mesh()
    # points whose closest feature is an edge or a corner of the cube, inside and outside
    pts = np.concatenate([rng.uniform(1.0, 7.0, (3000, 3)),
                          np.array([[1.9, 1.9, 4.0], [2.1, 2.1, 4.0], [1.9, 1.9, 1.9], [2.05, 2.05, 2.05],
                                    [6.2, 4.0, 6.2], [5.9, 4.0, 5.95], [6.3, 6.3, 6.3]])])
    d = signed_distance_to_mesh(pts, mesh)
    inside = np.all((pts > 2.0) & (pts < 6.0), axis=1)
    np.testing.assert_array_equal(d > 0, inside)
    np.testing.assert_allclose(np.abs(d), _brute_force(pts, mesh), atol=1e-9)
    outside_gap = np.linalg.norm(np.maximum(np.maximum(2.0 - pts, pts - 6.0), 0.0), axis=1)
    inside_gap = np.min(np.concatenate([pts - 2.0, 6.0 - pts], axis=1), axis=1)
    np.testing.assert_allclose(d, np.where(inside, inside_gap, -outside_gap), atol=1e-9)


def test_slab_sign_convention_and_grid_agrees_with_exact(rng):
    # precipitate slab 4 < z < 8 in a 12 nm box: indicator field -> mesh of two planes
    x = (np.arange(24) + 0.5) * 0.5
    Z = np.broadcast_to(x, (24, 24, 24))
    field = np.minimum(Z - 4.0, 8.0 - Z)
    mesh = interface_mesh(field, np.zeros(3), 0.5, level=0.0)
    pts = rng.uniform(0.5, 11.5, (4000, 3))
    pts[:, :2] = rng.uniform(2.0, 10.0, (4000, 2))  # away from the open rims of the planes
    d = signed_distance_to_mesh(pts, mesh)
    np.testing.assert_allclose(d, np.minimum(pts[:, 2] - 4.0, 8.0 - pts[:, 2]), atol=1e-9)
    g = signed_distance_grid(pts, mesh, spacing=0.25)
    np.testing.assert_allclose(g, d, atol=0.02)
    sphere = _sphere_mesh()
    pts = rng.uniform(0, 12, (3000, 3))
    exact, grid = signed_distance_to_mesh(pts, sphere), signed_distance_grid(pts, sphere, spacing=0.25)
    near = np.abs(exact) < 1.5
    assert np.abs(grid - exact)[near].max() < 0.03
    # beyond the exact band: second-order errors, largest near the centre (the medial axis)
    assert np.abs(grid - exact).max() < 0.15 and np.median(np.abs(grid - exact)[~near]) < 0.02
    default = signed_distance_grid(pts, sphere)  # 0.5 nm grid
    assert np.abs(default - exact)[near].max() < 0.05


def test_proxigram_of_a_sharp_planar_interface_recovers_both_plateaus(rng, tmp_path):
    n = 60_000
    pos = rng.uniform(0, 12, (n, 3))
    inside = (pos[:, 2] > 4.0) & (pos[:, 2] < 8.0)
    species = (rng.uniform(size=n) < np.where(inside, 0.24, 0.08)).astype(np.int16)
    ds = APTDataset(pos.astype(np.float32), np.zeros(n, np.float32), species, ("Ni", "Al"))
    x = (np.arange(24) + 0.5) * 0.5
    field = np.minimum(np.broadcast_to(x, (24, 24, 24)) - 4.0, 8.0 - np.broadcast_to(x, (24, 24, 24)))
    mesh = interface_mesh(field, np.zeros(3), 0.5, level=0.0)
    for method, sub in (("grid", slice(None)), ("exact", slice(0, 20_000))):
        prof = proxigram(ds.subset(sub), mesh, bin_width=0.2, method=method)
        assert prof.counts.sum() == len(ds.subset(sub).positions)
        plateaus = plateau_composition(prof, (0.2, 1.8))
        matrix, precipitate = plateaus["matrix"], plateaus["precipitate"]
        assert matrix["Al"] == pytest.approx(8.0, abs=1.0)
        assert precipitate["Al"] == pytest.approx(24.0, abs=1.0)
        # sharp: the bins right next to 0 already hold the plateau values
        al = prof.concentration[:, prof.column("Al")]
        assert al[np.argmin(np.abs(prof.centers + 0.1))] == pytest.approx(8.0, abs=4.0)
        assert al[np.argmin(np.abs(prof.centers - 0.1))] == pytest.approx(24.0, abs=5.0)
    write_profile_csv(tmp_path / "p.csv", prof)
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "distance_nm,atoms,Ni_at_pct,Al_at_pct,Ni_err_at_pct,Al_err_at_pct"
    assert len(lines) == len(prof.centers) + 1
    assert sum(int(line.split(",")[1]) for line in lines[1:]) == 20_000


def test_proxigram_decomposes_molecular_ions():
    table = RangeTable((Range(26.5, 27.5, "Al", {"Al": 1}), Range(43.5, 44.5, "AlO", {"Al": 1, "O": 1})))
    pos = np.array([[6.0, 6.0, 6.0], [6.0, 6.0, 11.0], [6.0, 6.0, 6.5]], np.float32)
    ds = APTDataset(pos, np.zeros(3, np.float32), np.array([1, 0, 1], np.int16), table.ion_names,
                    ranges=table)
    prof = proxigram(ds, _sphere_mesh(), bin_width=1.0, method="exact")
    assert prof.species_names == ("Al", "O")
    assert prof.counts.sum(axis=0).tolist() == [3, 2]
    only_o = proxigram(ds, _sphere_mesh(), elements=("O",), bin_width=1.0, method="exact")
    assert only_o.counts.sum() == 2


def test_mesh_files_round_trip(tmp_path):
    mesh = _sphere_mesh()
    for ext in ("ply", "obj", "stl"):
        write_mesh(tmp_path / f"m.{ext}", mesh)
        back = read_mesh(tmp_path / f"m.{ext}")
        assert back.area == pytest.approx(mesh.area, rel=1e-5)
        np.testing.assert_allclose(back.face_normals.sum(0), mesh.face_normals.sum(0), atol=1e-4)
    with pytest.raises(SynthaptError, match="unknown mesh format"):
        write_mesh(tmp_path / "m.vtk", mesh)
    (tmp_path / "bad.ply").write_text("ply\nformat nonsense\n")
    with pytest.raises(SynthaptError):
        read_mesh(tmp_path / "bad.ply")
    with pytest.raises(SynthaptError, match="no interface mesh"):
        proxigram(APTDataset(np.zeros((1, 3)), np.zeros(1), np.zeros(1, np.int16), ("Ni",)), None)


def test_small_separate_particle_is_found(rng):
    # a large finely meshed particle and a small one: points near the small one must measure to it
    x = (np.arange(64) + 0.5) * 0.25
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    big = 5.0 - np.sqrt((X - 6) ** 2 + (Y - 6) ** 2 + (Z - 6) ** 2)
    small = 0.8 - np.sqrt((X - 14) ** 2 + (Y - 14) ** 2 + (Z - 14) ** 2)
    mesh = interface_mesh(np.maximum(big, small), np.zeros(3), 0.25, level=0.0)
    assert mesh.n_faces > 4096
    pts = 14.0 + _shell(rng, 300, 1.0, 3.0)
    d = signed_distance_to_mesh(pts, mesh)
    np.testing.assert_allclose(np.abs(d), _brute_force(pts, mesh), atol=1e-9)
    assert (d < 0).all()
    np.testing.assert_allclose(signed_distance_grid(pts, mesh, spacing=0.25), d, atol=0.05)
