"""Edge detectors on stacks of 2D grey images: HED (BSDS500 weights), Canny, Sobel and the
network trained on synthetic APT slices (``learned``).

Every detector maps ``images`` (B, H, W) float in [0, 1] (e.g. normalised concentration slices)
to an edge map (B, H, W) float32 in [0, 1]. Get one with ``get_detector(name, **options)``;
options are the fields of the detector's parameter dataclass (TOML-loadable, validated).
"""

from __future__ import annotations

import abc
import contextlib
import copy
import dataclasses
import hashlib
import os
from typing import Any, Callable, ClassVar, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage import feature, filters

from synthapt.config import from_dict
from synthapt.edges.hed import HED, grey_to_hed_input
from synthapt.edges.learned import DEFAULT_PAD, EdgeUNet, load_learned, run_network
from synthapt.edges.weights import load_hed
from synthapt.errors import ConfigError, SynthaptError

MAX_TORCH_THREADS = 2
RANGE_TOLERANCE = 1e-6
"""Values this far outside [0, 1] (float rounding) are clipped rather than refused."""


def check_images(images: Any, where: str = "images") -> np.ndarray:
    """Validate a (B, H, W) stack of finite values in [0, 1]; returns it as float32 (a copy only
    when the dtype differs or rounding excursions are clipped). Raises SynthaptError naming the
    problem."""
    array = np.asarray(images)
    if array.ndim != 3:
        raise SynthaptError(f"{where}: expected a (B, H, W) stack of 2D images, got shape {array.shape}")
    if min(array.shape) == 0:
        raise SynthaptError(f"{where}: empty image stack of shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
            or array.dtype == bool):
        raise SynthaptError(f"{where}: expected real numbers, got dtype {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise SynthaptError(f"{where}: contains NaN or infinite values")
    lo, hi = float(array.min()), float(array.max())
    if lo < -RANGE_TOLERANCE or hi > 1.0 + RANGE_TOLERANCE:
        raise SynthaptError(f"{where}: values must lie in [0, 1], got range [{lo:.4g}, {hi:.4g}]")
    if lo < 0.0 or hi > 1.0:  # rounding error only
        array = np.clip(array, 0.0, 1.0)
    return array


def check_network_options(where: str, pad: int, batch_size: int, num_threads: int) -> None:
    """ConfigError naming ``where.<option>`` for a negative pad, batch_size < 1 or a thread count
    outside [1, MAX_TORCH_THREADS]."""
    if pad < 0:
        raise ConfigError(f"{where}.pad: must be >= 0, got {pad}")
    if batch_size < 1:
        raise ConfigError(f"{where}.batch_size: must be >= 1, got {batch_size}")
    if not 1 <= num_threads <= MAX_TORCH_THREADS:
        raise ConfigError(f"{where}.num_threads: must be within [1, {MAX_TORCH_THREADS}], got {num_threads}")


class EdgeDetector(abc.ABC):
    """Base class: ``detect(images (B,H,W) in [0,1]) -> (B,H,W) float32 edge map in [0,1]``."""

    name: ClassVar[str]

    def __init__(self, params: Any) -> None:
        self.params = params

    def detect(self, images: Any, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Edge maps of a stack of images; the input is never modified. ``progress(n)`` is called
        with the number of slices just finished (e.g. ``rich`` ``progress.advance``)."""
        stack = check_images(images)
        out = self._detect(stack, progress or (lambda n: None))
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)

    @abc.abstractmethod
    def _detect(self, images: np.ndarray, progress: Callable[[int], None]) -> np.ndarray: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"


# --- HED ----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class HEDParams:
    """Options of the HED detector.

    upsample: factor (>= 1) by which each slice is enlarged (bilinear) before HED, so that its
        features span as many pixels as edges in natural photographs; the fused probability is
        resampled back to the slice size (bilinear with antialiasing).
    pad: pixels of reflected image added on every side of a slice before HED and cropped after
        (at most the slice size - 1): without it HED's zero padding, which is mid-grey after the
        mean subtraction, makes the slice border itself look like an edge.
    batch_size: slices per forward pass. num_threads: torch intra-op threads (1-2) while detecting.
    weights: converted ``.pt`` or Keras ``.weights.h5`` file; None = the verified cache file.
    """

    upsample: float = 1.0
    pad: int = 8
    batch_size: int = 8
    num_threads: int = 2
    weights: str | None = None

    def __post_init__(self) -> None:
        if not 1.0 <= self.upsample <= 8.0:
            raise ConfigError(f"edges.hed.upsample: must be within [1, 8], got {self.upsample}")
        check_network_options("edges.hed", self.pad, self.batch_size, self.num_threads)


@contextlib.contextmanager
def torch_threads(n: int, set_omp: bool = False, cap_to_cpus: bool = True) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count to ``n`` (at most the CPU count when
    ``cap_to_cpus``) and, with ``set_omp``, the OMP_NUM_THREADS variable (as on a campaign
    worker, so LAMMPS runs the same however a case is started); both restored afterwards."""
    n = max(1, int(n))
    previous = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(min(n, os.cpu_count() or 1) if cap_to_cpus else n)
    if set_omp:
        os.environ["OMP_NUM_THREADS"] = str(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous[0])
        if set_omp:
            if previous[1] is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = previous[1]


class HEDDetector(EdgeDetector):
    """HED fused edge probability. ``model`` overrides the weights (e.g. a randomly initialised
    ``HED()`` in tests); otherwise the BSDS500 weights are loaded from ``params.weights``/cache."""

    name = "hed"

    def __init__(self, params: HEDParams = HEDParams(), model: HED | None = None) -> None:
        super().__init__(params)
        if model is None:
            model = load_hed(params.weights)
        elif isinstance(model, HED):
            model = copy.deepcopy(model)  # the caller's module is left as it was
        else:
            raise ConfigError(f"edges.hed.model: expected a synthapt.edges.HED, got {type(model).__name__}")
        # channels-last activations are 10-20 % faster with oneDNN on CPU
        self.model = model.eval().to(memory_format=torch.channels_last)

    def scaled_size(self, height: int, width: int) -> tuple[int, int]:
        """Size (pixels) of a (height, width) image after upsampling (padding not included)."""
        f = self.params.upsample
        return max(1, round(height * f)), max(1, round(width * f))

    def padding(self, height: int, width: int) -> int:
        """Reflected border (pixels) added to a (height, width) slice."""
        return max(0, min(self.params.pad, height - 1, width - 1))

    def network_size(self, height: int, width: int) -> tuple[int, int]:
        """Size (pixels) of the network input for one (height, width) slice: padded, upsampled."""
        pad = self.padding(height, width)
        return self.scaled_size(height + 2 * pad, width + 2 * pad)

    def _detect(self, images: np.ndarray, progress: Callable[[int], None]) -> np.ndarray:
        n, height, width = images.shape
        pad = self.padding(height, width)
        padded = (height + 2 * pad, width + 2 * pad)
        size = self.scaled_size(*padded)
        resize = size != padded
        out = np.empty((n, height, width), dtype=np.float32)
        with torch_threads(self.params.num_threads), torch.inference_mode():
            for start in range(0, n, self.params.batch_size):
                chunk = np.ascontiguousarray(images[start:start + self.params.batch_size])
                batch = torch.from_numpy(chunk)[:, None]
                if pad:
                    batch = F.pad(batch, (pad, pad, pad, pad), mode="reflect")
                if resize:
                    batch = F.interpolate(batch, size=size, mode="bilinear", align_corners=False)
                hed_input = grey_to_hed_input(batch[:, 0]).contiguous(memory_format=torch.channels_last)
                prob = self.model.fused_probability(hed_input)[:, None]
                if resize:
                    prob = F.interpolate(prob, size=padded, mode="bilinear", align_corners=False, antialias=True)
                out[start:start + len(prob)] = prob[:, 0, pad:pad + height, pad:pad + width].numpy()
                progress(len(prob))
        return out


# --- classical detectors ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CannyParams:
    """Options of the Canny detector (scikit-image ``feature.canny``).

    sigma: Gaussian smoothing before the gradient (pixels). low/high_threshold: hysteresis
    thresholds on the gradient magnitude (image units per pixel); None = scikit-image's defaults
    (0.1 and 0.2 for float images). spread: if > 0, the binary edge map is blurred with a Gaussian
    of this width (pixels) and scaled so that an isolated straight edge line peaks at 1, giving a
    probability-like map; 0 returns the binary map as 0.0/1.0.
    """

    sigma: float = 1.0
    low_threshold: float | None = None
    high_threshold: float | None = None
    spread: float = 0.0

    def __post_init__(self) -> None:
        if self.sigma < 0:
            raise ConfigError(f"edges.canny.sigma: must be >= 0, got {self.sigma}")
        if self.spread < 0:
            raise ConfigError(f"edges.canny.spread: must be >= 0, got {self.spread}")
        for key in ("low_threshold", "high_threshold"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ConfigError(f"edges.canny.{key}: must be >= 0, got {value}")
        if (self.low_threshold is not None and self.high_threshold is not None
                and self.low_threshold > self.high_threshold):
            raise ConfigError(f"edges.canny.low_threshold: {self.low_threshold} exceeds high_threshold "
                              f"{self.high_threshold}")


class CannyDetector(EdgeDetector):
    """Canny edges per slice: binary, or Gaussian-spread to a probability-like map."""

    name = "canny"

    def _detect(self, images: np.ndarray, progress: Callable[[int], None]) -> np.ndarray:
        p = self.params
        out = np.empty(images.shape, dtype=np.float32)
        for i, image in enumerate(images):
            edges = feature.canny(image, sigma=p.sigma, low_threshold=p.low_threshold,
                                  high_threshold=p.high_threshold).astype(np.float32)
            if p.spread > 0:
                edges = ndimage.gaussian_filter(edges, p.spread, mode="nearest") * (np.sqrt(2 * np.pi) * p.spread)
            out[i] = edges
            progress(1)
        return out


@dataclasses.dataclass(frozen=True)
class SobelParams:
    """Options of the Sobel detector (scikit-image ``filters.sobel``).

    sigma: Gaussian smoothing before the gradient (pixels; 0 = none). normalize: divide each
    slice's magnitude by its maximum (flat slices stay 0); otherwise the raw magnitude, which lies
    in [0, 1] for images in [0, 1] (a unit step along an axis gives 1/sqrt(2)).
    """

    sigma: float = 1.0
    normalize: bool = True

    def __post_init__(self) -> None:
        if self.sigma < 0:
            raise ConfigError(f"edges.sobel.sigma: must be >= 0, got {self.sigma}")


class SobelDetector(EdgeDetector):
    """Sobel gradient magnitude per slice."""

    name = "sobel"

    def _detect(self, images: np.ndarray, progress: Callable[[int], None]) -> np.ndarray:
        p = self.params
        out = np.empty(images.shape, dtype=np.float32)
        for i, image in enumerate(images):
            smooth = ndimage.gaussian_filter(image, p.sigma, mode="nearest") if p.sigma > 0 else image
            magnitude = filters.sobel(smooth)
            if p.normalize:
                peak = float(magnitude.max())
                magnitude = magnitude / peak if peak > 1e-12 else np.zeros_like(magnitude)
            out[i] = magnitude
            progress(1)
        return out


# --- learned (trained on synthetic APT data) ----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LearnedParams:
    """Options of the learned detector (``synthapt.edges.learned``).

    pad: pixels of reflected image added on every side of a slice before the network (at most
    the slice size - 1) and cropped after. batch_size: slices per forward pass. num_threads:
    torch intra-op threads (1-2). weights: a weights file; None = the packaged default.
    """

    pad: int = DEFAULT_PAD
    batch_size: int = 64
    num_threads: int = 2
    weights: str | None = None

    def __post_init__(self) -> None:
        check_network_options("edges.learned", self.pad, self.batch_size, self.num_threads)


class LearnedDetector(EdgeDetector):
    """Edge probability of the compact network trained on synthetic concentration slices.
    ``model`` overrides the weights (e.g. a freshly trained ``EdgeUNet``)."""

    name = "learned"

    def __init__(self, params: LearnedParams = LearnedParams(), model: EdgeUNet | None = None) -> None:
        super().__init__(params)
        if model is None:
            model = load_learned(params.weights)
        elif isinstance(model, EdgeUNet):
            model = copy.deepcopy(model)
        else:
            raise ConfigError(f"edges.learned.model: expected a synthapt.edges.EdgeUNet, got {type(model).__name__}")
        self.model = model.eval()

    def _detect(self, images: np.ndarray, progress: Callable[[int], None]) -> np.ndarray:
        with torch_threads(self.params.num_threads):
            return run_network(self.model, images, self.params.pad, self.params.batch_size, progress)


DETECTORS: dict[str, tuple[type[EdgeDetector], type]] = {
    "hed": (HEDDetector, HEDParams),
    "canny": (CannyDetector, CannyParams),
    "sobel": (SobelDetector, SobelParams),
    "learned": (LearnedDetector, LearnedParams),
}


def get_detector(name: str, **options: Any) -> EdgeDetector:
    """Edge detector ``name`` ("hed", "canny", "sobel", "learned") with ``options`` (its parameter
    fields).

    For "hed" and "learned", ``model=HED(...)`` / ``model=EdgeUNet(...)`` may be passed to use a
    given network instead of loading the weights. Unknown names/options or bad values raise ConfigError.
    """
    if name not in DETECTORS:
        raise ConfigError(f"edges.detector: unknown detector {name!r} (known: {', '.join(DETECTORS)})")
    detector_cls, params_cls = DETECTORS[name]
    if name in ("hed", "learned"):
        model = options.pop("model", None)
        return detector_cls(from_dict(params_cls, options, f"edges.{name}"), model=model)
    return detector_cls(from_dict(params_cls, options, f"edges.{name}"))


class CachedDetector:
    """Wraps a detector (anything with ``detect((B,H,W)) -> (B,H,W)``) and reuses its edge maps
    for an identical input stack (keyed by the SHA-256 of its float32 bytes): two segmentations
    of one concentration image that differ only after the edge field (e.g. refined and unrefined
    boundaries) run the detector once. The cached maps are read-only."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector
        self._cache: dict[str, np.ndarray] = {}

    def detect(self, images: np.ndarray) -> np.ndarray:
        key = hashlib.sha256(np.ascontiguousarray(images, dtype=np.float32).tobytes()).hexdigest()
        if key not in self._cache:
            edges = np.asarray(self.detector.detect(images))
            edges.flags.writeable = False
            self._cache[key] = edges
        return self._cache[key]
