"""Method variants that isolate what the edge detector decides: "<detector>-edge" (refine = 0,
the detector's own boundary), the shared edge field of a refined/unrefined pair, and "iso-auto"
(an iso-surface at the midpoint of the two phase compositions, no user value)."""

import json

import numpy as np
import pytest
from cli_run import assert_clean_error, synthapt
from segment_phantoms import phantom, slab_distance, sphere_distance

import synthapt.campaign.case as case_module
from synthapt.campaign.case import SegmentationPlan, segmentation_steps
from synthapt.data import MATRIX, PRECIPITATE
from synthapt.edges import CachedDetector, get_detector
from synthapt.errors import ConfigError
from synthapt.io import save_dataset
from synthapt.segmentation.edge import segment
from synthapt.segmentation.iso import auto_iso_segment
from synthapt.segmentation.methods import method_params, run_method
from synthapt.segmentation.params import METHOD_NAMES, SegmentParams
from synthapt.segmentation.result import read_segmentation


class CountingDetector:
    """A real detector that counts the slices it is asked to process."""

    def __init__(self, name: str) -> None:
        self.detector = get_detector(name)
        self.slices = 0

    def detect(self, images):
        self.slices += len(images)
        return self.detector.detect(images)


@pytest.fixture(scope="module")
def sphere():
    return phantom(14.0, sphere_distance((7, 7, 7), 4.0), noise=0.3, seed=3)


@pytest.fixture(scope="module")
def slab():
    """Al-enriched slab 4 < z < 8 nm (25 at.% Al) in a 10 at.% Al matrix, 12 nm box."""
    return phantom(12.0, slab_distance(4.0, 8.0), noise=0.3, seed=0)


def test_method_names_hold_the_variants():
    for name in ("hed-edge", "canny-edge", "sobel-edge", "learned-edge", "iso-auto"):
        assert name in METHOD_NAMES
    assert method_params("canny-edge", SegmentParams()) == SegmentParams(detector="canny", refine=0.0)
    assert method_params("canny", SegmentParams(refine=0.7)) == SegmentParams(detector="canny", refine=0.7)
    assert method_params("iso-auto", SegmentParams(refine=0.7)) == SegmentParams(refine=0.7)


@pytest.mark.parametrize("detector", ["sobel", "canny"])
def test_edge_variant_is_the_pipeline_without_refinement(sphere, detector):
    params = SegmentParams(elements=("Al",))
    variant = run_method(f"{detector}-edge", sphere, method_params(f"{detector}-edge", params))
    plain = segment(sphere, SegmentParams(detector=detector, elements=("Al",), refine=0.0))
    refined = run_method(detector, sphere, method_params(detector, params))
    assert variant.method == f"{detector}-edge" and variant.params["refine"] == 0.0
    assert variant.params["detector"] == detector and refined.params["refine"] == 1.0
    np.testing.assert_array_equal(variant.labels, plain.labels)
    np.testing.assert_array_equal(variant.voxel_labels, plain.voxel_labels)
    np.testing.assert_array_equal(variant.edge_field, refined.edge_field)
    # the refinement moves the boundary: some ions change side, most do not
    changed = int(np.sum(variant.labels != refined.labels))
    assert 0 < changed < 0.05 * sphere.n_ions


def test_refined_and_edge_variant_share_one_edge_field(sphere):
    params = SegmentParams(detector="sobel", elements=("Al",))
    alone = CountingDetector("sobel")
    separate = [segment(sphere, params, detector=alone),
                segment(sphere, SegmentParams(detector="sobel", elements=("Al",), refine=0.0))]
    shared = CachedDetector(CountingDetector("sobel"))
    pair = [run_method("sobel", sphere, params, detector=shared),
            run_method("sobel-edge", sphere, method_params("sobel-edge", params), detector=shared)]
    assert shared.detector.slices == alone.slices == sum(separate[0].edge_field.shape)
    for one, other in zip(pair, separate):
        np.testing.assert_array_equal(one.labels, other.labels)
        np.testing.assert_array_equal(one.edge_field, other.edge_field)
    with pytest.raises(ConfigError, match="iso-auto: uses no edge detector"):
        run_method("iso-auto", sphere, params, detector=shared)


