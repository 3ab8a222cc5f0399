"""Fuzzing every reader: arbitrary bytes give a valid result or a SynthaptError, nothing else."""

import string

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthapt.data import APTDataset
from synthapt.errors import SynthaptError
from synthapt.io import load_dataset
from synthapt.io.apt6 import FILE_HEADER
from synthapt.io.ranges import RangeTable
from synthapt.io.rng import read_rng
from synthapt.io.rrng import read_rrng

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(reader, path, expected_type):
    try:
        result = reader(path)
    except SynthaptError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(result, expected_type)
    return result


def apt_header() -> bytes:
    head = np.zeros(1, FILE_HEADER)
    head["cSignature"] = b"APT\x00"
    head["iHeaderSize"] = 540
    head["iHeaderVersion"] = 2
    head["llIonCount"] = 2
    return head.tobytes()


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".pos", ".epos", ".apt", ".h5"]),
       apt_prefix=st.booleans())
def test_binary_readers(tmp_path, data, suffix, apt_prefix):
    if suffix == ".apt" and apt_prefix:
        data = apt_header() + data
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    ds = outcome(load_dataset, path, APTDataset)
    if ds is not None:
        assert np.isfinite(ds.positions).all() and len(ds.mass_to_charge) == ds.n_ions


def test_hdf5_reader_on_corrupted_real_file(tmp_path):
    from synthapt.io.hdf5 import write_dataset

    write_dataset(tmp_path / "ok.h5", APTDataset(positions=np.ones((5, 3)), mass_to_charge=np.ones(5)))
    good = (tmp_path / "ok.h5").read_bytes()
    rng = np.random.default_rng(0)
    for k in range(60):
        bad = bytearray(good)
        for i in rng.integers(0, len(bad), 8):
            bad[i] = int(rng.integers(0, 256))
        path = tmp_path / f"bad{k}.h5"
        path.write_bytes(bytes(bad[: len(bad) if k % 2 else int(rng.integers(1, len(bad)))]))
        outcome(load_dataset, path, APTDataset)


RRNG_WORDS = ["[Ions]", "[Ranges]", "Number=", "Range1=", "Range2=", "Ion1=", "Vol:", "Color:",
              "Name:", "Al:", "H:", "Ni:1", "Qq:2", "27.0", "26,9", "-1", "1e400", "nan", "=", ":",
              "FF00FF", " ", "\n", "\r\n", "#", ";", "0", "3"]


@FUZZ
@given(st.lists(st.sampled_from(RRNG_WORDS), max_size=40) | st.text(string.printable, max_size=200).map(lambda t: [t]))
def test_rrng_reader(tmp_path, words):
    path = tmp_path / "fuzz.rrng"
    path.write_text("".join(words), encoding="utf-8")
    outcome(read_rrng, path, RangeTable)


RNG_WORDS = ["2 2", "1 1", "Al", "Ni", "1 0 0", "---- Al Ni", "----", ". 26.9 27.1 1 0",
             ". 27 26 0 1", ". 1 2 x 1", ". 28 29 0 2", "AlH", "\n", " ", "-3 2", "0 0"]


@FUZZ
@given(st.lists(st.sampled_from(RNG_WORDS), max_size=30) | st.binary(max_size=200).map(lambda b: [b.decode("latin-1")]))
def test_rng_reader(tmp_path, words):
    path = tmp_path / "fuzz.rng"
    path.write_text("".join(words), encoding="utf-8")
    outcome(read_rng, path, RangeTable)
