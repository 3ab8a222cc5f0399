"""Edge detection on 2D slices: HED (plain torch.nn, BSDS500 weights), Canny, Sobel and a compact
network trained on synthetic APT data (``learned``).

``get_detector(name, **options).detect(images (B,H,W) in [0,1]) -> (B,H,W) float32 in [0,1]``.
"""

from synthapt.edges.detectors import (
    DETECTORS,
    CachedDetector,
    CannyParams,
    EdgeDetector,
    HEDDetector,
    HEDParams,
    LearnedDetector,
    LearnedParams,
    SobelParams,
    check_images,
    get_detector,
)
from synthapt.edges.hed import CAFFE_MEAN_BGR, HED, grey_to_hed_input, hed_macs
from synthapt.edges.learned import EdgeUNet, load_learned, save_learned
from synthapt.edges.weights import fetch_weights, load_hed, weights_info

__all__ = [
    "CAFFE_MEAN_BGR", "DETECTORS", "HED", "CachedDetector", "CannyParams", "EdgeDetector", "EdgeUNet", "HEDDetector",
    "HEDParams", "LearnedDetector", "LearnedParams", "load_learned", "save_learned",
    "SobelParams", "check_images", "fetch_weights", "get_detector", "grey_to_hed_input", "hed_macs",
    "load_hed", "weights_info",
]
