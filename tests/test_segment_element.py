"""Choice of the imaged element: partitioning contrast over counting noise, trace elements
left out unless asked for, names in any letter case."""

import numpy as np
import pytest
from segment_phantoms import phantom, slab_distance

from synthapt.data import MATRIX
from synthapt.errors import SynthaptError
from synthapt.segmentation.edge import segment
from synthapt.segmentation.element import block_counts, choose_element, contrast_over_noise, match_elements
from synthapt.segmentation.iso import iso_segment
from synthapt.segmentation.params import SegmentParams
from synthapt.spatial.voxel import voxelize


def with_trace_carbon(ds, at_pct=0.08, seed=11):
    """``ds`` with a random ``at_pct`` of its ions turned into C (uniform, pure counting noise)."""
    rng = np.random.default_rng(seed)
    species = ds.species.copy()
    species[rng.uniform(size=ds.n_ions) < at_pct / 100.0] = 2
    return ds.replace(species=species, species_names=("Ni", "Al", "C"))


@pytest.fixture(scope="module")
def slab_with_carbon():
    return with_trace_carbon(phantom(20.0, slab_distance(7.0, 13.0), noise=0.4, seed=3))


@pytest.mark.parametrize("shape, voxel", [((2, 9, 8, 7), 0.5), ((2, 10, 11, 13), 0.3), ((1, 5, 5, 5), 1.0)])
def test_block_counts_sum_whole_and_partial_blocks(shape, voxel):
    counts = np.random.default_rng(1).poisson(2.0, shape).astype(np.float32)
    k = round(1.0 / voxel)
    padded = np.pad(counts, [(0, 0)] + [(0, -n % k) for n in shape[1:]])
    e, nx, ny, nz = padded.shape
    expected = padded.reshape(e, nx // k, k, ny // k, k, nz // k, k).sum(axis=(2, 4, 6)).reshape(e, -1)
    np.testing.assert_array_equal(block_counts(counts, voxel), expected)


def test_contrast_over_noise_is_zero_for_counting_noise_and_large_for_two_phases():
    rng = np.random.default_rng(0)
    total = np.full(4000, 80.0)
    uniform = rng.binomial(80, 0.15, 4000).astype(float)
    ratio, contrast, noise = contrast_over_noise(uniform, total)
    assert noise == pytest.approx(100 * np.sqrt(0.15 * 0.85 / 80), rel=0.05)
    assert ratio < 0.35  # only the scatter of the variance estimate
    two_phase = rng.binomial(80, np.where(np.arange(4000) < 1000, 0.25, 0.10)).astype(float)
    ratio, contrast, noise = contrast_over_noise(two_phase, total)
    # true spread: 15 at.% x sqrt(0.25 x 0.75) = 6.5 at.%
    assert contrast == pytest.approx(6.5, abs=0.4) and ratio > 1.5


def test_chooser_picks_the_partitioning_element_not_the_noisy_trace_element(slab_with_carbon):
    grid = voxelize(slab_with_carbon, 0.5, 0.75)
    counts = block_counts(grid.counts, grid.voxel_size)
    assert counts.shape[0] == 3 and counts.sum() == pytest.approx(grid.counts.sum())
    elements, ratio, why = choose_element(counts, grid.elements)
    assert elements == ("Al",) and ratio > 0.8
    assert "trace (< 0.5 at.%, not considered): C" in why and why.startswith("largest partitioning contrast")
    # even when trace elements are allowed, C's contrast is mere counting noise
    elements, _, why = choose_element(counts, grid.elements, trace_at_pct=0.0)
    assert elements == ("Al",)
    c_ratio = float(why.split("C ")[1].split(" x")[0])
    assert c_ratio < 0.5
    # asked for: any letter case, spelled as in the dataset
    assert choose_element(counts, grid.elements, ("c",))[0] == ("C",)
    assert choose_element(counts, grid.elements, ("AL", "c"))[0] == ("Al", "C")


def test_segment_without_element_images_the_partitioning_element(slab_with_carbon):
    result = segment(slab_with_carbon, SegmentParams(detector="sobel"))
    assert result.elements == ("Al",) and result.interface_found
    assert np.mean(result.labels == slab_with_carbon.truth.phase) >= 0.95
    stats = result.phase_composition
    assert stats["element_choice"].startswith("largest partitioning contrast") and "C" in stats["element_choice"]
    assert stats["element_contrast_over_noise"] > 0.8


def test_uniform_solid_solution_still_has_no_interface():
    ds = with_trace_carbon(phantom(16.0, None, seed=2))
    result = segment(ds, SegmentParams(detector="sobel"))
    assert result.elements == ("Al",)  # binary tie: the less abundant element
    assert result.phase_composition["element_contrast_over_noise"] < 0.5
    assert not result.interface_found and result.message.startswith("no interface found")
    assert (result.labels == MATRIX).all()


def test_element_names_ignore_letter_case(slab_with_carbon):
    assert match_elements("ni", ("Ni", "Al")) == ("Ni",)
    with pytest.raises(SynthaptError, match="element Cu: not among the dataset's elements Ni, Al"):
        match_elements(("al", "Cu"), ("Ni", "Al"))
    result = iso_segment(slab_with_carbon, "al", 17.5)
    assert result.elements == ("Al",) and result.interface_found
    assert result.phase_composition["element_choice"].startswith("given")
