"""The one registry of segmentation methods and its dispatcher (used by the ``segment`` command and
by campaign cases): method name -> function(dataset, params, progress, detector) -> SegmentationResult.

Edge methods ("hed", "canny", "sobel", "learned") take ``SegmentParams`` and refine their boundary
(``refine`` nm); their "-edge" variants ("hed-edge", ...) are the same pipeline with ``refine = 0``
(the detector's own watershed boundary). "iso" takes ``IsoParams`` (a fixed iso value);
"iso-auto" takes ``SegmentParams`` and finds its iso value (``auto_iso_segment``).
"learned-phase" takes ``SegmentParams`` (grid, two-phase test) and labels where the phase network's
probability of precipitate exceeds 0.5 (``learned_phase_segment``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from synthapt.data import APTDataset
from synthapt.errors import ConfigError, SynthaptError
from synthapt.segmentation.edge import segment
from synthapt.segmentation.element import match_elements
from synthapt.segmentation.iso import auto_iso_segment, iso_segment_params
from synthapt.segmentation.params import (AUTO_ISO, EDGE_METHODS, LEARNED_PHASE, METHOD_NAMES, UNREFINED_EDGE_METHODS, IsoParams,
                                          Progress, SegmentParams, detector_of)
from synthapt.segmentation.phase_net import learned_phase_segment
from synthapt.segmentation.result import SegmentationResult
from synthapt.spatial.voxel import ion_elements


SegmentMethod = Callable[..., SegmentationResult]


def _edge_method(dataset: APTDataset, params: SegmentParams, progress: Progress | None = None,
                 detector: Any = None) -> SegmentationResult:
    return segment(dataset, params, progress, detector)


def _unrefined_edge_method(name: str) -> SegmentMethod:
    """The registered function of "<detector>-edge": its detector's pipeline with ``refine = 0``,
    the result named ``name``."""

    def run(dataset: APTDataset, params: SegmentParams, progress: Progress | None = None,
            detector: Any = None) -> SegmentationResult:
        unrefined = dataclasses.replace(params, detector=detector_of(name), refine=0.0)
        return segment(dataset, unrefined, progress, detector).replace(method=name)

    return run


def _iso_method(dataset: APTDataset, params: IsoParams, progress: Progress | None = None,
                detector: Any = None) -> SegmentationResult:
    return iso_segment_params(dataset, params)


def _auto_iso_method(dataset: APTDataset, params: SegmentParams, progress: Progress | None = None,
                     detector: Any = None) -> SegmentationResult:
    return auto_iso_segment(dataset, params)


def _learned_phase_method(dataset: APTDataset, params: SegmentParams, progress: Progress | None = None,
                          detector: Any = None) -> SegmentationResult:
    return learned_phase_segment(dataset, params, progress)


METHODS: dict[str, SegmentMethod] = {**{name: _edge_method for name in EDGE_METHODS},
                                     **{name: _unrefined_edge_method(name) for name in UNREFINED_EDGE_METHODS},
                                     LEARNED_PHASE: _learned_phase_method,
                                     "iso": _iso_method, AUTO_ISO: _auto_iso_method}
assert tuple(METHODS) == METHOD_NAMES


def method_params(method: str, params: SegmentParams, iso_value: float = 12.0,
                  elements: tuple[str, ...] | None = None) -> SegmentParams | IsoParams:
    """The parameters of ``method`` derived from the shared ``params``: ``params`` with
    ``detector`` = the method's detector for an edge method (and ``refine = 0`` for its "-edge"
    variant), ``IsoParams`` on the same voxel grid for "iso", ``params`` as given for "iso-auto"."""
    check_method(method)
    if method == "iso":
        return IsoParams.like(params, iso_value, elements)
    detector = detector_of(method)
    if detector is None:
        return params
    changes: dict[str, Any] = {} if params.detector == detector else {"detector": detector}
    if method not in EDGE_METHODS and params.refine != 0.0:
        changes["refine"] = 0.0
    return dataclasses.replace(params, **changes) if changes else params


def check_method(method: str, where: str = "method") -> None:
    if method not in METHODS:
        raise ConfigError(f"{where}: unknown method {method!r} ({', '.join(METHOD_NAMES)})")


def run_method(method: str, dataset: APTDataset, params: Any, progress: Progress | None = None,
               detector: Any = None) -> SegmentationResult:
    """The dispatcher: segment ``dataset`` with registered ``method`` and its ``params``.

    detector: for edge methods, an object with ``detect`` to use instead of the one ``params``
    names (e.g. a ``synthapt.edges.CachedDetector`` shared by "hed" and "hed-edge", so the two
    run the detector once); refused for the iso methods."""
    check_method(method)
    if detector is not None and detector_of(method) is None:
        raise ConfigError(f"method {method}: uses no edge detector (detector given)")
    return METHODS[method](dataset, params, progress, detector)


def check_segment_inputs(dataset: APTDataset, params: SegmentParams, method: str = "hed",
                         iso_value: float = 12.0, where: Any = "dataset") -> None:
    """The errors that need no work, raised before any (so no progress bar precedes them): no
    ions, an unranged dataset (``where``: its file), unknown element names or ones without atoms,
    iso without element or with an iso value outside (0, 100) at.%."""
    check_method(method, "--method")
    if dataset.n_ions == 0:
        raise SynthaptError(f"{where}: the dataset has no ions")
    if dataset.species is None:
        raise SynthaptError(f"{where}: the dataset is not ranged; pass --ranges FILE.rrng")
    if params.elements:
        names, table = ion_elements(dataset)
        wanted = match_elements(params.elements, names)
        codes = dataset.species[dataset.species >= 0].astype(np.int64)
        atoms = np.bincount(codes, minlength=len(table))[: len(table)] @ table
        if atoms[[names.index(name) for name in wanted]].sum() == 0:
            raise SynthaptError(f"element {'+'.join(wanted)}: no atoms of it in the dataset")
    if method == "iso":
        if not params.elements:
            raise ConfigError("--element: the iso method needs the element(s) to image")
        if not 0.0 < iso_value < 100.0:
            raise ConfigError(f"--iso-value: must be within (0, 100) at.%, got {iso_value:g}")


def run_segmentation(dataset: APTDataset, params: SegmentParams, method: str = "hed",
                     iso_value: float = 12.0, progress: Progress | None = None) -> SegmentationResult:
    """Segment with ``method``; "iso" images ``params.elements`` at ``iso_value`` at.%, "iso-auto"
    finds its value (and, without ``params.elements``, its element)."""
    if method == "iso" and not params.elements:
        raise ConfigError("--element: the iso method needs the element(s) to image")
    return run_method(method, dataset, method_params(method, params, iso_value), progress)
