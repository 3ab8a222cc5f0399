"""Geometry tables from a config -> explicit geometries in a given periodic box.

A ``[structure.geometry]`` table has a ``kind``:

- ``"layered"``: a ``Layered`` geometry (``period`` defaults to the box length along an
  axis-aligned normal, so a single slab repeats with the box);
- ``"isolated"``: an ``IsolatedSpec``; particles are placed from the seed -> ``Particles``;
- ``"interconnected"``: an ``InterconnectedSpec`` -> ``Gyroid`` with the level solved for the
  fraction;
- ``"union"`` / ``"intersection"`` (``parts = [...]``) and ``"complement"`` (``part = {...}``) of
  any of these;
- any explicit geometry kind (``particles``, ``gyroid``, ...) as written by ``Geometry.to_dict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthapt.config import from_dict
from synthapt.errors import ConfigError
from synthapt.structures.composite import Complement, Intersection, Union
from synthapt.structures.geometry import Geometry, geometry_from_dict
from synthapt.structures.interconnected import InterconnectedSpec
from synthapt.structures.isolated import IsolatedSpec, place_particles
from synthapt.structures.layered import Layered


def _layered(spec: dict, box: np.ndarray, where: str) -> Layered:
    body = {k: v for k, v in spec.items() if k != "kind"}
    layered = from_dict(Layered, body, where)
    n = np.abs(layered.unit_normal)
    axis = int(np.argmax(n))
    if np.isclose(n[axis], 1.0):
        # axis-aligned: no period = one repeat per box; a period within 5 % of a whole fraction
        # of the box (the box is rounded to whole fcc cells) is snapped to it
        repeats = 1 if layered.period is None else max(1, round(box[axis] / layered.period))
        period = float(box[axis]) / repeats
        if layered.period is None or abs(period - layered.period) <= 0.05 * layered.period:
            layered = Layered(layered.normal, layered.thicknesses, layered.centers, period)
    if not layered.periodic_in(box):
        raise ConfigError(f"{where}.period: the layers do not repeat with the periodic box "
                          f"{tuple(float(b) for b in box)} nm (n_i * L_i / period must be whole)")
    return layered


def check_geometry_spec(spec: Any, box: np.ndarray, where: str = "structure.geometry") -> None:
    """Validate a geometry table for ``box`` (nm) without placing anything (ConfigError)."""
    _build(spec, box, None, where)


def build_geometry(spec: Any, box: np.ndarray, rng: np.random.Generator,
                   where: str = "structure.geometry") -> Geometry:
    """Explicit geometry for the table ``spec`` in the periodic ``box`` (nm), random parts
    (particle placement) drawn from ``rng``."""
    return _build(spec, box, rng, where)


def _build(spec: Any, box: np.ndarray, rng: np.random.Generator | None, where: str) -> Any:
    box = np.asarray(box, dtype=np.float64)
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ConfigError(f"{where}: a geometry table needs a 'kind' key")
    kind = spec["kind"]
    body = {k: v for k, v in spec.items() if k != "kind"}
    if kind == "layered":
        return _layered(spec, box, where)
    if kind == "isolated":
        iso = from_dict(IsolatedSpec, body, where)
        iso.check_feasible(box)
        return None if rng is None else place_particles(iso, box, rng)
    if kind == "interconnected":
        inter = from_dict(InterconnectedSpec, body, where)
        return None if rng is None else inter.build(box)
    if kind in ("union", "intersection"):
        parts = body.get("parts")
        if set(body) != {"parts"} or not isinstance(parts, list) or not parts:
            raise ConfigError(f"{where}: {kind} needs exactly one key 'parts' (a list of tables)")
        built = [_build(p, box, rng, f"{where}.parts[{i}]") for i, p in enumerate(parts)]
        if rng is None:
            return None
        return (Union if kind == "union" else Intersection)(tuple(built))
    if kind == "complement":
        if set(body) != {"part"}:
            raise ConfigError(f"{where}: complement needs exactly one key 'part' (a table)")
        part = _build(body["part"], box, rng, f"{where}.part")
        return None if rng is None else Complement(part)
    return geometry_from_dict(spec, where)
