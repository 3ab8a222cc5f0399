"""``synthapt score``: user labels (.npy/.csv/.h5), meshes, --json, --fail-under, errors."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from synthapt.cli import app
from synthapt.data import APTDataset, GroundTruth
from synthapt.io.hdf5 import write_dataset
from synthapt.spatial.mesh import Mesh, write_mesh
from synthapt.structures.layered import Layered

N = 3000
GEOMETRY = Layered(normal=(1.0, 0.0, 0.0), thicknesses=(4.0,), centers=(5.0,))  # x in [3, 7]


def slab_dataset(with_truth=True):
    rng = np.random.default_rng(7)
    pos = rng.uniform(0, 10, size=(N, 3))
    phase = (GEOMETRY.signed_distance(pos) > 0).astype(np.int8)
    species = (rng.random(N) < np.where(phase == 1, 0.25, 0.08)).astype(np.int16)
    truth = GroundTruth(np.arange(N), species, phase, pos, ("Ni", "Al"), GEOMETRY,
                        np.array([10.0, 10.0, 10.0])) if with_truth else None
    return APTDataset(pos.astype(np.float32), np.where(species == 1, 27.0, 58.0).astype(np.float32),
                      species=species, species_names=("Ni", "Al"), truth=truth)


def plane_mesh(x0, outward, n=10):
    """Square 10 x 10 nm at x = x0, normals along ``outward`` (+1/-1 in x)."""
    t = np.linspace(0, 10, n + 1)
    y, z = np.meshgrid(t, t, indexing="ij")
    v = np.stack([np.full_like(y, x0), y, z], -1).reshape(-1, 3)
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:], idx[1:, 1:]
    f = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return v, (f if outward > 0 else f[:, ::-1])


def slab_mesh(shift=0.0):
    """The two interfaces of the slab (x = 3, x = 7), moved outward by ``shift`` nm."""
    v1, f1 = plane_mesh(3.0 - shift, -1)
    v2, f2 = plane_mesh(7.0 + shift, +1)
    return Mesh(np.vstack([v1, v2]), np.vstack([f1, f2 + len(v1)]))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("score")
    ds = slab_dataset()
    write_dataset(folder / "dataset.h5", ds)
    write_dataset(folder / "real.h5", slab_dataset(with_truth=False))
    truth = ds.truth.phase
    np.save(folder / "perfect.npy", truth)
    wrong = truth.copy()
    wrong[:60] = 1 - wrong[:60]  # 2 % wrong
    np.save(folder / "wrong2pct.npy", wrong)
    (folder / "perfect.csv").write_text("label\n" + "\n".join(map(str, truth)) + "\n")
    with h5py.File(folder / "theirs.h5", "w") as fh:
        fh.create_dataset("seg/labels", data=truth)
        fh.create_dataset("seg/short", data=truth[:-1])
    np.save(folder / "short.npy", truth[:-5])
    bad = truth.astype(np.int64)
    bad[3] = 2
    np.save(folder / "badvalue.npy", bad)
    write_mesh(folder / "exact.ply", slab_mesh(0.0))
    write_mesh(folder / "shifted.stl", slab_mesh(0.2))
    write_mesh(folder / "inward.obj", slab_mesh(0.0).flipped())
    return folder


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_perfect_npy_labels_and_mesh_json(files, tmp_path):
    out = tmp_path / "s.json"
    r = invoke("score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy",
               "--mesh", files / "exact.ply", "--method", "mine", "--json", out)
    assert r.exit_code == 0, r.output
    assert "accuracy" in r.output and "mine" in r.output
    case = json.loads(out.read_text())
    s = case["scores"]["mine"]
    assert s["accuracy"] == 1.0 and s["dice"] == 1.0 and s["n_ions"] == N
    assert s["interface_distance_mean"] == pytest.approx(0.0, abs=1e-12)
    # only faces centred within 0.25 nm of the data's hull, on the rim of the 10 nm squares
    assert s["interface_area_excluded_fraction"] == pytest.approx(0.0125, abs=1e-9)
    assert set(case["profiles"]) == {"truth", "truth-mesh", "mine"}
    # the exact mesh gives (nearly) the true-interface proxigram: the floor of the profile metrics
    # (the two meshes are clipped differently at the rim, which moves a few ions between bins)
    assert s["profile_rmse"] < 0.6
    assert set(case["scores"]) == {"oracle", "truth-mesh", "mine"}  # no emulation record: no bayes
    assert case["inputs"]["dataset"].endswith("dataset.h5")


def test_shifted_mesh_distance_and_fail_under(files):
    args = ["score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy",
            "--mesh", files / "shifted.stl"]
    r = invoke(*args, "--fail-under", "interface_distance_mean=0.3", "--fail-under", "accuracy=0.99")
    assert r.exit_code == 0, r.output
    r = invoke(*args, "--fail-under", "interface_distance_mean=0.15", "--quiet")
    assert r.exit_code == 1
    assert "interface_distance_mean = 0.2" in r.output


def test_csv_and_h5_labels_equal_npy(files, tmp_path):
    outputs = []
    for spec in (files / "perfect.csv", f"{files / 'theirs.h5'}:/seg/labels"):
        out = tmp_path / "o.json"
        r = invoke("score", "--truth", files / "dataset.h5", "--labels", spec, "--json", out, "--quiet")
        assert r.exit_code == 0, r.output
        outputs.append(json.loads(out.read_text())["scores"]["user"])
    assert outputs[0] == outputs[1] and outputs[0]["accuracy"] == 1.0


def test_fail_under_directions(files):
    base = ["score", "--truth", files / "dataset.h5", "--labels", files / "wrong2pct.npy", "--quiet"]
    assert invoke(*base, "--fail-under", "accuracy=0.97").exit_code == 0
    assert invoke(*base, "--fail-under", "accuracy=0.99").exit_code == 1
    assert invoke(*base, "--fail-under", "dice=0.999").exit_code == 1
    # a metric that was not computed (no mesh) counts as failed
    assert invoke(*base, "--fail-under", "interface_distance_mean=1").exit_code == 1


def cli_error(*args):
    r = subprocess.run([sys.executable, "-m", "synthapt", *map(str, args)],
                       capture_output=True, text=True)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("labels, message", [
    ("short.npy", "2995 labels but the dataset has 3000 ions"),
    ("badvalue.npy", "unknown label values [2]"),
    ("theirs.h5:/seg/short", "2999 labels but the dataset has 3000"),
    ("theirs.h5:/seg/missing", "no dataset '/seg/missing'"),
    ("nothere.npy", "labels file not found"),
    ("theirs.h5", "name the labels inside the file"),
])
def test_bad_labels_are_clear_errors(files, labels, message):
    line = cli_error("score", "--truth", files / "dataset.h5", "--labels", files / labels)
    assert message in line


def test_scoring_without_ground_truth_is_an_error(files):
    line = cli_error("score", "--truth", files / "real.h5", "--labels", files / "perfect.npy")
    assert "no ground truth" in line and "real.h5" in line
    line = cli_error("score", "--labels", files / "perfect.npy")
    assert "no ground truth" in line and "--truth" in line


def test_bad_threshold_is_an_error(files):
    line = cli_error("score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy",
                     "--fail-under", "accuracy")
    assert "METRIC=NUMBER" in line
    line = cli_error("score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy",
                     "--fail-under", "speed=3")
    assert "'speed' is not a metric" in line


def test_json_is_deterministic(files, tmp_path):
    texts = []
    for k in range(2):
        out = tmp_path / f"run{k}.json"
        r = invoke("score", "--truth", files / "dataset.h5", "--labels", files / "wrong2pct.npy",
                   "--mesh", files / "shifted.stl", "--json", out, "--quiet")
        assert r.exit_code == 0, r.output
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    assert b"NaN" not in texts[0]


def test_nothing_to_score_and_mesh_without_labels(files):
    assert "nothing to score" in cli_error("score", "--truth", files / "dataset.h5")
    assert "--mesh needs --labels" in cli_error("score", "--truth", files / "dataset.h5",
                                                "--mesh", files / "exact.ply")


@pytest.fixture(scope="module")
def seg_files(tmp_path_factory):
    """An emulated Ni-Al slab (dataset.h5) segmented by 'synthapt segment' (Canny and iso)."""
    from synthapt.apt import EmulationParams, emulate
    from synthapt.apt.specimens import lattice_specimen

    folder = tmp_path_factory.mktemp("seg")
    geometry = Layered(normal=(0.0, 0.0, 1.0), thicknesses=(3.0,), centers=(3.5,))
    dataset = emulate(lattice_specimen((20, 20, 20), geometry=geometry, seed=1), EmulationParams(),
                      seed=2)
    write_dataset(folder / "dataset.h5", dataset)
    for args in (["--method", "canny"], ["--method", "iso", "--element", "Al", "--iso-value", "16"]):
        name = "seg_" + ("canny" if "canny" in args else "iso-Al-16") + ".h5"
        r = invoke("segment", folder / "dataset.h5", "-o", folder / name, "--quiet", *args)
        assert r.exit_code == 0, r.output
    return folder


def test_score_segmentation_files_find_their_dataset(seg_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recorded dataset path is absolute; no --truth needed
    out = tmp_path / "s.json"
    r = invoke("score", seg_files / "seg_canny.h5", seg_files / "seg_iso-Al-16.h5", "--json", out)
    assert r.exit_code == 0, r.output
    case = json.loads(out.read_text())
    assert set(case["scores"]) == {"oracle", "bayes", "truth-mesh", "canny", "iso"}
    for method in ("canny", "iso"):
        scores = case["scores"][method]
        assert 0.5 < scores["accuracy"] <= 1.0 and "interface_distance_mean" in scores
        assert scores["excess_error"] == pytest.approx(
            (1 - scores["accuracy"]) / (1 - case["scores"]["bayes"]["accuracy"]))
    assert set(case["profiles"]) == {"truth", "truth-mesh", "canny", "iso"}


def test_segmentation_of_another_dataset_is_rejected(seg_files, files):
    line = cli_error("score", seg_files / "seg_canny.h5", "--truth", files / "dataset.h5")
    assert "labels but the dataset has 3000 ions" in line


def test_score_params_file(files, tmp_path):
    params = tmp_path / "score.toml"
    params.write_text("[score]\nboundary_margin = 2.0\nprofile_window = 2.0\n")
    out = tmp_path / "p.json"
    r = invoke("score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy",
               "--mesh", files / "exact.ply", "--params", params, "--json", out, "--quiet")
    assert r.exit_code == 0, r.output
    case = json.loads(out.read_text())
    assert case["score_params"]["boundary_margin"] == 2.0
    # a 2 nm rim of the 10 x 10 nm interface squares is now excluded: 6 x 6 of 10 x 10 nm2
    assert case["scores"]["user"]["interface_area_excluded_fraction"] == pytest.approx(0.64)
    params.write_text("plateau = [9.0, 5.0]\n")
    assert "score.plateau: MIN MAX must be finite distances (nm) with 0 <= MIN < MAX, got 9 5" in cli_error(
        "score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy", "--params", params)
    params.write_text("windw = 2.0\n")
    assert "unknown key 'score.windw'" in cli_error(
        "score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy", "--params", params)


def test_interface_shift_sign_follows_the_mesh():
    """A mesh moved 0.3 nm into the matrix (precipitate too large) gives a positive shift."""
    from synthapt.scoring.case_scores import UserSegmentation, score_case

    ds = slab_dataset()
    shifts = {}
    for move in (0.3, -0.3):
        case = score_case({"m": UserSegmentation(ds.truth.phase, slab_mesh(move))}, ds)
        shifts[move] = case.scores["m"]["interface_shift"]
        assert case.scores["m"]["interface_distance_mean"] == pytest.approx(0.3)
    assert shifts[0.3] == pytest.approx(0.3, abs=0.1)
    assert shifts[-0.3] == pytest.approx(-0.3, abs=0.1)


def test_inward_mesh_is_flipped_and_scores_like_the_outward_one(files, tmp_path):
    scores = {}
    for name in ("exact.ply", "inward.obj"):
        out = tmp_path / f"{name}.json"
        r = invoke("score", "--truth", files / "dataset.h5", "--labels", files / "perfect.npy",
                   "--mesh", files / name, "--json", out)
        assert r.exit_code == 0, r.output
        case = json.loads(out.read_text())
        assert case["inputs"]["user.mesh_flipped"] is (name == "inward.obj")
        assert ("scored with the mesh flipped" in r.output) is (name == "inward.obj")
        scores[name] = case["scores"]["user"]
    assert scores["inward.obj"] == scores["exact.ply"]
    assert scores["exact.ply"]["plateau_error"] < 5.0
