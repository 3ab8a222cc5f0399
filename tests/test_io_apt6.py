"""AP Suite .apt (APT6): every per-ion section a file can carry, read into the ePOS fields,
written back, and cross-read with an independent reader (ifes-apt-tc-data-modeling)."""

import subprocess
import sys

import numpy as np
import pytest

from synthapt.data import APTDataset
from synthapt.errors import FormatError
from synthapt.io import convert_file
from synthapt.io.apt6 import FILE_HEADER, SECTION_HEADER, read_apt6, section_bytes, utf16_words, write_apt6
from synthapt.io.epos import read_epos, write_epos


def file_header(n: int) -> bytes:
    head = np.zeros(1, FILE_HEADER)
    head["cSignature"] = b"APT\x00"
    head["iHeaderSize"] = FILE_HEADER.itemsize
    head["iHeaderVersion"] = 2
    head["wcFilename"] = utf16_words("test.apt", 256)
    head["llIonCount"] = n
    return head.tobytes()


def crafted_file(path, pos, mq, sections: list[bytes]) -> None:
    """A file laid out by hand: header, Mass, Position (+ bounds), then ``sections``."""
    bounds = np.r_[pos.min(axis=0), pos.max(axis=0)].astype("<f4").tobytes()
    body = section_bytes("Mass", "Da", mq.astype("<f4")) + section_bytes("Position", "nm", pos.astype("<f4"),
                                                                          extra=bounds)
    path.write_bytes(file_header(len(mq)) + body + b"".join(sections))


def events(rng, n):
    """Multi-hit events: ions per pulse on the first ion of each event (0 on the others), pulse
    numbers and ePOS delta pulse."""
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(rng.choice([1, 1, 1, 2, 3])))
    sizes[-1] -= sum(sizes) - n
    mult = np.zeros(n, np.int32)
    starts = np.cumsum([0] + sizes[:-1])
    mult[starts] = sizes
    event_pulse = np.cumsum(rng.integers(1, 50, len(sizes))) + (1 << 30)  # beyond float32's exact range
    pulse = np.repeat(event_pulse, sizes).astype(np.int64)
    return mult, pulse, np.diff(pulse, prepend=np.int64(0)).astype(np.uint32)


def test_apt6_layout_sizes():
    assert FILE_HEADER.itemsize == 540 and SECTION_HEADER.itemsize == 148


