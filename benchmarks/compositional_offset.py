"""Print the compositional offset (nm) of every geometry kind and alloy system on lattice builds
(no MD): the 50 % crossing of the solute profile vs the signed distance to the geometry.

    PYTHONPATH=. python benchmarks/compositional_offset.py [--box 8]

Layered slabs are also measured face by face (lower / upper face of the slab).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

from synthapt.config import from_dict
from synthapt.md.config import SimulationConfig
from synthapt.md.generator import prepare_structure
from synthapt.structures.interface import compositional_offset

# the geometries and alloys of tests/test_truth_interface.py
_TESTS = Path(__file__).resolve().parent.parent / "tests" / "test_truth_interface.py"
_spec = importlib.util.spec_from_file_location("test_truth_interface", _TESTS)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
GEOMETRIES, ALLOYS = _module.GEOMETRIES, _module.ALLOYS


def prepared(geometry: dict, alloy: dict, box: float, seed: int = 3):
    config = from_dict(SimulationConfig, {"seed": seed, "structure": {"box": [box] * 3,
                                          "geometry": geometry}, "alloy": alloy})
    return prepare_structure(config)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--box", type=float, default=8.0)
    args = parser.parse_args()
    for alloy_name, alloy in ALLOYS.items():
        for name, geometry in GEOMETRIES.items():
            p = prepared(geometry, alloy, args.box)
            solute = p.elements.index("Al")
            s = p.geometry.signed_distance(p.positions)
            line = f"{alloy_name:6s} {name:10s} offset {compositional_offset(p.positions, p.species, s, solute):+.3f} nm"
            if name == "layered":
                z = p.positions[:, 2]
                center = p.geometry.centers[0]
                lower = z < center
                faces = [compositional_offset(p.positions[m], p.species[m], s[m], solute)
                         for m in (lower, ~lower)]
                line += f"  (lower face {faces[0]:+.3f}, upper face {faces[1]:+.3f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
