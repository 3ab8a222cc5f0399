"""synthapt: synthetic atom-probe tomography datasets with ground truth, and validation of
interface segmentation (HED edge detection, iso-surfaces) against that truth."""

__version__ = "0.1.0"

from synthapt.errors import SynthaptError  # noqa: E402
from synthapt.data import APTDataset, GroundTruth, Profile, Specimen  # noqa: E402

__all__ = ["APTDataset", "GroundTruth", "Profile", "Specimen", "SynthaptError", "__version__"]
