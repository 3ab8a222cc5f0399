"""AP Suite .apt (APT6) reading, checked against an independent reader on files laid out as
documented (file header 'APT\\0', sections 'SEC\\0' with name, data type and record sizes)."""

import numpy as np
import pytest

from synthapt.errors import FormatError
from synthapt.io.apt6 import FILE_HEADER, SECTION_HEADER, read_apt6


def utf16(text: str, n: int) -> np.ndarray:
    out = np.zeros(n, "<u2")
    out[: len(text)] = [ord(c) for c in text]
    return out


def section(name: str, unit: str, data: np.ndarray, data_type: int, extra: bytes = b"") -> bytes:
    """One section (test-only writer): 148-byte header (+ ``extra``), then the records."""
    data = np.ascontiguousarray(data)
    head = np.zeros(1, SECTION_HEADER)
    head["cSignature"] = b"SEC\x00"
    head["iHeaderSize"] = SECTION_HEADER.itemsize + len(extra)
    head["iHeaderVersion"] = 2
    head["wcSectionType"] = utf16(name, 32)
    head["iSectionVersion"] = 1
    head["eRelationshipType"] = 1
    head["eRecordType"] = 1
    head["eRecordDataType"] = data_type
    head["iDataTypeSize"] = data.dtype.itemsize * 8
    head["iRecordSize"] = data.dtype.itemsize * (data.shape[1] if data.ndim == 2 else 1)
    head["wcDataUnit"] = utf16(unit, 16)
    head["llRecordCount"] = data.shape[0]
    head["llByteCount"] = data.nbytes
    return head.tobytes() + extra + data.tobytes()


def write_apt6(path, positions, mass_to_charge, tof=None, extra_sections=b""):
    n = len(mass_to_charge)
    head = np.zeros(1, FILE_HEADER)
    head["cSignature"] = b"APT\x00"
    head["iHeaderSize"] = FILE_HEADER.itemsize
    head["iHeaderVersion"] = 2
    head["wcFilename"] = utf16("test.apt", 256)
    head["llIonCount"] = n
    pos = np.asarray(positions, "<f4")
    bounds = np.r_[pos.min(axis=0), pos.max(axis=0)].astype("<f4").tobytes()
    body = section("Mass", "Da", np.asarray(mass_to_charge, "<f4").reshape(n, 1), 3)
    body += section("Position", "nm", pos, 3, extra=bounds)
    if tof is not None:
        body += section("tof", "ns", np.asarray(tof, "<f4").reshape(n, 1), 3)
    body += extra_sections
    with open(path, "wb") as fh:
        fh.write(head.tobytes() + body)


def test_apt6_layout_sizes():
    assert FILE_HEADER.itemsize == 540 and SECTION_HEADER.itemsize == 148


def test_apt6_read_agrees_with_independent_reader(rng, tmp_path):
    n = 2000
    pos = rng.normal(0, 15, (n, 3)).astype(np.float32)
    mq = rng.uniform(1, 100, n).astype(np.float32)
    tof = rng.uniform(100, 800, n).astype(np.float32)
    pulse_section = section("pulse", "", rng.integers(0, 100, n).astype("<i8").reshape(n, 1), 1)
    path = tmp_path / "run.apt"
    write_apt6(path, pos, mq, tof=tof, extra_sections=pulse_section)
    ds = read_apt6(path)
    np.testing.assert_array_equal(ds.positions, pos)
    np.testing.assert_array_equal(ds.mass_to_charge, mq)
    np.testing.assert_array_equal(ds.epos["tof"], tof)
    assert ds.metadata["apt6_sections"] == ["Mass", "Position", "tof", "pulse"]
    assert ds.metadata["apt6_units"]["Position"] == "nm"

    apt6_reader = pytest.importorskip("ifes_apt_tc_data_modeling.apt.apt6_reader")
    other = apt6_reader.ReadAptFileFormat(str(path))
    np.testing.assert_array_equal(other.get_reconstructed_positions().magnitude, ds.positions)
    np.testing.assert_array_equal(other.get_mass_to_charge_state_ratio().magnitude, ds.mass_to_charge)


def test_apt6_errors(rng, tmp_path):
    with pytest.raises(FormatError, match="file not found"):
        read_apt6(tmp_path / "none.apt")
    (tmp_path / "short.apt").write_bytes(b"APT\x00" + b"\x00" * 20)
    with pytest.raises(FormatError, match="too short"):
        read_apt6(tmp_path / "short.apt")
    (tmp_path / "sig.apt").write_bytes(b"POS\x00" + b"\x00" * 600)
    with pytest.raises(FormatError, match="signature"):
        read_apt6(tmp_path / "sig.apt")
    pos = rng.normal(0, 5, (10, 3))
    write_apt6(tmp_path / "ok.apt", pos, np.full(10, 27.0))
    data = (tmp_path / "ok.apt").read_bytes()
    (tmp_path / "cut.apt").write_bytes(data[:-7])
    with pytest.raises(FormatError, match="runs past the end"):
        read_apt6(tmp_path / "cut.apt")
    # a file without a Position section
    head = data[:540]
    (tmp_path / "nopos.apt").write_bytes(head + section("Mass", "Da", np.full((10, 1), 27.0, "<f4"), 3))
    with pytest.raises(FormatError, match="no readable 'Position' section"):
        read_apt6(tmp_path / "nopos.apt")


def test_eight_bit_float_section_is_a_format_error(rng, tmp_path):
    path = tmp_path / "f8.apt"
    write_apt6(path, rng.uniform(0, 10, (20, 3)), rng.uniform(1, 60, 20))
    raw = bytearray(path.read_bytes())
    mass_head = FILE_HEADER.itemsize  # the first section is "Mass"
    bits_at = mass_head + SECTION_HEADER.fields["iDataTypeSize"][1]
    record_at = mass_head + SECTION_HEADER.fields["iRecordSize"][1]
    raw[bits_at: bits_at + 4] = np.int32(8).tobytes()
    raw[record_at: record_at + 4] = np.int32(1).tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match=r"f8\.apt: section 'Mass': 8-bit floating-point records"):
        read_apt6(path)
