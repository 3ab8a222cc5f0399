"""Fuzzing every reader: arbitrary bytes give a valid result or a SynthaptError, nothing else."""

import string

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthapt.data import APTDataset
from synthapt.errors import SynthaptError
from synthapt.io import load_dataset
from synthapt.io.apt6 import FILE_HEADER
from synthapt.ranges import RangeTable
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


NUMBERS = st.sampled_from(["1", "2", "0", "-1", "1e400", "nan", "inf", "26,9", "27.1", "abc", "3.5", ""])
RRNG_TOKENS = st.sampled_from(["Vol:0.1", "Vol:nan", "Al:1", "H:2", "Al:1e400", "Qq:1", "Name:AlH", "Name:X:Y",
                               "Color:FF00FF", "Color:zz", "Name:Al2O", "ni:1", ":", "Al:", "Al:0", "Vol:-1"])
RRNG_LINE = st.one_of(
    st.sampled_from(["[Ions]", "[Ranges]", "[ranges]", "[Other]", "Ion1=Al", "# c", "; c", "", "junk", "=", "[", "Range="]),
    st.builds(lambda n: f"Number={n}", NUMBERS),
    st.builds(lambda i, a, b, extra: f"Range{i}={a} {b} " + " ".join(extra),
              st.integers(0, 3), NUMBERS, NUMBERS, st.lists(RRNG_TOKENS, max_size=5)))


@FUZZ
@given(st.lists(RRNG_LINE, max_size=12), st.sampled_from(["\n", "\r\n"]),
       st.text(string.printable, max_size=200))
def test_rrng_reader(tmp_path, lines, newline, noise):
    path = tmp_path / "fuzz.rrng"
    for text in (newline.join(lines), noise):
        path.write_text(text, encoding="utf-8")
        outcome(read_rrng, path, RangeTable)


RNG_LINE = st.one_of(
    st.sampled_from(["2 2", "1 1", "Al", "Ni", "Al 0 0 1", "1 0 0", "---- Al Ni", "----", "---- Al AlH Qq",
                     "AlH", "", "-3 2", "0 0", "1e400 1", "x y"]),
    st.builds(lambda a, b, counts: f". {a} {b} " + " ".join(counts), NUMBERS, NUMBERS,
              st.lists(NUMBERS, max_size=4)))


@FUZZ
@given(st.lists(RNG_LINE, max_size=12), st.binary(max_size=200))
def test_rng_reader(tmp_path, lines, noise):
    path = tmp_path / "fuzz.rng"
    for data in ("\n".join(lines).encode(), noise):
        path.write_bytes(data)
        outcome(read_rng, path, RangeTable)
