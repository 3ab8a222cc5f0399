"""Label files are read within bounds: declared sizes checked against the file and the memory
budget before allocating; empty, truncated, forged and non-UTF-8 files give one error line."""

from pathlib import Path

import numpy as np
import pytest

from cli_run import assert_clean_error, synthapt
from synthapt.errors import FormatError, SynthaptError
from synthapt.io.labels import read_labels

CRAFTED = Path(__file__).parent / "data" / "crafted"


def forged_npy(path: Path, shape: tuple, payload: bytes = b"") -> Path:
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                                  "shape": shape})
        fh.write(payload)
    return path


def test_npy_labels_round_trip_and_forged_sizes_are_refused_before_allocating(tmp_path):
    np.save(tmp_path / "ok.npy", np.array([[0], [1], [1]], np.int8))
    assert read_labels(tmp_path / "ok.npy").tolist() == [0, 1, 1]
    with pytest.raises(FormatError, match=r"declares 8\.0 TiB of data, but the file stores 0 B"):
        read_labels(forged_npy(tmp_path / "huge.npy", (2**40,)))
    with pytest.raises(FormatError, match=r"declares 8\.0 GiB of data, but the file stores 100 B"):
        read_labels(forged_npy(tmp_path / "big.npy", (2**30,), b"\0" * 100))
    np.save(tmp_path / "trunc.npy", np.zeros(1000))
    (tmp_path / "trunc.npy").write_bytes((tmp_path / "trunc.npy").read_bytes()[:300])
    with pytest.raises(FormatError, match="truncated or forged header"):
        read_labels(tmp_path / "trunc.npy")
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(FormatError, match="empty.npy: not a readable .npy array"):
        read_labels(tmp_path / "empty.npy")


def test_labels_over_the_memory_budget_are_refused(tmp_path, monkeypatch):
    np.save(tmp_path / "ok.npy", np.zeros(1000, np.float64))
    monkeypatch.setenv("SYNTHAPT_MEMORY_BUDGET", "4KB")
    with pytest.raises(SynthaptError, match=r"needs 7\.8 KiB, more than the memory budget"):
        read_labels(tmp_path / "ok.npy")
    with pytest.raises(FormatError, match="declares"):  # an HDF5 dataset's forged header
        read_labels(f"{CRAFTED / 'forged_size.h5'}:/ions/positions")


def test_cli_empty_npy_and_non_utf8_csv_labels_give_one_error_line(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "latin1.csv").write_bytes(b"label\n0\n\xe91\n")
    truth = CRAFTED / "good_dataset.h5"
    line = assert_clean_error(synthapt("score", "--truth", truth, "--labels", tmp_path / "empty.npy", "-q"))
    assert "empty.npy: not a readable .npy array" in line
    line = assert_clean_error(synthapt("score", "--truth", truth, "--labels", tmp_path / "latin1.csv", "-q"))
    assert "latin1.csv: not UTF-8 text" in line
