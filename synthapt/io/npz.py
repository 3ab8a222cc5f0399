"""Byte-reproducible ``.npz`` files: ``np.savez`` stamps every member with the current time, so
two saves of the same arrays differ; ``save_npz`` writes fixed timestamps instead."""

from __future__ import annotations

import os
import zipfile

import numpy as np

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], compress: bool = True) -> None:
    """Write ``arrays`` (name -> array, no object arrays) as an ``.npz`` readable by ``np.load``;
    same arrays -> identical bytes. Members are written in the dict's order."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method, allowZip64=True) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_ZIP_TIME)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
