"""Write tests/data/learned_v1_reference.npz: fixed input slices and the packaged learned
detector's output on them (the test checks that the committed weights reproduce it).

    python benchmarks/learned_fixture.py

Inputs: three 24 x 20 slices of a disc (radius 7 px, 0.25 / 0.75) with binomial counting noise
(20 atoms/px, seed 13) and a 1 px Gaussian blur, min-max normalised to [0, 1].
"""

from pathlib import Path

import numpy as np
from scipy import ndimage


def reference_images() -> np.ndarray:
    rng = np.random.default_rng(13)
    yy, xx = np.mgrid[:24, :20]
    stack = []
    for cy, cx in ((12, 10), (8, 6), (15, 13)):
        c = np.where(np.hypot(yy - cy, xx - cx) < 7.0, 0.75, 0.25)
        image = ndimage.gaussian_filter(rng.binomial(20, c) / 20.0, 1.0)
        stack.append((image - image.min()) / (image.max() - image.min()))
    return np.asarray(stack, dtype=np.float32)


def main() -> None:
    from synthapt.edges import get_detector

    images = reference_images()
    edges = get_detector("learned", num_threads=1).detect(images)
    target = Path(__file__).resolve().parents[1] / "tests" / "data" / "learned_v1_reference.npz"
    np.savez_compressed(target, images=images, edges=edges)
    print(f"{target}: edges in [{edges.min():.3f}, {edges.max():.3f}]")


if __name__ == "__main__":
    main()
