"""The learned edge detector: packaged weights, training data, training loop, pipeline labels, CLI."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from segment_phantoms import phantom, slab_distance, sphere_distance

from synthapt.edges import DETECTORS, EdgeUNet, get_detector, load_learned
from synthapt.edges.learned import DEFAULT_WEIGHTS, DEFAULT_WEIGHTS_SHA256, weights_record
from synthapt.provenance import sha256_file
from synthapt.errors import ConfigError, SynthaptError
from synthapt.segmentation.edge import segment
from synthapt.segmentation.params import EDGE_METHODS as EDGE_DETECTORS, SegmentParams
from synthapt.training import TrainingSpec, edge_target, make_training_data, read_training_data
from synthapt.training.data import NO_INTERFACE_SDF, draw_sample_params
from synthapt.training.train import TrainParams, train

DATA = Path(__file__).parent / "data"
TINY = dict(seed=5, specimens=3, single_phase_fraction=0.0, geometries={"layered": 1.0, "spheres": 1.0},
            box=(8.0, 8.0), voxel_size=(0.5, 0.5))


def test_packaged_weights_load_and_reproduce_the_fixture():
    assert EDGE_DETECTORS == tuple(DETECTORS)  # the torch-free copy of the registry's names
    assert DEFAULT_WEIGHTS.stat().st_size <= 10_000_000
    assert sha256_file(DEFAULT_WEIGHTS) == DEFAULT_WEIGHTS_SHA256
    model = load_learned()
    assert model.n_parameters() == weights_record()["trainable_parameters"]
    fixture = np.load(DATA / "learned_v1_reference.npz")
    out = get_detector("learned", num_threads=1).detect(fixture["images"])
    np.testing.assert_allclose(out, fixture["edges"], atol=2e-5)
    assert out.shape == fixture["images"].shape and out.dtype == np.float32


def test_weights_checksum_and_format_are_enforced(tmp_path):
    copy = tmp_path / "w.npz"
    shutil.copyfile(DEFAULT_WEIGHTS, copy)
    assert load_learned(copy, sha256=DEFAULT_WEIGHTS_SHA256).n_parameters() > 0
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(SynthaptError, match="SHA-256"):
        load_learned(copy, sha256=DEFAULT_WEIGHTS_SHA256)
    (tmp_path / "junk.npz").write_bytes(b"not a weights file")
    with pytest.raises(SynthaptError, match="not a learned edge-detector weights file"):
        load_learned(tmp_path / "junk.npz")
    with pytest.raises(SynthaptError, match="not found"):
        load_learned(tmp_path / "missing.npz")
    with pytest.raises(ConfigError, match="edges.learned.pad"):
        get_detector("learned", pad=-1)


def test_detector_contract_and_any_slice_size():
    torch.manual_seed(0)
    model = EdgeUNet((4, 8, 8))
    images = np.random.default_rng(1).random((5, 13, 7)).astype(np.float32)
    before = images.copy()
    done = []
    out = get_detector("learned", model=model, batch_size=2, num_threads=1).detect(images, progress=done.append)
    assert out.shape == (5, 13, 7) and 0 <= out.min() and out.max() <= 1
    assert done == [2, 2, 1]
    np.testing.assert_array_equal(images, before)
    one = get_detector("learned", model=model, batch_size=1).detect(images[:1])
    np.testing.assert_allclose(one, out[:1], atol=1e-6)


def _accuracy(ds, detector, refine):
    result = segment(ds, SegmentParams(detector=detector, refine=refine))
    return float(np.mean(result.labels == ds.truth.phase)), result


@pytest.mark.parametrize("geometry", ["sphere", "slab"])
def test_learned_labels_analytic_phantoms_at_least_as_well_as_canny(geometry):
    distance = sphere_distance((8, 8, 8), 4.0) if geometry == "sphere" else slab_distance(5.5, 10.5)
    ds = phantom(16.0, distance, noise=0.4, seed=3)
    # the detector's own boundary (refine = 0): learned 0.9833 / 0.9563, Canny 0.9808 / 0.9546
    learned, result = _accuracy(ds, "learned", 0.0)
    canny, _ = _accuracy(ds, "canny", 0.0)
    assert result.interface_found and result.method == "learned"
    assert learned >= canny + 0.001 and learned > 0.95
    # default refinement: the composition redraws the boundary, detectors agree to < 0.1 % of ions
    learned, _ = _accuracy(ds, "learned", 1.0)
    canny, _ = _accuracy(ds, "canny", 1.0)
    assert abs(learned - canny) < 0.001


def test_uniform_solid_solution_gives_no_interface():
    for c in (0.08, 0.2):
        result = segment(phantom(14.0, None, c_matrix=c, seed=4), SegmentParams(detector="learned"))
        assert not result.interface_found and result.message.startswith("no interface found")
        assert not result.labels.any()


def test_training_data_is_deterministic_and_records_its_parameters(tmp_path):
    spec = TrainingSpec(**TINY)
    make_training_data(spec, tmp_path / "a")
    make_training_data(spec, tmp_path / "b")
    for name in ("index.json", "sample_00000.npz", "sample_00002.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    samples, index = read_training_data(tmp_path / "a")
    assert len(samples) == 3 and index["spec"]["seed"] == 5
    for i, sample in enumerate(samples):
        assert sample["params"] == {**draw_sample_params(spec, i), **{k: sample["params"][k] for k in
                                    ("grid_shape", "elements", "origin_nm", "ions")}}
        assert sample["image"].shape == tuple(sample["params"]["grid_shape"])
        assert sample["params"]["elements"] == ["Al"] and 0 <= sample["image"].min() <= sample["image"].max() <= 1
        np.testing.assert_allclose(sample["edge"], edge_target(sample["sdf"], 0.5))
    # a sample's true interface: the target is 1 on it and exp(-2) at 1.5 voxels from it
    np.testing.assert_allclose(edge_target(np.array([0.0, 0.75, NO_INTERFACE_SDF]), 0.5), [1.0, np.exp(-2), 0.0])
    with zipfile.ZipFile(tmp_path / "a" / "sample_00001.npz") as archive:  # no clock in the bytes
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with pytest.raises(SynthaptError, match="already exists"):
        make_training_data(spec, tmp_path / "a")


def test_training_runs_end_to_end_reduces_the_loss_and_is_reproducible(tmp_path):
    make_training_data(TrainingSpec(**TINY), tmp_path / "data")
    params = TrainParams(channels=(4, 8, 8), steps=60, batch_size=6, crop=16, eval_every=30,
                         learning_rate=5e-3, device="cpu", seed=2)
    record = train(tmp_path / "data", tmp_path / "run1", params)
    rows = (tmp_path / "run1" / "loss.csv").read_text().splitlines()
    losses = [float(r.split(",")[1]) for r in rows[1:]]
    assert len(losses) == 60 and np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    val = [r.split(",")[2] for r in rows[1:] if r.split(",")[2]]
    assert len(val) == 2
    assert {p.name for p in (tmp_path / "run1").iterdir()} == {"model.npz", "loss.csv", "loss.png", "record.json"}
    assert json.loads((tmp_path / "run1" / "record.json").read_text())["sha256"] == record["sha256"]
    model = load_learned(tmp_path / "run1" / "model.npz", sha256=record["sha256"])
    assert model.channels == (4, 8, 8)
    again = train(tmp_path / "data", tmp_path / "run2", params)
    assert again["sha256"] == record["sha256"]  # same seed and data -> identical weights


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "synthapt", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("args, message", [
    (["train-data", "{tmp}/missing.toml", "--out", "{tmp}/o"], "missing.toml: file not found"),
    (["train-data", "{tmp}/bad.toml", "--out", "{tmp}/o"], "training.box"),
    (["train-data", "{tmp}/nokey.toml", "--out", "{tmp}/o"], "unknown key"),
    (["train-data", "default", "--out", "{tmp}/nodir/o"], "does not exist"),
    (["train", "{tmp}/nodata", "--out", "{tmp}/o"], "not a training-data folder"),
    (["train", "{tmp}", "--out", "{tmp}/o", "--network", "vgg"], "train.network"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, args, message):
    (tmp_path / "bad.toml").write_text("[training]\nbox = [12.0, 3.0]\n")
    (tmp_path / "nokey.toml").write_text("[training]\nboxes = [12.0, 13.0]\n")
    result = _cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not (tmp_path / "o").exists()