def test_apt6_reads_every_section_into_epos_fields(rng, tmp_path):
    n = 1500
    pos = rng.normal(0, 15, (n, 3)).astype(np.float32)
    mq = rng.uniform(1, 100, n).astype(np.float32)
    tofc = rng.uniform(100, 800, n).astype(np.float32)
    vdc = rng.uniform(3000, 6000, n).astype(np.float32)
    vap = rng.uniform(500, 900, n).astype(np.float32)
    det = rng.uniform(-35, 35, (n, 2)).astype(np.float32)
    mult, pulse, delta = events(rng, n)
    coarse = pulse.astype(np.float32)
    path = tmp_path / "run.apt"
    crafted_file(path, pos, mq, [
        section_bytes("tofc", "ns", tofc), section_bytes("Voltage", "V", vdc),
        section_bytes("Pulse Voltage", "V", vap), section_bytes("Detector Coordinates", "mm", det),
        section_bytes("Multiplicity", "", mult), section_bytes("pulse", "", coarse),
        section_bytes("pulseDelta", "", (pulse - coarse.astype(np.int64)).astype(np.int16)),
        section_bytes("Temp", "K", np.full(n, 50.0, np.float32))])
    ds = read_apt6(path)
    np.testing.assert_array_equal(ds.positions, pos)
    np.testing.assert_array_equal(ds.mass_to_charge, mq)
    np.testing.assert_array_equal(ds.epos["tof"], tofc)
    np.testing.assert_array_equal(ds.epos["v_dc"], vdc)
    np.testing.assert_array_equal(ds.epos["v_pulse"], vap)
    np.testing.assert_array_equal(ds.epos["det_x"], det[:, 0])
    np.testing.assert_array_equal(ds.epos["det_y"], det[:, 1])
    np.testing.assert_array_equal(ds.epos["ions_per_pulse"], mult)
    np.testing.assert_array_equal(ds.pulse, pulse)
    assert ds.metadata["apt6_epos_sources"] == {
        "tof": "tofc", "v_dc": "Voltage", "v_pulse": "Pulse Voltage", "det_x": "Detector Coordinates",
        "det_y": "Detector Coordinates", "ions_per_pulse": "Multiplicity", "pulse": "pulse+pulseDelta"}
    assert "Temp" in ds.metadata["apt6_sections"] and ds.metadata["apt6_units"]["Temp"] == "K"

    # -> ePOS keeps all of it; delta pulse follows from the pulse numbers
    write_epos(tmp_path / "run.epos", ds)
    back = read_epos(tmp_path / "run.epos")
    for key in ("tof", "v_dc", "v_pulse", "det_x", "det_y", "ions_per_pulse", "delta_pulse"):
        expected = {"delta_pulse": delta}.get(key, ds.epos.get(key))
        np.testing.assert_array_equal(back.epos[key], expected, err_msg=key)

    apt6_reader = pytest.importorskip("ifes_apt_tc_data_modeling.apt.apt6_reader")
    other = apt6_reader.ReadAptFileFormat(str(path))
    for name, ours in (("tofc", tofc), ("Voltage", vdc), ("Pulse Voltage", vap), ("Multiplicity", mult),
                       ("pulse", coarse)):
        np.testing.assert_array_equal(np.asarray(other.get_named_quantity(name).magnitude).ravel(), ours,
                                      err_msg=name)


