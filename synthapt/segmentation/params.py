"""Segmentation parameters: ``SegmentParams`` (edge methods), ``IsoParams`` (iso-surface baseline),
the one list of method names, and the loader used by the ``segment`` command."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from synthapt.config import from_dict, read_toml
from synthapt.edges.detectors import DETECTORS
from synthapt.errors import ConfigError

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances (e.g. slices processed)."""

AUTO_SLICE_STEP_VOXELS = 2_000_000
"""Grids with more voxels than this run the edge detector on every 2nd slice when
``SegmentParams.slice_step`` is 0 (automatic): about 10 M ions at 0.5 nm voxels. Small grids
(small features, few voxels across a precipitate) keep every slice."""

MIN_GRID = 4
"""A dataset must span at least this many voxels along every axis."""

EDGE_METHODS: tuple[str, ...] = tuple(DETECTORS)
"""Edge-detection methods: the edge detector registry's names ("hed", "canny", "sobel",
"learned"), each refined near its boundary (``SegmentParams.refine``)."""

UNREFINED_SUFFIX = "-edge"
UNREFINED_EDGE_METHODS: tuple[str, ...] = tuple(f"{name}{UNREFINED_SUFFIX}" for name in DETECTORS)
"""The same edge pipelines with ``refine = 0``: the detector's own watershed boundary
("hed-edge", "canny-edge", ...)."""

AUTO_ISO = "iso-auto"
"""Iso-surface at the midpoint of the two phase compositions, found without a user value."""

LEARNED_PHASE = "learned-phase"
"""Probability of precipitate per voxel from a network trained on synthetic data, labels at 0.5
(``synthapt.segmentation.phase_net``)."""

METHOD_NAMES: tuple[str, ...] = (*EDGE_METHODS, *UNREFINED_EDGE_METHODS, LEARNED_PHASE, "iso", AUTO_ISO)
"""Every segmentation method: the edge methods, their unrefined variants, the learned phase
network, then the iso-concentration baselines (fixed value, automatic value)."""


def detector_of(method: str) -> str | None:
    """The edge detector behind an edge method ("hed" for "hed" and "hed-edge"), else None."""
    if method in EDGE_METHODS:
        return method
    if method in UNREFINED_EDGE_METHODS:
        return method[: -len(UNREFINED_SUFFIX)]
    return None


