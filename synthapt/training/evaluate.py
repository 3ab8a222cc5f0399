"""Held-out evaluation of edge detectors through the full segmentation pipeline.

Held-out cases differ from the training data in seed (``HELDOUT_SEED``), in geometry kind
(ellipsoids and a slab-plus-sphere union, never drawn in training), and sit at the issue's
operating point: 0.3 nm lateral / 0.1 nm depth resolution, detection efficiency 0.5-0.8,
Ni-Al 8 / 24 at.% Al, 14 nm boxes. Single-phase cases (uniform solid solutions at several
compositions, sizes and efficiencies) must come out as "no interface".

Every detector is run with the default segmentation (``refine = 1`` nm) and with ``refine = 0``
(the detector's own boundary); per-ion accuracy and Dice are scored against the true phase.
``oracle`` is the true geometry evaluated at the observed (reconstructed) ion positions.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from synthapt.data import PRECIPITATE
from synthapt.edges.detectors import CachedDetector
from synthapt.errors import SynthaptError
from synthapt.training.data import emulate_sample
from synthapt.training.pipeline import segment_scores

HELDOUT_SEED = 7_000_000
EFFICIENCIES = (0.5, 0.65, 0.8)
REFINES = (1.0, 0.0)


def _base(index: int, efficiency: float, geometry: dict, box: float = 14.0, matrix: float = 8.0,
          precipitate: float = 24.0) -> dict[str, Any]:
    return {"index": index, "seed": HELDOUT_SEED + index, "box_nm": [box] * 3, "geometry": geometry,
            "system": "Ni-Al", "matrix_solute_at_pct": matrix, "precipitate_solute_at_pct": precipitate,
            "efficiency": efficiency, "lateral_sigma_nm": 0.3, "depth_sigma_nm": 0.1}


def heldout_cases() -> list[dict[str, Any]]:
    """Two-phase held-out cases: 2 ellipsoid layouts and 1 slab+sphere union, at each efficiency."""
    geometries = {
        "ellipsoid": {"kind": "ellipsoids", "centers_nm": [[7.0, 7.0, 7.0]], "semi_axes_nm": [[4.0, 2.5, 1.8]]},
        "ellipsoids-2": {"kind": "ellipsoids", "centers_nm": [[4.5, 5.0, 7.0], [9.8, 9.5, 6.5]],
                         "semi_axes_nm": [[2.2, 3.0, 1.6], [1.8, 1.8, 3.2]]},
        "slab+sphere": {"kind": "union", "parts": [
            {"kind": "layered", "normal": [0.0, 0.6, 0.8], "thickness_nm": 2.5, "center_nm": 5.0},
            {"kind": "spheres", "radii_nm": [2.2], "centers_nm": [[8.0, 9.0, 10.5]]}]},
    }
    cases = []
    for name, geometry in geometries.items():
        for efficiency in EFFICIENCIES:
            cases.append({**_base(len(cases), efficiency, geometry), "name": f"{name} eff {efficiency:g}"})
    return cases


def single_phase_cases() -> list[dict[str, Any]]:
    """Uniform solid solutions: 3 compositions x 2 box sizes x 2 efficiencies (no interface)."""
    cases = []
    for solute in (5.0, 12.0, 20.0):
        for box in (10.0, 16.0):
            for efficiency in (0.4, 0.8):
                cases.append({**_base(100 + len(cases), efficiency, {"kind": "uniform"}, box, solute, solute),
                              "name": f"uniform {solute:g} at.% {box:g} nm eff {efficiency:g}"})
    return cases


def evaluate(cases: list[dict[str, Any]], detectors: dict[str, Any], refines: tuple[float, ...] = REFINES,
             progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One row per (case, detector, refine) and one ``oracle`` row per case: name, kind,
    efficiency, method, refine, accuracy, dice, interface_found, message. ``detectors``: name ->
    object with ``detect`` (e.g. ``synthapt.edges.get_detector("canny", spread=1.0)``)."""
    rows = []
    for case in cases:
        dataset, geometry = emulate_sample({**case, "voxel_size_nm": 0.5, "delocalization_nm": 0.75})
        common = {"case": case["name"], "kind": case["geometry"]["kind"], "efficiency": case["efficiency"]}
        if geometry is not None:
            oracle = np.where(geometry.signed_distance(dataset.positions) > 0, PRECIPITATE, 0)
            truth = dataset.truth.phase
            keep = truth >= 0
            rows.append({**common, "method": "oracle", "refine": float("nan"),
                         "accuracy": float((oracle[keep] == truth[keep]).mean()), "dice": float("nan"),
                         "interface_found": True, "message": ""})
        for name, detector in detectors.items():
            cached = CachedDetector(detector)
            for refine in refines:
                try:
                    scores = segment_scores(dataset, name, refine, detector=cached)
                except SynthaptError as exc:
                    scores = {"accuracy": float("nan"), "dice": float("nan"), "interface_found": False,
                              "message": f"failed: {exc}"}
                rows.append({**common, "method": name, "refine": refine, "accuracy": scores["accuracy"],
                             "dice": scores.get("dice", float("nan")), "interface_found": scores["interface_found"],
                             "message": scores["message"]})
            if progress is not None:
                progress(f"{case['name']}: {name}")
    return rows
