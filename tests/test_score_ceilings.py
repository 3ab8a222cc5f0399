"""The reference methods (oracle, bayes, truth-mesh) in scores: excess error, MCC, the
true-interface proxigram as the profile reference, and a perfect method scoring perfectly."""

import math

import numpy as np
import pytest

from synthapt.apt import emulate
from synthapt.apt.params import (DetectorParams, EfficiencyParams, EmulationParams,
                                 ResolutionParams, ShapeParams)
from synthapt.config import from_dict
from synthapt.data import Specimen
from synthapt.errors import SynthaptError
from synthapt.md.config import SimulationConfig
from synthapt.md.generator import prepare_structure
from synthapt.scoring.case_scores import UserSegmentation, score_case
from synthapt.scoring.ceilings import REFERENCES, reference_segmentations, truth_mesh, with_excess_error
from synthapt.scoring.labels import label_scores

ALLOY = {"system": "Ni-Al", "matrix": {"Al": 8.0}, "precipitate": {"Al": 24.0},
         "lattice_parameter": 0.356}


@pytest.fixture(scope="module")
def slab_dataset():
    config = from_dict(SimulationConfig, {"seed": 3, "structure": {
        "box": [5.0, 5.0, 10.0], "geometry": {"kind": "layered", "thicknesses": [4.0], "centers": [5.0]}},
        "alloy": ALLOY})
    p = prepare_structure(config)
    spec = Specimen(p.positions, p.species, p.elements, p.precipitate.astype(np.int8), p.box, p.geometry)
    params = EmulationParams(shape=ShapeParams(kind="box"), efficiency=EfficiencyParams(enabled=False),
                             detector=DetectorParams(enabled=False),
                             resolution=ResolutionParams(lateral_sigma=0.3, depth_sigma=0.3))
    return emulate(spec, params, seed=2)


def test_mcc_does_not_reward_everything_matrix():
    truth = np.array([0] * 90 + [1] * 10)
    lazy = label_scores(np.zeros(100, np.int8), truth)
    assert lazy["accuracy"] == pytest.approx(0.9) and lazy["mcc"] == 0.0
    assert label_scores(truth.astype(np.int8), truth)["mcc"] == pytest.approx(1.0)
    flipped = label_scores((1 - truth).astype(np.int8), truth)
    assert flipped["mcc"] == pytest.approx(-1.0)


def test_excess_error_is_relative_to_bayes_and_leaves_inputs_alone():
    scores = {"bayes": {"accuracy": 0.98, "dice": 0.9}, "m": {"accuracy": 0.96, "dice": 0.8}}
    out = with_excess_error(scores)
    assert out["bayes"]["excess_error"] == pytest.approx(1.0)
    assert out["m"]["excess_error"] == pytest.approx(2.0)
    assert out["m"]["excess_error_dice"] == pytest.approx(2.0)
    assert out["m"]["bayes_accuracy"] == 0.98
    assert "excess_error" not in scores["m"]
    perfect = with_excess_error({"bayes": {"accuracy": 1.0, "dice": 1.0}, "m": {"accuracy": 1.0}})
    assert math.isnan(perfect["m"]["excess_error"])


def test_references_in_a_case_and_a_perfect_method_scores_perfectly(slab_dataset):
    ds = slab_dataset
    refs = reference_segmentations(ds)
    assert tuple(refs) == REFERENCES
    mesh = refs["truth-mesh"].mesh
    # the slab's two faces across the 5 x 5 nm specimen box, clipped to the specimen: 50 nm^2
    # (not the larger extent of the blurred ions)
    assert mesh.area == pytest.approx(2 * 5.0 * 5.0, rel=0.02)
    perfect = UserSegmentation(refs["bayes"].labels, mesh, "perfect")
    record = score_case({"perfect": perfect}, ds, name="slab")
    s = record.scores
    assert list(s)[:3] == list(REFERENCES)
    assert s["bayes"]["excess_error"] == pytest.approx(1.0)
    assert s["perfect"]["excess_error"] == pytest.approx(1.0)  # the Bayes rule's own labels
    # Bayes never loses to the oracle beyond noise on a flat interface
    assert s["bayes"]["accuracy"] >= s["oracle"]["accuracy"] - 3e-3
    # the true interface: zero distance, and the profile reference is its own proxigram
    assert s["truth-mesh"]["interface_distance_mean"] < 0.02
    assert s["perfect"]["profile_rmse"] == pytest.approx(0.0, abs=1e-9)
    assert s["perfect"]["plateau_error"] == pytest.approx(0.0, abs=1e-9)
    # the instrument's own broadening is a property of the dataset: > 0 with 0.3 nm blur
    assert s["truth-mesh"]["instrument_profile_rmse"] > 0.1
    assert "truth-mesh" in record.profiles and "truth" in record.profiles


def test_references_need_the_true_geometry(slab_dataset):
    real = slab_dataset.replace(truth=None)
    with pytest.raises(SynthaptError, match="ceilings .* need the true geometry"):
        reference_segmentations(real)
    with pytest.raises(SynthaptError, match="ceilings"):
        truth_mesh(real)
