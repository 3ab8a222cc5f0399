"""Write tests/data/learned_phase_v1_reference.npz: a fixed input volume and the packaged
learned-phase network's probability of precipitate on it (the test checks that the committed
weights reproduce it).

    python benchmarks/learned_phase_fixture.py

Input: a 20 x 18 x 22 voxel volume holding a ball (radius 6 voxels, 0.25 / 0.75) with binomial
counting noise (20 atoms/voxel, seed 17) and a 1 voxel Gaussian blur, min-max normalised to [0, 1].
"""

from pathlib import Path

import numpy as np
from scipy import ndimage


def reference_volume() -> np.ndarray:
    rng = np.random.default_rng(17)
    xx, yy, zz = np.mgrid[:20, :18, :22]
    c = np.where(np.sqrt((xx - 9.5) ** 2 + (yy - 8.0) ** 2 + (zz - 11.0) ** 2) < 6.0, 0.75, 0.25)
    image = ndimage.gaussian_filter(rng.binomial(20, c) / 20.0, 1.0)
    return ((image - image.min()) / (image.max() - image.min())).astype(np.float32)


def main() -> None:
    import torch

    from synthapt.edges.phase3d import load_phase3d, precipitate_probability3d

    torch.set_num_threads(1)
    volume = reference_volume()
    probability = precipitate_probability3d(load_phase3d(), volume)
    target = Path(__file__).resolve().parents[1] / "tests" / "data" / "learned_phase_v1_reference.npz"
    np.savez_compressed(target, volume=volume, probability=probability)
    print(f"{target}: probability in [{probability.min():.3f}, {probability.max():.3f}]")


if __name__ == "__main__":
    main()
