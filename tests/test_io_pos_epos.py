"""POS and ePOS: exact round trips, agreement with an independent reader, clear errors."""

import numpy as np
import pytest

from synthapt.data import EPOS_FIELDS, APTDataset, dataclass_arrays_equal
from synthapt.errors import FormatError, SynthaptError
from synthapt.io.epos import EPOS_DTYPE, read_epos, write_epos
from synthapt.io.pos import read_pos, write_pos


def make_dataset(rng, n=5000, epos=True) -> APTDataset:
    pos = rng.normal(0, 20, (n, 3)).astype(np.float32)
    mq = rng.uniform(0.5, 120, n).astype(np.float32)
    pulse = np.cumsum(rng.integers(0, 5, n)).astype(np.int64) + 1
    fields = None
    if epos:
        delta = np.diff(pulse, prepend=0).astype(np.uint32)
        fields = {"tof": rng.uniform(100, 900, n).astype(np.float32),
                  "v_dc": rng.uniform(3000, 8000, n).astype(np.float32),
                  "v_pulse": np.zeros(n, np.float32),
                  "det_x": rng.uniform(-20, 20, n).astype(np.float32),
                  "det_y": rng.uniform(-20, 20, n).astype(np.float32),
                  "delta_pulse": delta, "ions_per_pulse": rng.integers(0, 3, n).astype(np.uint32)}
    return APTDataset(positions=pos, mass_to_charge=mq, epos=fields, pulse=pulse if epos else None)


def test_pos_round_trip_exact(rng, tmp_path):
    ds = make_dataset(rng)
    write_pos(tmp_path / "a.pos", ds)
    assert (tmp_path / "a.pos").stat().st_size == 16 * ds.n_ions
    back = read_pos(tmp_path / "a.pos")
    np.testing.assert_array_equal(back.positions, ds.positions)
    np.testing.assert_array_equal(back.mass_to_charge, ds.mass_to_charge)
    assert back.epos is None and back.pulse is None  # a POS write drops ePOS fields
    assert back.positions.flags.c_contiguous and back.positions.dtype == np.float32
    write_pos(tmp_path / "b.pos", back)
    assert (tmp_path / "a.pos").read_bytes() == (tmp_path / "b.pos").read_bytes()


def test_pos_layout_is_big_endian_float32(tmp_path):
    ds = APTDataset(positions=[[1.0, -2.0, 3.5]], mass_to_charge=[27.0])
    write_pos(tmp_path / "one.pos", ds)
    assert (tmp_path / "one.pos").read_bytes() == np.array([1.0, -2.0, 3.5, 27.0], ">f4").tobytes()


def test_epos_round_trip_exact(rng, tmp_path):
    ds = make_dataset(rng)
    write_epos(tmp_path / "a.epos", ds)
    back = read_epos(tmp_path / "a.epos")
    assert dataclass_arrays_equal(back.replace(metadata={}), ds)
    assert set(back.epos) == set(EPOS_FIELDS)
    raw = np.fromfile(tmp_path / "a.epos", dtype=EPOS_DTYPE)
    np.testing.assert_array_equal(raw["ions_per_pulse"], ds.epos["ions_per_pulse"])
    np.testing.assert_array_equal(raw["tof"], ds.epos["tof"])


def test_epos_fields_derived_from_pulse(tmp_path):
    ds = APTDataset(positions=np.zeros((6, 3)), mass_to_charge=np.full(6, 27.0),
                    pulse=np.array([3, 3, 7, 8, 8, 8]))
    write_epos(tmp_path / "p.epos", ds)
    back = read_epos(tmp_path / "p.epos")
    assert back.epos["delta_pulse"].tolist() == [3, 0, 4, 1, 0, 0]
    assert back.epos["ions_per_pulse"].tolist() == [2, 0, 1, 3, 0, 0]
    assert back.pulse.tolist() == [3, 3, 7, 8, 8, 8]
    assert not back.epos["tof"].any()