@dataclass(frozen=True)
class SegmentParams:
    """Parameters of the edge-detection segmentation (TOML table ``[segment]``).

    voxel_size: nm. delocalization: Gaussian sigma, nm. elements: partitioning element(s) whose
    summed concentration is imaged (any letter case); empty = the non-trace element with the
    largest partitioning contrast over counting noise (``synthapt.segmentation.element``).
    detector: "hed", "canny", "sobel" or "learned"; detector_options: extra fields of its
    parameter class.
    upsample, batch_size, threads: HED slice enlargement, slices per pass, torch threads.
    slice_step: run the detector on every n-th slice of each stack, interpolating in between;
        0 (default) = automatic: 1 on grids of up to ``AUTO_SLICE_STEP_VOXELS`` voxels, 2 on
        larger ones (see ``effective_slice_step``).
    fuse: "mean" or "max" of the three slice directions. min_count: atoms per voxel (after
    delocalization) for a voxel to count as inside the specimen. marker_threshold: edge level (of
    the [0, 1] fused field) below which voxels seed regions; min_marker_voxels: smallest seed.
    label_smoothing: Gaussian sigma (nm) of the precipitate indicator before labels/mesh.
    refine: half-width (nm) of a band around the edge-based boundary in which the indicator is
    the local composition scaled between the two phase compositions (0.5 at their mean), giving a
    sub-voxel interface; 0 keeps the pure edge/watershed boundary (the "-edge" methods). The
    automatic iso-surface ("iso-auto") takes its phase compositions beyond this distance too.
    min_contrast (at.%), noise_factor, significance (p-value): tests of the two-phase split (see
    ``classify_regions``; "iso-auto" applies the same tests to its two classes). precipitate:
    "enriched" or "depleted" in the element(s).
    """

    voxel_size: float = 0.5
    delocalization: float = 0.75
    elements: tuple[str, ...] = ()
    detector: Literal["hed", "canny", "sobel", "learned"] = "hed"
    detector_options: dict[str, Any] = field(default_factory=dict)
    upsample: float = 1.0
    batch_size: int = 8
    threads: int = 2
    slice_step: int = 0
    fuse: Literal["mean", "max"] = "mean"
    min_count: float = 2.0
    marker_threshold: float = 0.3
    min_marker_voxels: int = 8
    label_smoothing: float = 0.5
    refine: float = 1.0
    min_contrast: float = 2.0
    noise_factor: float = 6.0
    significance: float = 1e-6
    precipitate: Literal["enriched", "depleted"] = "enriched"

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))
        object.__setattr__(self, "detector_options", dict(self.detector_options))
        finite = {name: bool(math.isfinite(getattr(self, name))) for name in
                  ("voxel_size", "delocalization", "min_count", "label_smoothing", "refine")}
        checks = {
            "voxel_size": (finite["voxel_size"] and self.voxel_size > 0, "finite and > 0 nm"),
            "delocalization": (finite["delocalization"] and self.delocalization >= 0, "finite and >= 0 nm"),
            "upsample": (1.0 <= self.upsample <= 8.0, "1 to 8"), "batch_size": (self.batch_size >= 1, ">= 1"),
            "threads": (1 <= self.threads <= 16, "1 to 16"), "slice_step": (self.slice_step >= 0, ">= 0 (0 = automatic)"),
            "min_count": (finite["min_count"] and self.min_count > 0, "finite and > 0 atoms"),
            "marker_threshold": (0.0 < self.marker_threshold < 1.0, "between 0 and 1"),
            "min_marker_voxels": (self.min_marker_voxels >= 1, ">= 1"),
            "label_smoothing": (finite["label_smoothing"] and self.label_smoothing >= 0, "finite and >= 0 nm"),
            "refine": (finite["refine"] and self.refine >= 0, "finite and >= 0 nm"),
            "min_contrast": (self.min_contrast >= 0, ">= 0 at.%"),
            "significance": (0.0 < self.significance < 1.0, "between 0 and 1"),
            "noise_factor": (self.noise_factor >= 0, ">= 0"),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:
                raise ConfigError(f"segment.{name}: must be {allowed}, got {getattr(self, name)!r}")
        if self.detector not in EDGE_METHODS:
            raise ConfigError(f"segment.detector: unknown detector {self.detector!r} ({', '.join(EDGE_METHODS)})")
        if self.fuse not in ("mean", "max"):
            raise ConfigError(f"segment.fuse: {self.fuse!r} is not 'mean' or 'max'")
        if self.precipitate not in ("enriched", "depleted"):
            raise ConfigError(f"segment.precipitate: {self.precipitate!r} is not 'enriched' or 'depleted'")

    @classmethod
    def from_dict(cls, data: dict, where: str = "segment") -> SegmentParams:
        return from_dict(cls, data, where)

    def effective_slice_step(self, grid_shape: tuple[int, ...]) -> int:
        """The slice step used on a grid of ``grid_shape`` voxels: ``slice_step``, or for 0 (automatic)
        1 up to ``AUTO_SLICE_STEP_VOXELS`` voxels and 2 above."""
        if self.slice_step > 0:
            return self.slice_step
        return 1 if math.prod(grid_shape) <= AUTO_SLICE_STEP_VOXELS else 2


@dataclass(frozen=True)
class IsoParams:
    """Parameters of the iso-concentration baseline (``synthapt.segmentation.iso``).

    elements: the imaged element(s) (summed); iso_value: at.% of them; voxel_size and
    delocalization (Gaussian sigma): nm; min_count: atoms per voxel for a voxel to count as inside
    the specimen.
    """

    elements: tuple[str, ...] = ()
    iso_value: float = 12.0
    voxel_size: float = 0.5
    delocalization: float = 0.75
    min_count: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))

    @classmethod
    def like(cls, params: SegmentParams, iso_value: float, elements: tuple[str, ...] | None = None) -> IsoParams:
        """Iso parameters on the same voxel grid as the edge ``params`` (so the baseline sees the
        same concentration image); ``elements`` defaults to ``params.elements``."""
        return cls(elements=params.elements if elements is None else tuple(elements),
                   iso_value=float(iso_value), voxel_size=params.voxel_size,
                   delocalization=params.delocalization, min_count=params.min_count)


def load_segment_params(path: Any = None, method: str = "hed", element: str | None = None,
                        voxel_size: float | None = None,
                        delocalization: float | None = None) -> SegmentParams:
    """SegmentParams from an optional TOML file (its ``[segment]`` table, or the whole file) with
    command-line overrides; ``element`` may join several with '+', e.g. "Al+Ti"."""
    data: dict[str, Any] = {}
    if path is not None:
        raw = read_toml(path)
        data = dict(raw.get("segment", raw))
    if method not in METHOD_NAMES:
        raise ConfigError(f"--method: unknown method {method!r} ({', '.join(METHOD_NAMES)})")
    if detector_of(method) is not None:
        data["detector"] = detector_of(method)
    if element:
        data["elements"] = [e.strip() for e in element.split("+") if e.strip()]
    for option, key, value, allowed in (("--voxel", "voxel_size", voxel_size, "> 0 nm, e.g. 0.5"),
                                        ("--delocalization", "delocalization", delocalization, ">= 0 nm, e.g. 0.75")):
        if value is None:
            continue
        if not (math.isfinite(value) and (value > 0 if key == "voxel_size" else value >= 0)):
            raise ConfigError(f"{option}: must be a finite size {allowed}; got {value:g}")
        data[key] = value
    return SegmentParams.from_dict(data)