def test_apt6_epos_round_trip_is_lossless_through_the_cli(rng, tmp_path):
    n = 2000
    mult, pulse, delta = events(rng, n)
    epos = {"tof": rng.uniform(100, 800, n), "v_dc": rng.uniform(3000, 6000, n),
            "v_pulse": rng.uniform(0, 900, n), "det_x": rng.uniform(-35, 35, n),
            "det_y": rng.uniform(-35, 35, n), "delta_pulse": delta, "ions_per_pulse": mult.astype(np.uint32)}
    ds = APTDataset(positions=rng.normal(0, 15, (n, 3)), mass_to_charge=rng.uniform(1, 100, n),
                    epos={k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in epos.items()})
    write_epos(tmp_path / "a.epos", ds)
    command = [sys.executable, "-m", "synthapt"]
    for src, dst in (("a.epos", "b.apt"), ("b.apt", "c.epos")):
        done = subprocess.run([*command, "convert", str(tmp_path / src), str(tmp_path / dst), "-q"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "c.epos").read_bytes() == (tmp_path / "a.epos").read_bytes()
    # writing is deterministic (the header holds the file name)
    (tmp_path / "again").mkdir()
    convert_file(tmp_path / "a.epos", tmp_path / "again" / "b.apt")
    assert (tmp_path / "again" / "b.apt").read_bytes() == (tmp_path / "b.apt").read_bytes()

    apt6_reader = pytest.importorskip("ifes_apt_tc_data_modeling.apt.apt6_reader")
    other = apt6_reader.ReadAptFileFormat(str(tmp_path / "b.apt"))
    np.testing.assert_array_equal(other.get_reconstructed_positions().magnitude, ds.positions)
    np.testing.assert_array_equal(other.get_mass_to_charge_state_ratio().magnitude, ds.mass_to_charge)
    for name, key in (("tof", "tof"), ("Voltage", "v_dc"), ("Pulse Voltage", "v_pulse"),
                      ("XDet_mm", "det_x"), ("YDet_mm", "det_y"), ("Multiplicity", "ions_per_pulse")):
        np.testing.assert_array_equal(np.asarray(other.get_named_quantity(name).magnitude).ravel(),
                                      ds.epos[key], err_msg=name)
    real_pulse = (other.get_named_quantity("pulse").magnitude.astype(np.float64)
                  + other.get_named_quantity("pulseDelta").magnitude.astype(np.float64))
    np.testing.assert_array_equal(real_pulse, np.cumsum(delta, dtype=np.int64))


def test_apt6_delta_pulse_not_following_the_pulse_numbers_is_kept(rng, tmp_path):
    n = 50
    delta = rng.integers(0, 5, n).astype(np.uint32)
    ds = APTDataset(positions=rng.normal(0, 5, (n, 3)), mass_to_charge=np.full(n, 27.0),
                    pulse=np.arange(n) * 3, epos={"delta_pulse": delta})
    write_apt6(tmp_path / "x.apt", ds)
    back = read_apt6(tmp_path / "x.apt")
    np.testing.assert_array_equal(back.pulse, ds.pulse)
    np.testing.assert_array_equal(back.epos["delta_pulse"], delta)
    assert back.metadata["apt6_epos_sources"]["delta_pulse"] == "Pulse Delta"


def test_apt6_errors(rng, tmp_path):
    with pytest.raises(FormatError, match="file not found"):
        read_apt6(tmp_path / "none.apt")
    (tmp_path / "short.apt").write_bytes(b"APT\x00" + b"\x00" * 20)
    with pytest.raises(FormatError, match="too short"):
        read_apt6(tmp_path / "short.apt")
    (tmp_path / "sig.apt").write_bytes(b"POS\x00" + b"\x00" * 600)
    with pytest.raises(FormatError, match="signature"):
        read_apt6(tmp_path / "sig.apt")
    pos = rng.normal(0, 5, (10, 3)).astype(np.float32)
    mq = np.full(10, 27.0, np.float32)
    crafted_file(tmp_path / "ok.apt", pos, mq, [])
    data = (tmp_path / "ok.apt").read_bytes()
    (tmp_path / "cut.apt").write_bytes(data[:-7])
    with pytest.raises(FormatError, match="runs past the end"):
        read_apt6(tmp_path / "cut.apt")
    (tmp_path / "nopos.apt").write_bytes(data[:540] + section_bytes("Mass", "Da", mq))
    with pytest.raises(FormatError, match="no readable 'Position' section"):
        read_apt6(tmp_path / "nopos.apt")
    crafted_file(tmp_path / "short_tof.apt", pos, mq, [section_bytes("tof", "ns", np.ones(9, np.float32))])
    with pytest.raises(FormatError, match="'tof' holds 9 records but the file header declares 10"):
        read_apt6(tmp_path / "short_tof.apt")
    crafted_file(tmp_path / "mult.apt", pos, mq, [section_bytes("Multiplicity", "", np.full(10, 1.5, np.float32))])
    with pytest.raises(FormatError, match="'Multiplicity' holds non-integer values"):
        read_apt6(tmp_path / "mult.apt")
    with pytest.raises(FormatError, match="pulse numbers must lie in"):
        write_apt6(tmp_path / "big.apt", APTDataset(positions=pos, mass_to_charge=mq,
                                                    pulse=np.full(10, 1 << 40)))
    assert not (tmp_path / "big.apt").exists()


def test_eight_bit_float_section_is_a_format_error(rng, tmp_path):
    path = tmp_path / "f8.apt"
    crafted_file(path, rng.uniform(0, 10, (20, 3)), rng.uniform(1, 60, 20), [])
    raw = bytearray(path.read_bytes())
    mass_head = FILE_HEADER.itemsize  # the first section is "Mass"
    bits_at = mass_head + SECTION_HEADER.fields["iDataTypeSize"][1]
    record_at = mass_head + SECTION_HEADER.fields["iRecordSize"][1]
    raw[bits_at: bits_at + 4] = np.int32(8).tobytes()
    raw[record_at: record_at + 4] = np.int32(1).tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match=r"f8\.apt: section 'Mass': 8-bit floating-point records"):
        read_apt6(path)