def test_independent_reader_agrees(rng, tmp_path):
    ifes_pos = pytest.importorskip("ifes_apt_tc_data_modeling.pos.pos_reader")
    from ifes_apt_tc_data_modeling.epos.epos_reader import ReadEposFileFormat

    ds = make_dataset(rng, n=3000)
    write_pos(tmp_path / "a.pos", ds)
    write_epos(tmp_path / "a.epos", ds)
    other = ifes_pos.ReadPosFileFormat(str(tmp_path / "a.pos"))
    np.testing.assert_array_equal(other.get_reconstructed_positions().magnitude, ds.positions)
    np.testing.assert_array_equal(other.get_mass_to_charge_state_ratio().magnitude, ds.mass_to_charge)
    other = ReadEposFileFormat(str(tmp_path / "a.epos"))
    np.testing.assert_array_equal(other.get_reconstructed_positions().magnitude, ds.positions)
    np.testing.assert_array_equal(other.get_mass_to_charge_state_ratio().magnitude, ds.mass_to_charge)
    np.testing.assert_array_equal(other.get_raw_time_of_flight().magnitude, ds.epos["tof"])
    hits = other.get_hit_positions().magnitude
    np.testing.assert_array_equal(hits[:, 0], ds.epos["det_x"])
    np.testing.assert_array_equal(hits[:, 1], ds.epos["det_y"])
    np.testing.assert_array_equal(other.get_number_of_pulses().magnitude, ds.epos["delta_pulse"])
    np.testing.assert_array_equal(other.get_ions_per_pulse().magnitude, ds.epos["ions_per_pulse"])
    # that reader takes the voltage columns as kV and reports V
    np.testing.assert_allclose(other.get_standing_voltage().magnitude, 1000.0 * ds.epos["v_dc"], rtol=1e-6)


@pytest.mark.parametrize("reader,suffix,record", [(read_pos, ".pos", 16), (read_epos, ".epos", 44)])
def test_bad_files(reader, suffix, record, tmp_path):
    with pytest.raises(FormatError, match="file not found"):
        reader(tmp_path / f"missing{suffix}")
    (tmp_path / f"empty{suffix}").write_bytes(b"")
    with pytest.raises(FormatError, match="empty file"):
        reader(tmp_path / f"empty{suffix}")
    (tmp_path / f"odd{suffix}").write_bytes(b"\0" * (2 * record + 5))
    with pytest.raises(FormatError, match="5 bytes left over"):
        reader(tmp_path / f"odd{suffix}")
    with pytest.raises(FormatError, match="is a folder"):
        reader(tmp_path)


def test_nan_and_wrong_byte_order(tmp_path):
    vals = np.array([[1, 2, 3, 27], [1, np.nan, 3, 27]], ">f4")
    vals.tofile(tmp_path / "nan.pos")
    with pytest.raises(FormatError, match="1 non-finite"):
        read_pos(tmp_path / "nan.pos")
    # a little-endian file read as big-endian gives absurd numbers
    np.array([[1.5, 2.25, 3.0, 27.0], [12.0, -4.0, 8.0, 58.5]], "<f4").tofile(tmp_path / "le.pos")
    with pytest.raises(FormatError, match="wrong byte order or not a POS file"):
        read_pos(tmp_path / "le.pos")
    np.array([[1, 2, 3, -5.0]], ">f4").tofile(tmp_path / "neg.pos")
    with pytest.raises(FormatError, match="implausible mass-to-charge -5 Da"):
        read_pos(tmp_path / "neg.pos")


def test_write_refuses_empty_and_leaves_nothing(tmp_path):
    empty = APTDataset(positions=np.zeros((0, 3)), mass_to_charge=np.zeros(0))
    with pytest.raises(SynthaptError, match="no ions"):
        write_pos(tmp_path / "e.pos", empty)
    with pytest.raises(SynthaptError, match="does not exist"):
        write_pos(tmp_path / "nope" / "e.pos", APTDataset(positions=[[0, 0, 0]], mass_to_charge=[1]))
    assert list(tmp_path.iterdir()) == []


def test_implausible_coordinates_and_epos_nan(rng, tmp_path):
    np.array([[2e5, 0, 0, 27.0]], ">f4").tofile(tmp_path / "far.pos")
    with pytest.raises(FormatError, match="implausible coordinate 2e\\+05 nm"):
        read_pos(tmp_path / "far.pos")
    ds = make_dataset(rng, n=10)
    ds.epos["tof"][3] = np.inf  # a private copy made for this test
    write_epos(tmp_path / "inf.epos", ds)
    with pytest.raises(FormatError, match="1 non-finite \\(NaN/inf\\) tof values in ions 0..9"):
        read_epos(tmp_path / "inf.epos")
