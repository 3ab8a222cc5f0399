"""Proxigram of a segmentation file's interface mesh against the dataset it records."""

from __future__ import annotations

from typing import Any

from synthapt.data import Profile
from synthapt.errors import SynthaptError
from synthapt.io import load_dataset
from synthapt.segmentation.result import read_segmentation, recorded_file
from synthapt.spatial.profiles import proxigram


def proxigram_file(segmentation_path: Any, data_path: Any = None, ranges_path: Any = None,
                   bin_width: float = 0.2, progress: Any = None) -> Profile:
    """Proxigram of a segmentation file's mesh; the dataset (and range file) default to the
    paths recorded in it (relative paths are tried as given, then beside the segmentation file)."""
    result = read_segmentation(segmentation_path)
    if result.mesh is None:
        raise SynthaptError(f"{segmentation_path}: {result.message or 'no interface mesh'}")

    data = recorded_file(result, "dataset_path", segmentation_path, data_path)
    if data is None:
        raise SynthaptError(f"{segmentation_path}: no dataset recorded; give --data")
    dataset = load_dataset(data, ranges=recorded_file(result, "ranges_path", segmentation_path, ranges_path))
    if dataset.n_ions != len(result.labels):
        raise SynthaptError(f"{data}: {dataset.n_ions} ions, but the segmentation labels "
                            f"{len(result.labels)}; not the segmented dataset")
    return proxigram(dataset, result.mesh, bin_width=bin_width, progress=progress)
