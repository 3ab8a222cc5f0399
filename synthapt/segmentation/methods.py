"""The one registry of segmentation methods and its dispatcher (used by the ``segment`` command and
by campaign cases): method name -> function(dataset, params, progress) -> SegmentationResult.

Edge methods ("hed", "canny", "sobel") take ``SegmentParams``; "iso" takes ``IsoParams``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from synthapt.data import APTDataset
from synthapt.errors import ConfigError
from synthapt.segmentation.edge import segment
from synthapt.segmentation.iso import iso_segment_params
from synthapt.segmentation.params import EDGE_METHODS, METHOD_NAMES, IsoParams, Progress, SegmentParams
from synthapt.segmentation.result import SegmentationResult


def _edge_method(dataset: APTDataset, params: SegmentParams,
                 progress: Progress | None = None) -> SegmentationResult:
    return segment(dataset, params, progress)


def _iso_method(dataset: APTDataset, params: IsoParams,
                progress: Progress | None = None) -> SegmentationResult:
    return iso_segment_params(dataset, params)


SegmentMethod = Callable[..., SegmentationResult]

METHODS: dict[str, SegmentMethod] = {**{name: _edge_method for name in EDGE_METHODS}, "iso": _iso_method}
assert tuple(METHODS) == METHOD_NAMES


def method_params(method: str, params: SegmentParams, iso_value: float = 12.0,
                  elements: tuple[str, ...] | None = None) -> SegmentParams | IsoParams:
    """The parameters of ``method`` derived from the shared ``params``: ``params`` with
    ``detector=method`` for an edge method, ``IsoParams`` on the same voxel grid for "iso"."""
    check_method(method)
    if method == "iso":
        return IsoParams.like(params, iso_value, elements)
    return params if params.detector == method else dataclasses.replace(params, detector=method)


def check_method(method: str, where: str = "method") -> None:
    if method not in METHODS:
        raise ConfigError(f"{where}: unknown method {method!r} ({', '.join(METHOD_NAMES)})")


def run_method(method: str, dataset: APTDataset, params: Any,
               progress: Progress | None = None) -> SegmentationResult:
    """The dispatcher: segment ``dataset`` with registered ``method`` and its ``params``."""
    check_method(method)
    return METHODS[method](dataset, params, progress)


def run_segmentation(dataset: APTDataset, params: SegmentParams, method: str = "hed",
                     iso_value: float = 12.0, progress: Progress | None = None) -> SegmentationResult:
    """Segment with ``method``; "iso" images ``params.elements`` at ``iso_value`` at.%."""
    if method == "iso" and not params.elements:
        raise ConfigError("--element: the iso method needs the element(s) to image")
    return run_method(method, dataset, method_params(method, params, iso_value), progress)
