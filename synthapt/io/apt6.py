"""AP Suite / IVAS 6 ``.apt`` exchange files: read every per-ion section, write the ePOS ones.

Layout (little-endian; as documented by AMETEK/Cameca's CustomAnalysis interface ("IonData:
Sections", ``IonDataSectionName``) and implemented in ifes-apt-tc-data-modeling):

- file header, ``iHeaderSize`` (540) bytes: ``cSignature`` "APT\\0", ``iHeaderSize`` int32,
  ``iHeaderVersion`` int32, ``wcFilename`` 256 x UTF-16, ``ftCreationTime`` uint64,
  ``llIonCount`` uint64;
- then sections, each a header of ``iHeaderSize`` bytes (148, or 172 for "Position", whose header
  carries 6 float32 bounds): ``cSignature`` "SEC\\0", ``iHeaderSize``, ``iHeaderVersion``,
  ``wcSectionType`` 32 x UTF-16 (the section name), ``iSectionVersion``, ``eRelationshipType``
  (1 = one record per ion), ``eRecordType`` (1 = fixed size), ``eRecordDataType`` (1 int,
  2 uint, 3 float), ``iDataTypeSize`` (bits), ``iRecordSize`` (bytes), ``wcDataUnit``
  16 x UTF-16, ``llRecordCount`` uint64, ``llByteCount`` uint64; followed by ``llByteCount``
  bytes of records.

Sections mapped to ``APTDataset`` fields (``EPOS_SECTIONS``; the first present name wins):

- "Position" (nm, 3 x float32) and "Mass" (m/q, Da): positions and mass_to_charge (required);
- time of flight (ns): "tof" (raw), "Epos ToF", "Time of Flight" (t0 subtracted), "tofc"
  (corrected) -> ``tof``;
- "Voltage" (specimen DC voltage, V) -> ``v_dc``; "Pulse Voltage" / "Vap" (V) -> ``v_pulse``;
- "XDet_mm", "YDet_mm" or the two columns of "Detector Coordinates" (mm) -> ``det_x``, ``det_y``;
- "Multiplicity" (ions in this pulse on its first ion, 0 on the others; the ePOS "ions per
  pulse") -> ``ions_per_pulse``; "Pulse Delta" / "Delta Pulse" (pulses since the previous
  event) -> ``delta_pulse``;
- "pulse" (float32) + "pulseDelta" (int16 correction): pulse number = pulse + pulseDelta ->
  ``APTDataset.pulse`` (int64); the ePOS delta pulse follows from it when no "Pulse Delta" exists.

Every other section is listed, with its unit, in ``metadata["apt6_sections"]`` /
``["apt6_units"]``; ``metadata["apt6_epos_sources"]`` says which section filled each field.
So APT -> ePOS keeps every field ePOS has (``synthapt convert run.apt run.epos``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synthapt.data import APTDataset
from synthapt.errors import FormatError
from synthapt.io.atomic import atomic_output
from synthapt.io.pos import check_not_empty, check_plausible

FILE_HEADER = np.dtype([("cSignature", "S4"), ("iHeaderSize", "<i4"), ("iHeaderVersion", "<i4"),
                        ("wcFilename", "<u2", 256), ("ftCreationTime", "<u8"), ("llIonCount", "<u8")])
SECTION_HEADER = np.dtype([
    ("cSignature", "S4"), ("iHeaderSize", "<i4"), ("iHeaderVersion", "<i4"), ("wcSectionType", "<u2", 32),
    ("iSectionVersion", "<i4"), ("eRelationshipType", "<u4"), ("eRecordType", "<u4"),
    ("eRecordDataType", "<u4"), ("iDataTypeSize", "<i4"), ("iRecordSize", "<i4"),
    ("wcDataUnit", "<u2", 16), ("llRecordCount", "<u8"), ("llByteCount", "<u8")])
EPOS_SECTIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "tof": (("tof", 0), ("Epos ToF", 0), ("Time of Flight", 0), ("tofc", 0)),
    "v_dc": (("Voltage", 0),),
    "v_pulse": (("Pulse Voltage", 0), ("Vap", 0)),
    "det_x": (("XDet_mm", 0), ("Detector Coordinates", 0)),
    "det_y": (("YDet_mm", 0), ("Detector Coordinates", 1)),
    "delta_pulse": (("Pulse Delta", 0), ("Delta Pulse", 0)),
    "ions_per_pulse": (("Multiplicity", 0),),
}
"""ePOS field -> (section name, column) candidates, in order of preference."""
PULSE_SECTIONS = ("pulse", "pulseDelta")
WANTED = {"Position", "Mass", *PULSE_SECTIONS} | {name for cands in EPOS_SECTIONS.values() for name, _ in cands}
INTEGER_FIELDS = ("delta_pulse", "ions_per_pulse")
_KINDS = {1: "i", 2: "u", 3: "f"}
_CODES = {"i": 1, "u": 2, "f": 3}
MAX_EXACT_PULSE = 1 << 39
"""Largest pulse number that float32 "pulse" + int16 "pulseDelta" can hold exactly."""


def utf16(words: np.ndarray) -> str:
    """Null-terminated UTF-16 code units -> str."""
    units = [int(w) for w in words]
    if 0 in units:
        units = units[: units.index(0)]
    return "".join(chr(u) for u in units if u < 0xD800 or u > 0xDFFF)


def utf16_words(text: str, n: int) -> np.ndarray:
    """``text`` as ``n`` null-padded UTF-16 code units (BMP characters only)."""
    out = np.zeros(n, "<u2")
    units = [ord(c) for c in text[: n - 1] if ord(c) < 0x10000]
    out[: len(units)] = units
    return out


def _section_array(p: Path, buf: np.ndarray, name: str, head: np.void, start: int,
                   n_ions: int) -> np.ndarray | None:
    """Records of a one-to-one fixed-size section as (count, values per record), or None."""
    kind = _KINDS.get(int(head["eRecordDataType"]))
    bits, record = int(head["iDataTypeSize"]), int(head["iRecordSize"])
    if (kind is None or int(head["eRelationshipType"]) != 1 or int(head["eRecordType"]) != 1
            or bits not in (8, 16, 32, 64) or record <= 0 or record % (bits // 8)):
        return None
    if kind == "f" and bits == 8:
        raise FormatError(f"{p}: section {name!r}: 8-bit floating-point records do not exist "
                          "(16, 32 or 64 bits)")
    if kind == "f" and bits == 16:
        return None  # half precision: not read (no vendor writes it)
    count = int(head["llRecordCount"])
    if count * record > int(head["llByteCount"]):
        raise FormatError(f"{p}: section {name!r}: {count} records of {record} bytes exceed its "
                          f"{int(head['llByteCount'])} bytes")
    if count != n_ions:
        raise FormatError(f"{p}: section {name!r} holds {count} records but the file header "
                          f"declares {n_ions} ions")
    dtype = np.dtype(f"<{kind}{bits // 8}")
    data = buf[start: start + count * record].view(dtype)
    return data.reshape(count, record // dtype.itemsize).astype(dtype.newbyteorder("="))


def _read_sections(p: Path, buf: np.ndarray, offset: int, n_ions: int):
    """All sections after the file header: ({name: array or None}, {name: unit})."""
    sections: dict[str, np.ndarray | None] = {}
    units: dict[str, str] = {}
    while offset < len(buf):
        if offset + SECTION_HEADER.itemsize > len(buf):
            raise FormatError(f"{p}: truncated section header at byte {offset}")
        head = buf[offset: offset + SECTION_HEADER.itemsize].view(SECTION_HEADER)[0]
        if bytes(head["cSignature"]).rstrip(b"\x00") != b"SEC":
            raise FormatError(f"{p}: no 'SEC' section signature at byte {offset}")
        name = utf16(head["wcSectionType"])
        start = offset + int(head["iHeaderSize"])
        end = start + int(head["llByteCount"])
        if int(head["iHeaderSize"]) < SECTION_HEADER.itemsize or end > len(buf):
            raise FormatError(f"{p}: section {name!r} at byte {offset} runs past the end of the file")
        if name in sections:
            raise FormatError(f"{p}: section {name!r} appears twice")
        sections[name] = _section_array(p, buf, name, head, start, n_ions) if name in WANTED else None
        units[name] = utf16(head["wcDataUnit"])
        offset = end
    return sections, units


def _epos_fields(p: Path, sections: dict[str, np.ndarray | None]) -> tuple[dict, dict]:
    """ePOS fields found in ``sections`` and the section each came from."""
    epos, sources = {}, {}
    for key, candidates in EPOS_SECTIONS.items():
        for name, column in candidates:
            arr = sections.get(name)
            if arr is None or arr.shape[1] <= column:
                continue
            values = arr[:, column]
            if key in INTEGER_FIELDS:
                if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
                    raise FormatError(f"{p}: section {name!r} holds non-integer values; "
                                      f"expected whole counts")
                if values.size and (values.min() < 0 or values.max() > np.iinfo(np.uint32).max):
                    raise FormatError(f"{p}: section {name!r} holds values outside 0..2^32-1")
                epos[key] = values.astype(np.uint32)
            else:
                epos[key] = values.astype(np.float32)
            sources[key] = name
            break
    return epos, sources


def _pulse_numbers(p: Path, sections: dict[str, np.ndarray | None], epos: dict) -> np.ndarray | None:
    """Absolute pulse numbers from "pulse" (+ "pulseDelta"), else the running sum of delta pulse."""
    pulse = sections.get("pulse")
    if pulse is not None:
        value = pulse[:, 0].astype(np.float64)
        correction = sections.get("pulseDelta")
        if correction is not None:
            value = value + correction[:, 0].astype(np.float64)
        if not np.isfinite(value).all() or (value.size and value.min() < 0):
            raise FormatError(f"{p}: section 'pulse' holds negative or non-finite pulse numbers")
        return np.rint(value).astype(np.int64)
    if "delta_pulse" in epos:
        return np.cumsum(epos["delta_pulse"], dtype=np.int64)
    return None


def read_apt6(path: str | os.PathLike) -> APTDataset:
    """Read an AP Suite .apt file -> APTDataset (positions nm, m/q Da, ePOS fields, pulse)."""
    p = Path(path)
    try:
        buf = np.fromfile(p, dtype=np.uint8)
    except FileNotFoundError:
        raise FormatError(f"{p}: file not found") from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise FormatError(f"{p}: cannot read ({getattr(exc, 'strerror', exc)})") from None
    if len(buf) < FILE_HEADER.itemsize:
        raise FormatError(f"{p}: {len(buf)} bytes is too short for an APT header; not an .apt file?")
    header = buf[: FILE_HEADER.itemsize].view(FILE_HEADER)[0]
    if bytes(buf[:4]) != b"APT\x00":
        raise FormatError(f"{p}: missing 'APT' signature; not an AP Suite .apt file")
    offset = int(header["iHeaderSize"])
    n_ions = int(header["llIonCount"])
    if offset < FILE_HEADER.itemsize or offset > len(buf):
        raise FormatError(f"{p}: impossible header size {offset} bytes")
    sections, units = _read_sections(p, buf, offset, n_ions)
    for name, cols in (("Position", 3), ("Mass", 1)):
        arr = sections.get(name)
        if arr is None:
            raise FormatError(f"{p}: no readable {name!r} section (sections: {', '.join(sections) or 'none'})")
        if arr.shape != (n_ions, cols) or arr.dtype.kind != "f":
            raise FormatError(f"{p}: section {name!r} holds {arr.shape[0]} x {arr.shape[1]} "
                              f"{arr.dtype} values, expected {n_ions} x {cols} floats")
    if n_ions == 0:
        raise FormatError(f"{p}: file holds no ions")
    positions = sections["Position"].astype(np.float32)
    mass_to_charge = sections["Mass"][:, 0].astype(np.float32)
    check_plausible(p, positions, mass_to_charge, ".apt")
    epos, sources = _epos_fields(p, sections)
    pulse = _pulse_numbers(p, sections, epos)
    if pulse is not None and sections.get("pulse") is not None:
        sources["pulse"] = "pulse" + ("+pulseDelta" if sections.get("pulseDelta") is not None else "")
    return APTDataset(positions=positions, mass_to_charge=mass_to_charge, epos=epos or None, pulse=pulse,
                      metadata={"source_file": p.name, "source_format": "APT6",
                                "apt6_sections": list(sections), "apt6_units": units,
                                "apt6_epos_sources": sources})


# ---------------------------------------------------------------------------- writing
def section_bytes(name: str, unit: str, data: np.ndarray, extra: bytes = b"") -> bytes:
    """One one-to-one, fixed-size section: header (+ ``extra`` header bytes), then the records.

    data: (M,) or (M, k) int/uint/float array (written little-endian)."""
    data = np.ascontiguousarray(data)
    values = data.dtype.newbyteorder("<")
    head = np.zeros(1, SECTION_HEADER)
    head["cSignature"] = b"SEC\x00"
    head["iHeaderSize"] = SECTION_HEADER.itemsize + len(extra)
    head["iHeaderVersion"] = 2
    head["wcSectionType"] = utf16_words(name, 32)
    head["iSectionVersion"] = 1
    head["eRelationshipType"] = 1
    head["eRecordType"] = 1
    head["eRecordDataType"] = _CODES[data.dtype.kind]
    head["iDataTypeSize"] = data.dtype.itemsize * 8
    head["iRecordSize"] = data.dtype.itemsize * (data.shape[1] if data.ndim == 2 else 1)
    head["wcDataUnit"] = utf16_words(unit, 16)
    head["llRecordCount"] = data.shape[0]
    head["llByteCount"] = data.nbytes
    return head.tobytes() + extra + data.astype(values).tobytes()


WRITTEN_SECTIONS = {"tof": ("tof", "ns"), "v_dc": ("Voltage", "V"), "v_pulse": ("Pulse Voltage", "V"),
                    "det_x": ("XDet_mm", "mm"), "det_y": ("YDet_mm", "mm")}
"""ePOS float field -> (section name, unit) written by ``write_apt6``."""


def _pulse_sections(path: str | os.PathLike, dataset: APTDataset) -> list[bytes]:
    """"pulse" + "pulseDelta" from the pulse numbers, "Pulse Delta" if the ePOS delta pulse
    does not follow from them, and "Multiplicity"."""
    epos = dataset.epos or {}
    delta = epos.get("delta_pulse")
    pulse = dataset.pulse if dataset.pulse is not None else (
        None if delta is None else np.cumsum(delta, dtype=np.int64))
    out = []
    if pulse is not None:
        if pulse.size and (pulse.min() < 0 or pulse.max() >= MAX_EXACT_PULSE):
            raise FormatError(f"{path}: pulse numbers must lie in 0..2^39 to be stored exactly")
        coarse = pulse.astype(np.float32)
        out += [section_bytes("pulse", "", coarse),
                section_bytes("pulseDelta", "", (pulse - coarse.astype(np.int64)).astype(np.int16))]
        if delta is not None and not np.array_equal(np.diff(pulse, prepend=np.int64(0)), delta):
            out.append(section_bytes("Pulse Delta", "", np.asarray(delta, np.int32)))
    if "ions_per_pulse" in epos:
        counts = np.asarray(epos["ions_per_pulse"])
        if counts.size and counts.max() > np.iinfo(np.int32).max:
            raise FormatError(f"{path}: ions per pulse above 2^31-1 cannot be written as 'Multiplicity'")
        out.append(section_bytes("Multiplicity", "", counts.astype(np.int32)))
    return out


def write_apt6(path: str | os.PathLike, dataset: APTDataset) -> None:
    """Write ``dataset`` as an AP Suite .apt file (atomically; byte-identical for equal data).

    Sections: "Mass" (Da), "Position" (nm, with its 6 bounds), then those of the ePOS fields the
    dataset has ("tof", "Voltage", "Pulse Voltage", "XDet_mm", "YDet_mm"), "pulse"/"pulseDelta"
    from the pulse numbers (or the running sum of delta pulse), "Multiplicity". ``read_apt6``
    reads back every field exactly (the creation time is written as 0).
    """
    check_not_empty(path, dataset)
    n = dataset.n_ions
    head = np.zeros(1, FILE_HEADER)
    head["cSignature"] = b"APT\x00"
    head["iHeaderSize"] = FILE_HEADER.itemsize
    head["iHeaderVersion"] = 2
    head["wcFilename"] = utf16_words(Path(path).name, 256)
    head["llIonCount"] = n
    pos = np.asarray(dataset.positions, np.float32)
    bounds = np.r_[pos.min(axis=0), pos.max(axis=0)].astype("<f4").tobytes()
    parts = [head.tobytes(), section_bytes("Mass", "Da", np.asarray(dataset.mass_to_charge, np.float32)),
             section_bytes("Position", "nm", pos, extra=bounds)]
    epos = dataset.epos or {}
    for key, (name, unit) in WRITTEN_SECTIONS.items():
        if key in epos:
            parts.append(section_bytes(name, unit, np.asarray(epos[key], np.float32)))
    parts += _pulse_sections(path, dataset)
    with atomic_output(path, suffix=".apt") as tmp, tmp.open("wb") as fh:
        for part in parts:
            fh.write(part)
