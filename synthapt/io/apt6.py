"""AP Suite / IVAS 6 ``.apt`` exchange files, read only.

Layout (little-endian; as documented by AMETEK/Cameca's CustomAnalysis interface wiki "IonData:
Sections" and implemented in ifes-apt-tc-data-modeling):

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

We read "Position" (nm) and "Mass" (Da), plus "tof", "XDet_mm", "YDet_mm" into ePOS fields when
present; other sections are listed in ``metadata["apt6_sections"]`` and skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synthapt.data import APTDataset
from synthapt.errors import FormatError
from synthapt.io.pos import check_plausible

FILE_HEADER = np.dtype([("cSignature", "S4"), ("iHeaderSize", "<i4"), ("iHeaderVersion", "<i4"),
                        ("wcFilename", "<u2", 256), ("ftCreationTime", "<u8"), ("llIonCount", "<u8")])
SECTION_HEADER = np.dtype([
    ("cSignature", "S4"), ("iHeaderSize", "<i4"), ("iHeaderVersion", "<i4"), ("wcSectionType", "<u2", 32),
    ("iSectionVersion", "<i4"), ("eRelationshipType", "<u4"), ("eRecordType", "<u4"),
    ("eRecordDataType", "<u4"), ("iDataTypeSize", "<i4"), ("iRecordSize", "<i4"),
    ("wcDataUnit", "<u2", 16), ("llRecordCount", "<u8"), ("llByteCount", "<u8")])
EPOS_SECTIONS = {"tof": "tof", "XDet_mm": "det_x", "YDet_mm": "det_y"}
_KINDS = {1: "i", 2: "u", 3: "f"}


def utf16(words: np.ndarray) -> str:
    """Null-terminated UTF-16 code units -> str."""
    units = [int(w) for w in words]
    if 0 in units:
        units = units[: units.index(0)]
    return "".join(chr(u) for u in units if u < 0xD800 or u > 0xDFFF)


def _section_array(p: Path, buf: np.ndarray, name: str, head: np.void, start: int) -> np.ndarray | None:
    """Records of a one-to-one fixed-size section as (count, values per record), or None."""
    kind = _KINDS.get(int(head["eRecordDataType"]))
    bits, record = int(head["iDataTypeSize"]), int(head["iRecordSize"])
    if (kind is None or int(head["eRelationshipType"]) != 1 or int(head["eRecordType"]) != 1
            or bits not in (8, 16, 32, 64) or record <= 0 or record % (bits // 8)):
        return None
    if kind == "f" and bits not in (16, 32, 64):
        raise FormatError(f"{p}: section {name!r}: {bits}-bit floating-point records do not exist "
                          "(16, 32 or 64 bits)")
    count = int(head["llRecordCount"])
    if count * record > int(head["llByteCount"]):
        raise FormatError(f"{p}: section {name!r}: {count} records of {record} bytes exceed its "
                          f"{int(head['llByteCount'])} bytes")
    dtype = np.dtype(f"<{kind}{bits // 8}")
    data = buf[start: start + count * record].view(dtype)
    return data.reshape(count, record // dtype.itemsize).astype(dtype.newbyteorder("="))


def read_apt6(path: str | os.PathLike) -> APTDataset:
    """Read an AP Suite .apt file -> APTDataset (positions nm, m/q Da, optional ePOS fields)."""
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
        wanted = name in ("Position", "Mass") or name in EPOS_SECTIONS
        sections[name] = _section_array(p, buf, name, head, start) if wanted else None
        units[name] = utf16(head["wcDataUnit"])
        offset = end
    for name, cols in (("Position", 3), ("Mass", 1)):
        arr = sections.get(name)
        if arr is None:
            raise FormatError(f"{p}: no readable {name!r} section (sections: {', '.join(sections) or 'none'})")
        if arr.shape != (n_ions, cols) or arr.dtype.kind != "f":
            raise FormatError(f"{p}: section {name!r} holds {arr.shape[0]} x {arr.shape[1]} "
                              f"{arr.dtype} values, expected {n_ions} x {cols} floats")
    positions = sections["Position"].astype(np.float32)
    mass_to_charge = sections["Mass"][:, 0].astype(np.float32)
    if n_ions == 0:
        raise FormatError(f"{p}: file holds no ions")
    check_plausible(p, positions, mass_to_charge, ".apt")
    epos = {}
    for name, key in EPOS_SECTIONS.items():
        arr = sections.get(name)
        if arr is not None and arr.shape == (n_ions, 1) and np.isfinite(arr).all():
            epos[key] = arr[:, 0].astype(np.float32)
    return APTDataset(positions=positions, mass_to_charge=mass_to_charge, epos=epos or None,
                      metadata={"source_file": p.name, "source_format": "APT6",
                                "apt6_sections": list(sections), "apt6_units": units})