def test_campaign_steps_run_each_detector_once_per_case(sphere, monkeypatch):
    made = []

    def counting(params):
        made.append(CountingDetector(params.detector))
        return made[-1]

    monkeypatch.setattr(case_module, "make_detector", counting)
    plan = SegmentationPlan(methods=("sobel", "canny", "sobel-edge", "iso-auto"), iso_values=(15.0,),
                            params=SegmentParams(elements=("Al",)))
    steps = segmentation_steps(plan)
    assert [name for name, _ in steps] == ["sobel", "canny", "sobel-edge", "iso-auto", "iso-Al-15"]
    results = {name: run(sphere) for name, run in steps}
    # one shared sobel detector; canny (no variant in the plan) makes its own inside segment
    assert [d.detector.__class__.__name__ for d in made] == ["SobelDetector"]
    assert made[0].slices == sum(results["sobel"].edge_field.shape)
    alone = segment(sphere, SegmentParams(detector="sobel", elements=("Al",), refine=0.0))
    np.testing.assert_array_equal(results["sobel-edge"].labels, alone.labels)
    assert results["sobel-edge"].method == "sobel-edge" and results["iso-auto"].method == "iso-auto"


def test_iso_auto_finds_the_slab_at_the_mid_composition(slab):
    result = auto_iso_segment(slab, SegmentParams())
    assert result.message == "" and result.method == "iso-auto" and result.elements == ("Al",)
    level = result.params["iso_value"]
    comp = result.phase_composition
    assert comp["plateau_matrix_at_pct"] < level < comp["plateau_precipitate_at_pct"]
    assert comp["plateau_matrix_at_pct"] == pytest.approx(10.0, abs=1.0)  # counting noise ~0.3
    assert comp["plateau_precipitate_at_pct"] == pytest.approx(25.0, abs=1.5)  # ~0.5 at.%
    assert level == pytest.approx(17.5, abs=1.0)
    assert comp["element_choice"].startswith("largest partitioning contrast")
    z = result.mesh.vertices[:, 2]
    lower, upper = z[z < 6.0], z[z >= 6.0]
    assert abs(np.median(lower) - 4.0) < 0.3 and abs(np.median(upper) - 8.0) < 0.3
    assert np.mean(result.labels == slab.truth.phase) > 0.93


@pytest.mark.parametrize("seed", [0, 1])
def test_iso_auto_finds_no_interface_in_a_solid_solution(seed):
    uniform = phantom(10.0, None, c_matrix=0.15, seed=seed)
    result = auto_iso_segment(uniform, SegmentParams())
    assert result.mesh is None and result.message.startswith("no interface found (p=")
    assert (result.labels == MATRIX).all() and not (result.voxel_labels == PRECIPITATE).any()
    assert abs(result.phase_composition["contrast_at_pct"]) < 2.0


def test_cli_segments_with_the_variants_and_scores_them(tmp_path):
    ds = phantom(8.0, slab_distance(2.5, 5.5), noise=0.3, seed=4)
    save_dataset(tmp_path / "ds.h5", ds)
    for method in ("hed-edge", "iso-auto"):
        proc = synthapt("segment", tmp_path / "ds.h5", "-o", tmp_path / f"{method}.h5", "--method", method,
                        "--quiet")
        assert proc.returncode == 0, proc.stderr
        seg = read_segmentation(tmp_path / f"{method}.h5")
        assert seg.method == method and seg.elements == ("Al",) and seg.interface_found
    assert read_segmentation(tmp_path / "hed-edge.h5").params["refine"] == 0.0
    proc = synthapt("score", tmp_path / "hed-edge.h5", tmp_path / "iso-auto.h5", "--json",
                    tmp_path / "scores.json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    scores = json.loads((tmp_path / "scores.json").read_text())["scores"]
    assert {"hed-edge", "iso-auto"} <= set(scores)
    for method in ("hed-edge", "iso-auto"):  # the scores are those of the files' own labels
        labels = read_segmentation(tmp_path / f"{method}.h5").labels
        assert scores[method]["accuracy"] == pytest.approx(np.mean(labels == ds.truth.phase))
        assert scores[method]["accuracy"] > 0.85
    line = assert_clean_error(synthapt("segment", tmp_path / "ds.h5", "-o", tmp_path / "x.h5",
                                       "--method", "hde", "--quiet"))
    assert "--method: unknown method 'hde'" in line and "hed-edge" in line and "iso-auto" in line
