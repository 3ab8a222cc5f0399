"""Write the crafted-input corpus of tests/test_cli_fuzz.py into this folder.

Run once (``python tests/data/crafted/make_crafted.py``); the files are kept in the repository so
the corpus stays fixed. Valid base files (``good_*``) come from synthapt's own writers; every
other file is one of them with a single defect (see ``CRAFTED``), a few KB each.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from synthapt.apt import EmulationParams, emulate  # noqa: E402
from synthapt.apt.specimens import lattice_specimen  # noqa: E402
from synthapt.cli import run  # noqa: E402
from synthapt.config import from_dict  # noqa: E402
from synthapt.io.epos import write_epos  # noqa: E402
from synthapt.io.hdf5 import write_dataset, write_specimen  # noqa: E402
from synthapt.io.pos import write_pos  # noqa: E402
from synthapt.io.rrng import write_rrng  # noqa: E402
from synthapt.structures.layered import Layered  # noqa: E402


def _h5(name: str, base: str, edit) -> None:
    """``base`` with ``edit(file)`` applied, copied into a fresh file (no space left by deletes)."""
    scratch = HERE / f"{name}.tmp"
    shutil.copy(HERE / base, scratch)
    with h5py.File(scratch, "a") as f:
        edit(f)
    with h5py.File(scratch, "r") as src, h5py.File(HERE / name, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for key in src:
            src.copy(src[key], dst, name=key)
    scratch.unlink()


def _replace(path: str, data, **options):
    def edit(f):
        del f[path]
        f.create_dataset(path, data=data, **options)
    return edit


def _declare(path: str, shape, dtype, **options):
    def edit(f):
        del f[path]
        f.create_dataset(path, shape=shape, dtype=dtype, chunks=(1024,) + tuple(shape[1:]),
                         **options)[:10] = 1
    return edit


def _bytes(name: str, base: str, edit) -> None:
    (HERE / name).write_bytes(edit(bytearray((HERE / base).read_bytes())))


def _apt6(n_ions: int, mass_bits: int = 32, byte_count_extra: int = 0) -> bytes:
    from synthapt.io.apt6 import FILE_HEADER, SECTION_HEADER

    def utf16(text, n):
        out = np.zeros(n, "<u2")
        out[: len(text)] = [ord(c) for c in text]
        return out

    head = np.zeros(1, FILE_HEADER)
    head["cSignature"], head["iHeaderSize"], head["llIonCount"] = b"APT\x00", FILE_HEADER.itemsize, n_ions
    body = b""
    rng = np.random.default_rng(1)
    for name, cols, bits in (("Mass", 1, mass_bits), ("Position", 3, 32)):
        data = rng.uniform(1, 60, (20, cols)).astype("<f4")
        sec = np.zeros(1, SECTION_HEADER)
        sec["cSignature"], sec["iHeaderSize"], sec["iHeaderVersion"] = b"SEC\x00", SECTION_HEADER.itemsize, 2
        sec["wcSectionType"] = utf16(name, 32)
        sec["eRelationshipType"], sec["eRecordType"], sec["eRecordDataType"] = 1, 1, 3
        sec["iDataTypeSize"], sec["iRecordSize"] = bits, cols * bits // 8
        sec["llRecordCount"], sec["llByteCount"] = 20, data.nbytes + byte_count_extra
        body += sec.tobytes() + data.tobytes()
    return head.tobytes() + body


def main() -> None:
    for old in HERE.iterdir():
        if old.name != Path(__file__).name and old.suffix != ".md":
            old.unlink()
    geometry = Layered(normal=(0.0, 0.0, 1.0), thicknesses=(1.0,), centers=(1.0,), period=2.112)
    specimen = lattice_specimen((6, 6, 6), matrix_fractions=(0.98, 0.02), precipitate_fractions=(0.5, 0.5),
                                geometry=geometry, seed=3)  # 864 atoms
    write_specimen(HERE / "good_specimen.h5", specimen)
    write_specimen(HERE / "small_specimen.h5", lattice_specimen((2, 2, 2), seed=3))  # crafted base
    every_atom = {"efficiency": {"enabled": False}, "shape": {"kind": "box"}}  # dense enough to segment
    dataset = emulate(specimen, from_dict(EmulationParams, {"instrument": "leap5000xs", **every_atom}), seed=1)
    write_dataset(HERE / "good_dataset.h5", dataset)
    write_pos(HERE / "good_ions.pos", dataset)
    write_epos(HERE / "good_ions.epos", dataset)
    write_rrng(HERE / "good_ranges.rrng", dataset.ranges)
    np.save(HERE / "good_labels.npy", (dataset.truth.phase == 1).astype(np.int8))
    os.chdir(HERE)  # the segmentation file records the dataset path as given
    assert run(["segment", "good_dataset.h5", "-o", "good_segmentation.h5", "--method", "iso",
                "--element", "Al", "--iso-value", "25", "-q"]) == 0
    small = dataset.subset(np.arange(40)).replace(epos=None, pulse=None)
    write_dataset(HERE / "small_dataset.h5", small)  # the base of the crafted dataset files
    n = small.n_ions

    _bytes("truncated.h5", "small_dataset.h5", lambda b: b[: len(b) * 3 // 5])
    (HERE / "empty.h5").write_bytes(b"")
    (HERE / "noise.h5").write_bytes(np.random.default_rng(2).bytes(2048))
    with h5py.File(HERE / "plain.h5", "w") as f:
        f["ions/positions"] = np.zeros((3, 3), np.float32)
    _h5("schema_negative.h5", "small_dataset.h5", lambda f: f.attrs.__setitem__("synthapt_schema", -3))
    _h5("schema_future.h5", "small_dataset.h5", lambda f: f.attrs.__setitem__("synthapt_schema", 99))
    _h5("forged_size.h5", "small_dataset.h5", _declare("ions/positions", (2**29, 3), np.float32))
    _h5("gzip_bomb.h5", "small_dataset.h5",
        _declare("ions/species", (2**31,), np.int16, compression="gzip"))
    _h5("species_range.h5", "small_dataset.h5", _replace("ions/species", np.full(n, 9, np.int16)))
    _h5("complex_positions.h5", "small_dataset.h5",
        _replace("ions/positions", np.ones((n, 3), np.complex64)))
    _h5("phase_code.h5", "small_dataset.h5", _replace("truth/phase", np.full(n, 3, np.int8)))
    _h5("nan_positions.h5", "small_dataset.h5",
        _replace("ions/positions", np.full((n, 3), np.nan, np.float32)))
    _h5("short_mq.h5", "small_dataset.h5", _replace("ions/mass_to_charge", np.ones(n - 1, np.float32)))
    _h5("provenance_garbage.h5", "small_dataset.h5",
        _replace("provenance", "{not json", dtype=h5py.string_dtype()))
    _h5("geometry_garbage.h5", "small_dataset.h5",
        lambda f: f["truth"].attrs.__setitem__("geometry", '{"kind": "nope"}'))
    _h5("specimen_no_group.h5", "small_specimen.h5", lambda f: f.__delitem__("specimen"))
    _h5("specimen_species.h5", "small_specimen.h5",
        _replace("specimen/species", np.full(32, 5, np.int16)))
    _h5("specimen_box_zero.h5", "small_specimen.h5", _replace("specimen/box", np.zeros(3)))

    _bytes("odd_size.pos", "good_ions.pos", lambda b: b[: 16 * 20 - 3])
    _bytes("nan.pos", "good_ions.pos", lambda b: b"\x7f\xc0\x00\x00" * 4 + b[16: 16 * 20])
    (HERE / "empty.pos").write_bytes(b"")
    _bytes("truncated.epos", "good_ions.epos", lambda b: b[: 44 * 20 + 5])
    (HERE / "f8_section.apt").write_bytes(_apt6(20, mass_bits=8))
    (HERE / "past_end.apt").write_bytes(_apt6(20, byte_count_extra=4096))
    (HERE / "huge_count.apt").write_bytes(_apt6(2**40))

    text = (HERE / "good_ranges.rrng").read_text()
    (HERE / "huge_count.rrng").write_text(text.replace(" Al:1 ", " Al:3000000000 ", 1))
    (HERE / "latin1.rrng").write_bytes(text.replace("[Ions]", "[Ions] \xe9").encode("latin-1"))
    (HERE / "garbage.rng").write_text("3 x\n----\n. 1 2 q\n")

    (HERE / "latin1.toml").write_bytes('seed = 3\nname = "\xe9"\n'.encode("latin-1"))
    (HERE / "unknown_key.toml").write_text("[shape]\nradiuss = 3.0\n")
    (HERE / "background_9999.toml").write_text("[background]\nfraction = 0.9999\n")
    (HERE / "not_toml.toml").write_text("fraction = = 1\n")


if __name__ == "__main__":
    main()
