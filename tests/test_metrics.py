"""Metrics on constructed cases with known answers."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import erf

from synthapt.data import APTDataset, GroundTruth, Profile
from synthapt.errors import ConfigError, SynthaptError
from synthapt.scoring.labels import check_labels, label_scores
from synthapt.scoring.mesh import face_sample_points, hull_distance, interface_distance, weighted_quantile
from synthapt.scoring.metrics import ScoreParams, worse_than
from synthapt.scoring.profile import WIDTH_PER_SIGMA, fit_interface, plateau_composition, profile_rmse
from synthapt.scoring.score import profile_scores, score, truth_profile_of_dataset


class Plane:
    """Precipitate = x > x0 (signed distance x - x0, nm)."""

    def __init__(self, x0):
        self.x0 = x0

    def signed_distance(self, p):
        return np.asarray(p)[:, 0] - self.x0


def grid_plane_mesh(x_of_yz, n=20, size=10.0):
    """Triangulated surface x = f(y, z) over [0, size]^2 (n x n squares, 2 triangles each)."""
    t = np.linspace(0, size, n + 1)
    y, z = np.meshgrid(t, t, indexing="ij")
    vertices = np.stack([x_of_yz(y, z), y, z], axis=-1).reshape(-1, 3)
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3),
                            np.stack([a, d, c], -1).reshape(-1, 3)])
    return vertices, faces


# ----------------------------------------------------------------------------- labels

def test_perfect_labels_score_one_and_background_is_excluded():
    truth = np.array([0, 0, 1, 1, 1, -1, -1], dtype=np.int8)
    labels = np.array([0, 0, 1, 1, 1, 1, 0], dtype=np.int8)  # background labels don't matter
    s = label_scores(labels, truth)
    assert s["accuracy"] == 1.0 and s["dice"] == 1.0 and s["iou"] == 1.0
    assert s["n_scored_ions"] == 5


def test_known_confusion():
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    labels = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])  # tp 3, fn 1, fp 2, tn 4
    s = label_scores(labels, truth)
    assert s["accuracy"] == pytest.approx(0.7)
    assert s["dice"] == pytest.approx(6 / 9)
    assert s["iou"] == pytest.approx(3 / 6)
    assert s["precision"] == pytest.approx(3 / 5) and s["recall"] == pytest.approx(3 / 4)


def test_only_background_cannot_be_scored():
    with pytest.raises(SynthaptError, match="no ion has a true phase"):
        label_scores(np.zeros(3), np.full(3, -1))


@pytest.mark.parametrize("labels, match", [
    (np.zeros(4, int), "4 labels but the dataset has 5"),
    (np.array([0, 1, 2, 0, 1]), r"unknown label values \[2\]"),
    (np.array([0, 1, -1, 0, 1]), r"unknown label values \[-1\]"),
    (np.array([0, 0.5, 1, 0, 1]), "integers"),
    (np.array([0, np.nan, 1, 0, 1]), "integers"),
    (np.zeros((5, 2), int), "1-D"),
])
def test_check_labels_rejects_bad_input(labels, match):
    with pytest.raises(SynthaptError, match=match):
        check_labels(labels, 5)


def test_check_labels_accepts_float_and_bool_integers():
    np.testing.assert_array_equal(check_labels(np.array([0.0, 1.0]), 2), [0, 1])
    np.testing.assert_array_equal(check_labels(np.array([False, True]), 2), [0, 1])


# ----------------------------------------------------------------------------- mesh

@pytest.mark.parametrize("n", [1, 2, 3])
def test_face_samples_cover_area_and_centroid(n):
    v = np.array([[0.0, 0, 0], [3, 0, 0], [0, 4, 0]])
    points, w, face = face_sample_points(v, np.array([[0, 1, 2]]), n)
    assert len(points) == n * n and (face == 0).all()
    assert w.sum() == pytest.approx(6.0)
    np.testing.assert_allclose(points.mean(axis=0), v.mean(axis=0), atol=1e-12)


def test_exact_mesh_has_zero_distance():
    mesh = grid_plane_mesh(lambda y, z: np.full_like(y, 5.0))
    s = interface_distance(mesh, Plane(5.0))
    assert s["interface_distance_mean"] == 0 and s["interface_distance_max"] == 0
    assert s["interface_area_scored"] == pytest.approx(100.0)


def test_shifted_plane_gives_the_shift():
    mesh = grid_plane_mesh(lambda y, z: np.full_like(y, 5.3))
    s = interface_distance(mesh, Plane(5.0))
    for key in ("interface_distance_mean", "interface_distance_p95", "interface_distance_max"):
        assert s[key] == pytest.approx(0.3, abs=1e-12)


def test_tilted_plane_distance_distribution():
    # |d| = 0.1 |y - 5| is uniform on [0, 0.5] over the square: mean 0.25, p95 0.475
    mesh = grid_plane_mesh(lambda y, z: 5.0 + 0.1 * (y - 5.0), n=40)
    s = interface_distance(mesh, Plane(5.0), subdivisions=3)
    assert s["interface_distance_mean"] == pytest.approx(0.25, abs=1e-3)
    assert s["interface_distance_p95"] == pytest.approx(0.475, abs=3e-3)
    assert 0.49 < s["interface_distance_max"] <= 0.5


def test_boundary_caps_are_excluded():
    rng = np.random.default_rng(0)
    ions = rng.uniform(0, 10, size=(5000, 3))
    v, f = grid_plane_mesh(lambda y, z: np.full_like(y, 5.0))
    # a cap on the box wall z = 0 (x in 5..10, y in 0..10), far from the true interface
    cap_v = np.array([[5.0, 0, 0], [10, 0, 0], [10, 10, 0], [5, 10, 0]])
    cap_f = np.array([[0, 1, 2], [0, 2, 3]]) + len(v)
    mesh = (np.vstack([v, cap_v]), np.vstack([f, cap_f]))
    with_caps = interface_distance(mesh, Plane(5.0))
    assert with_caps["interface_distance_max"] > 4.0
    s = interface_distance(mesh, Plane(5.0), boundary_points=ions, boundary_margin=0.5)
    assert s["interface_distance_max"] == 0.0
    # the interface faces touching the walls (within 0.5 nm) are dropped too: 9x9 of 10x10 nm2
    assert s["interface_area_scored"] == pytest.approx(81.0)
    assert s["interface_area_excluded_fraction"] == pytest.approx(1 - 81 / 150)


def test_mesh_over_empty_space_is_excluded_even_without_margin():
    rng = np.random.default_rng(0)
    ions = rng.uniform(0, 10, size=(5000, 3))
    v, f = grid_plane_mesh(lambda y, z: np.full_like(y, 5.0))
    # a sheet 2 nm outside the data (x in 0..10 at y = 12), as over the empty corners of a needle
    out_v = np.array([[0.0, 12, 0], [10, 12, 0], [10, 12, 10], [0, 12, 10]])
    out_f = np.array([[0, 1, 2], [0, 2, 3]]) + len(v)
    mesh = (np.vstack([v, out_v]), np.vstack([f, out_f]))
    s = interface_distance(mesh, Plane(5.0), boundary_points=ions, boundary_margin=0.0)
    assert s["interface_distance_max"] == 0.0
    assert s["interface_area_excluded_fraction"] == pytest.approx(100 / 200, abs=0.02)


def test_hull_distance_box_and_large_cloud():
    rng = np.random.default_rng(1)
    cloud = rng.uniform(0, 10, size=(300_000, 3))  # > 200k: hull of a subset
    d = hull_distance(np.array([[5.0, 5, 5], [1, 5, 5], [5, 5, 9.5], [11, 5, 5]]), cloud)
    np.testing.assert_allclose(d, [5, 1, 0.5, -1], atol=0.03)


def test_weighted_quantile():
    assert weighted_quantile(np.array([1.0, 2, 3]), np.array([1.0, 1, 8]), 0.5) == 3.0
    assert weighted_quantile(np.array([1.0, 2, 3]), np.array([8.0, 1, 1]), 0.5) == 1.0


def test_mesh_errors():
    with pytest.raises(SynthaptError, match="no triangles"):
        interface_distance((np.zeros((3, 3)), np.zeros((0, 3), int)), Plane(0))
    with pytest.raises(SynthaptError, match="face indices"):
        interface_distance((np.zeros((3, 3)), np.array([[0, 1, 3]])), Plane(0))


# ----------------------------------------------------------------------------- profiles

def step_profile(al_of_d, lo=-6.0, hi=6.0, width=0.2, total=1_000_000):
    """Ni-Al profile with exact at.% Al given by ``al_of_d`` at each bin centre."""
    edges = np.round(np.arange(lo, hi + width / 2, width), 10)
    centres = 0.5 * (edges[1:] + edges[:-1])
    al = np.round(total * al_of_d(centres) / 100).astype(np.int64)
    return Profile(edges, np.stack([total - al, al], axis=1), ("Ni", "Al"))


def erf_al(d0, sigma, c_m=8.0, c_p=24.0):
    return lambda d: c_m + (c_p - c_m) * 0.5 * (1 + erf((d - d0) / (np.sqrt(2) * sigma)))


def test_known_rmse():
    truth = step_profile(lambda d: np.where(d > 0, 24.0, 8.0))
    offset = step_profile(lambda d: np.where(d > 0, 27.0, 5.0))
    assert profile_rmse(offset, truth, "Al") == pytest.approx(3.0, abs=1e-4)
    assert profile_rmse(offset, truth, "Ni") == pytest.approx(3.0, abs=1e-4)
    assert profile_rmse(truth, truth, "Al") == 0.0


def test_rmse_interpolates_onto_recovered_bins_and_uses_window():
    truth = step_profile(lambda d: 10 + d, width=0.1)  # linear: interpolation is exact
    rec = step_profile(lambda d: 12 + d, width=0.4, lo=-6.0)
    assert profile_rmse(rec, truth, "Al", window=3.0) == pytest.approx(2.0, abs=1e-3)
    # outside the window the recovered profile is way off, which must not count
    far_off = step_profile(lambda d: np.where(np.abs(d) > 3.2, 90.0, 10 + d), width=0.1)
    assert profile_rmse(far_off, truth, "Al", window=3.0) == pytest.approx(0.0, abs=1e-4)


def test_plateau_composition():
    p = step_profile(lambda d: np.where(d > 0, 24.0, 8.0))
    plateau = plateau_composition(p, (1.5, 5.0))
    assert plateau["precipitate"]["Al"] == pytest.approx(24.0, abs=1e-4)
    assert plateau["matrix"]["Al"] == pytest.approx(8.0, abs=1e-4)
    assert plateau["matrix"]["Ni"] == pytest.approx(92.0, abs=1e-4)
    assert plateau == plateau_composition(p)  # the default window is (1.5, 5.0) nm
    # a window that only sees one side of a 3 nm wide interface
    wide = step_profile(lambda d: 8.0 + 16.0 * np.clip((d + 1.5) / 3.0, 0.0, 1.0))
    assert plateau_composition(wide, (0.5, 2.0))["precipitate"]["Al"] < 23.0
    assert plateau_composition(wide, (2.0, 5.0))["precipitate"]["Al"] == pytest.approx(24.0, abs=1e-4)
    with pytest.raises(SynthaptError, match="plateau: MIN MAX must be finite"):
        plateau_composition(p, (2.0, float("nan")))


def test_erf_fit_recovers_width_and_position():
    fit = fit_interface(step_profile(erf_al(0.2, 0.4)), "Al")
    assert fit["position"] == pytest.approx(0.2, abs=1e-3)
    assert fit["width"] == pytest.approx(WIDTH_PER_SIGMA * 0.4, rel=1e-2)
    assert fit["c_matrix"] == pytest.approx(8.0, abs=0.01)
    assert fit["c_precipitate"] == pytest.approx(24.0, abs=0.01)
    assert WIDTH_PER_SIGMA == pytest.approx(2.5631, abs=1e-4)


def test_profile_scores_shift_width_plateau():
    truth = step_profile(erf_al(0.0, 0.2))
    rec = step_profile(erf_al(0.3, 0.5, c_m=9.0, c_p=23.0))
    s = profile_scores(rec, truth)
    assert s["interface_element"] in ("Al", "Ni")
    assert s["interface_shift"] == pytest.approx(0.3, abs=1e-3)
    assert s["interface_width_error"] == pytest.approx(WIDTH_PER_SIGMA * 0.3, rel=2e-2)
    assert s["plateau_error_matrix_Al"] == pytest.approx(1.0, abs=0.01)
    assert s["plateau_error_precipitate_Al"] == pytest.approx(1.0, abs=0.05)
    assert s["plateau_error"] == pytest.approx(max(s[k] for k in s if k.startswith("plateau_error_")))
    assert s["profile_rmse"] == max(s["profile_rmse_Al"], s["profile_rmse_Ni"]) > 1.0


def test_profiles_without_common_element():
    a = Profile([0.0, 1.0], [[1]], ("Fe",))
    b = Profile([0.0, 1.0], [[1]], ("Ni",))
    with pytest.raises(SynthaptError, match="no element in common"):
        profile_scores(a, b)


# ----------------------------------------------------------------------------- bundle

def plane_dataset(n=4000, seed=3, x0=5.0):
    """Ions in a 10 nm cube: x > x0 precipitate (25 at.% Al), else matrix (8 at.% Al)."""
    rng = np.random.default_rng(seed)
    true_pos = rng.uniform(0, 10, size=(n, 3))
    phase = (true_pos[:, 0] > x0).astype(np.int8)
    species = (rng.random(n) < np.where(phase == 1, 0.25, 0.08)).astype(np.int16)  # 1 = Al
    truth = GroundTruth(np.arange(n), species, phase, true_pos, ("Ni", "Al"), Plane(x0),
                        np.array([10.0, 10, 10]))
    return APTDataset(true_pos.astype(np.float32), np.where(species == 1, 27.0, 58.0),
                      species=species, species_names=("Ni", "Al"), truth=truth)


def test_score_bundle_perfect_result():
    ds = plane_dataset()
    truth_profile = truth_profile_of_dataset(ds)
    mesh = grid_plane_mesh(lambda y, z: np.full_like(y, 5.0))
    result = SimpleNamespace(labels=ds.truth.phase.copy(), mesh=mesh)
    s = score(result, ds, recovered_profile=truth_profile)
    assert s["accuracy"] == 1 and s["dice"] == 1 and s["n_ions"] == 4000
    assert s["interface_distance_mean"] == 0
    assert s["interface_coverage"] == 1 and s["true_interface_distance_mean"] < 1e-6
    assert s["profile_rmse"] == 0 and s["plateau_error"] == 0 and s["interface_shift"] == 0
    assert s["plateau_precipitate_Al_truth"] == pytest.approx(25.0, abs=3.0)


def test_score_labels_only_and_no_truth():
    ds = plane_dataset()
    labels = ds.truth.phase.copy()
    labels[:100] = 1 - labels[:100]
    s = score(labels, ds)
    assert s["accuracy"] == pytest.approx(0.975)
    assert "interface_distance_mean" not in s and "profile_rmse" not in s
    with pytest.raises(SynthaptError, match="no ground truth"):
        score(labels, ds.replace(truth=None))


def test_worse_than_directions():
    assert worse_than("accuracy", 0.97, 0.98) and not worse_than("accuracy", 0.99, 0.98)
    assert worse_than("interface_distance_mean", 0.4, 0.3)
    assert not worse_than("interface_distance_mean", 0.2, 0.3)
    assert worse_than("profile_rmse_Al", 2.0, 1.5)
    assert worse_than("interface_shift", -0.5, 0.3) and not worse_than("interface_shift", -0.1, 0.3)
    assert worse_than("dice", float("nan"), 0.5)
    with pytest.raises(ConfigError, match="not a metric"):
        worse_than("n_ions", 3, 1)


def test_score_params_validation():
    for window in ((6.0, 5.0), (-1.0, 2.0), (1.0, float("inf")), (1.0,)):
        with pytest.raises(ConfigError, match="score.plateau"):
            ScoreParams(plateau=window)
    assert ScoreParams(plateau=[2, 4]).plateau == (2.0, 4.0)
    with pytest.raises(ConfigError, match="profile_window"):
        ScoreParams(profile_window=0)


def test_coverage_finds_missing_interface():
    """Slab x in [3, 7]: a mesh of only the x = 3 face covers half of the true interface."""
    from synthapt.scoring.score import interface_coverage
    from synthapt.structures.layered import Layered

    geometry = Layered(normal=(1.0, 0, 0), thicknesses=(4.0,), centers=(5.0,))
    cloud = np.random.default_rng(2).uniform(0, 10, size=(20000, 3))
    v3, f3 = grid_plane_mesh(lambda y, z: np.full_like(y, 3.0))
    v7, f7 = grid_plane_mesh(lambda y, z: np.full_like(y, 7.0))
    both = (np.vstack([v3, v7]), np.vstack([f3, f7 + len(v3)]))
    full = interface_coverage(both, geometry, cloud)
    assert full["interface_coverage"] == pytest.approx(1.0)
    assert full["true_interface_distance_mean"] == pytest.approx(0.0, abs=1e-6)
    half = interface_coverage((v3, f3), geometry, cloud)
    assert half["interface_coverage"] == pytest.approx(0.5, abs=0.02)
    # the x = 7 face is 4 nm from the only mesh plane
    assert half["true_interface_distance_mean"] == pytest.approx(2.0, abs=0.1)
    shifted = interface_coverage((v3 + [0.3, 0, 0], f3), geometry, cloud, tolerance=0.5)
    assert shifted["interface_coverage"] == pytest.approx(0.5, abs=0.02)
    assert interface_coverage(both, geometry, cloud, tolerance=0.2)["interface_coverage"] == 1.0


def test_mesh_only_on_the_boundary_gives_nan_distances():
    """A mesh that only caps the box wall scores NaN (worse than any threshold), not an error."""
    ions = np.random.default_rng(4).uniform(0, 10, size=(4000, 3))
    cap = (np.array([[0.0, 0, 0], [0, 10, 0], [0, 10, 10], [0, 0, 10]]), np.array([[0, 1, 2], [0, 2, 3]]))
    s = interface_distance(cap, Plane(5.0), boundary_points=ions)
    assert np.isnan(s["interface_distance_mean"]) and s["interface_area_scored"] == 0
    assert s["interface_area_excluded_fraction"] == 1.0
    assert worse_than("interface_distance_mean", s["interface_distance_mean"], 10.0)


def test_plane_resolved_truth_is_averaged_before_the_rmse():
    """An ordered precipitate's true profile alternates 0 / 50 at.% Al plane by plane (0.2 nm
    bins here); a smooth recovered profile with the right mean (25 at.%) must score ~0 once both
    are averaged over 1 nm, and ~25 at.% bin by bin."""
    from synthapt.data import Profile
    from synthapt.scoring.profile import profile_rmse, smoothed

    edges = np.round(np.arange(-3.0, 3.0001, 0.2), 6)
    n = len(edges) - 1
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside = centres > 0
    al_truth = np.where(inside, np.where(np.arange(n) % 2 == 0, 50, 0), 10)
    truth = Profile(edges, np.stack([100 - al_truth, al_truth], axis=1) * 10, ("Ni", "Al"))
    al_rec = np.where(inside, 25, 10)
    recovered = Profile(edges, np.stack([100 - al_rec, al_rec], axis=1) * 10, ("Ni", "Al"))
    assert profile_rmse(recovered, truth, "Al", smoothing=0.0) == pytest.approx(
        np.sqrt(np.mean(np.where(inside, 25.0, 0.0) ** 2)))
    assert profile_rmse(recovered, truth, "Al", smoothing=1.0) < 4.0  # residual of 3 vs 2 planes
    assert smoothed(truth, 1.0).counts.sum() > truth.counts.sum()  # moving sums over 5 bins
    assert smoothed(truth, 0.1) is truth


def test_true_interface_samples_are_computed_once_per_geometry_and_hull():
    """A case scores each method on its own: the true-interface samples of one geometry over one
    set of ions are reused (read-only), and another geometry or hull gets its own."""
    from synthapt.scoring.mesh import _true_interface_samples, as_boundary, true_interface_samples
    from synthapt.structures.layered import Layered

    geometry = Layered(normal=(1.0, 0, 0), thicknesses=(4.0,), centers=(5.0,))
    cloud = np.random.default_rng(3).uniform(0, 10, size=(5000, 3))
    points, weights = true_interface_samples(geometry, cloud)
    again = true_interface_samples(geometry, cloud)
    assert again[0] is points and again[1] is weights
    assert not points.flags.writeable and not weights.flags.writeable
    fresh = _true_interface_samples(geometry, as_boundary(cloud), 1.0, 0.5, 2_000_000, 20_000)
    np.testing.assert_array_equal(fresh[0], points)
    assert weights.sum() == pytest.approx(2 * 8.0 * 8.0, rel=0.05)  # two faces, 1 nm margin
    moved = Layered(normal=(1.0, 0, 0), thicknesses=(4.0,), centers=(4.0,))
    other = true_interface_samples(moved, cloud)[0]
    assert np.abs(np.sort(np.unique(np.round(other[:, 0], 6))) - [2.0, 6.0]).max() < 1e-6
    smaller = true_interface_samples(geometry, cloud[cloud[:, 1] < 6])[1]
    assert smaller.sum() < 0.7 * weights.sum()
