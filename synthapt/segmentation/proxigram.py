"""Proxigram of a segmentation file's interface mesh against the dataset it records."""

from __future__ import annotations

from typing import Any

from synthapt.data import APTDataset, Profile
from synthapt.errors import SynthaptError
from synthapt.io import load_dataset
from synthapt.segmentation.result import read_segmentation, recorded_file
from synthapt.spatial.mesh import Mesh
from synthapt.spatial.profiles import proxigram
from synthapt.structures.truth import check_bin_width


def proxigram_inputs(segmentation_path: Any, data_path: Any = None,
                     ranges_path: Any = None) -> tuple[APTDataset, Mesh]:
    """(dataset, interface mesh) of a segmentation file; the dataset (and range file) default to
    the paths recorded in it (relative paths are tried as given, then beside the segmentation
    file). A recorded file that is gone raises an error naming it and the option overriding it;
    an unranged dataset one that names ``--ranges``."""
    result = read_segmentation(segmentation_path)
    if result.mesh is None:
        raise SynthaptError(f"{segmentation_path}: {result.message or 'no interface mesh'}")
    data = recorded_file(result, "dataset_path", segmentation_path, data_path)
    if data is None:
        raise SynthaptError(f"{segmentation_path}: no dataset recorded; give --data")
    ranges = recorded_file(result, "ranges_path", segmentation_path, ranges_path)
    for given, found, what, option in ((data_path, data, "dataset", "--data"),
                                       (ranges_path, ranges, "range file", "--ranges")):
        if given is None and found is not None and not found.exists():
            raise SynthaptError(f"{segmentation_path}: the recorded {what} {found} is not found (moved?); "
                                f"{option} FILE overrides it")
    dataset = load_dataset(data, ranges=ranges)
    if dataset.species is None:
        raise SynthaptError(f"{data}: the dataset is not ranged; pass --ranges FILE.rrng")
    if dataset.n_ions != len(result.labels):
        raise SynthaptError(f"{data}: {dataset.n_ions} ions, but the segmentation labels "
                            f"{len(result.labels)}; not the segmented dataset")
    return dataset, result.mesh


def proxigram_file(segmentation_path: Any, data_path: Any = None, ranges_path: Any = None,
                   bin_width: float = 0.2, progress: Any = None) -> Profile:
    """Proxigram of a segmentation file's mesh (inputs as ``proxigram_inputs``); ``bin_width`` is
    checked before anything is read."""
    check_bin_width(bin_width)
    dataset, mesh = proxigram_inputs(segmentation_path, data_path, ranges_path)
    return proxigram(dataset, mesh, bin_width=bin_width, progress=progress)
