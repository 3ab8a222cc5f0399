"""The synthapt HDF5 file: exact round trips, byte-identical rewrites, schema/kind checks."""

import dataclasses
import json
import time

import h5py
import numpy as np
import pytest

from synthapt.data import APTDataset, GroundTruth, Profile, Specimen, dataclass_arrays_equal
from synthapt.errors import FormatError, SynthaptError
from synthapt.io import load_dataset, save_dataset
from synthapt.io.hdf5 import (SCHEMA_VERSION, file_kind, read_config, read_dataset, read_group,
                              read_specimen, write_dataset, write_group, write_specimen)
from synthapt.ranges import Range, RangeTable
from synthapt.structures.geometry import Geometry, register_geometry


@register_geometry
@dataclasses.dataclass(frozen=True)
class IoTestSlab(Geometry):
    """Slab |z - center| < half_width (nm), for storage tests only."""

    kind = "io_test_slab"
    center: float = 5.0
    half_width: float = 1.5

    def signed_distance(self, points):
        return self.half_width - np.abs(np.asarray(points)[:, 2] - self.center)


def make_specimen(rng, n=3000) -> Specimen:
    geometry = IoTestSlab(center=5.0, half_width=1.25)
    pos = rng.uniform(0, 10, (n, 3))
    phase = geometry.contains(pos).astype(np.int8)
    profile = Profile(edges=np.linspace(-3, 3, 7), counts=rng.integers(0, 50, (6, 2)), species_names=("Ni", "Al"))
    return Specimen(positions=pos, species=rng.integers(0, 2, n), species_names=("Ni", "Al"), phase=phase,
                    box=[10, 10, 10], geometry=geometry,
                    provenance={"seed": 7, "potential": "NiAlH_jea.eam.alloy", "temperature_K": 900.0},
                    truth_profile=profile)


def make_dataset(rng, specimen: Specimen, n=20000) -> APTDataset:
    table = RangeTable((Range(26.9, 27.1, "Al", {"Al": 1}), Range(28.5, 30.5, "Ni", {"Ni": 1}),
                        Range(27.9, 28.1, "AlH", {"Al": 1, "H": 1}, volume=0.02, color="00FF00")))
    mq = rng.choice([27.0, 29.0, 28.0, 40.0], n).astype(np.float32)
    src = rng.integers(-1, specimen.n_atoms, n)
    bg = src < 0
    true_pos = specimen.positions[np.maximum(src, 0)].copy()
    true_pos[bg] = np.nan
    truth = GroundTruth(source_atom=src, species=np.where(bg, -1, specimen.species[src]),
                        phase=np.where(bg, -1, specimen.phase[src]), position=true_pos,
                        species_names=specimen.species_names, geometry=specimen.geometry, box=specimen.box)
    pulse = np.cumsum(rng.integers(0, 3, n))
    epos = {"tof": rng.uniform(0, 1, n).astype(np.float32), "delta_pulse": np.diff(pulse, prepend=0).astype(np.uint32)}
    return APTDataset(positions=rng.normal(0, 5, (n, 3)), mass_to_charge=mq, species=table.assign(mq),
                      species_names=table.ion_names, ranges=table, epos=epos, pulse=pulse, truth=truth,
                      metadata={"instrument": "LEAP 5000 XS", "detection_efficiency": 0.8, "seed": 3,
                                "nested": {"a": [1, 2.5, "x"]}})


def test_specimen_round_trip_exact(rng, tmp_path):
    sp = make_specimen(rng)
    write_specimen(tmp_path / "s.h5", sp, config="[structure]\nkind = \"slab\"\n")
    back = read_specimen(tmp_path / "s.h5")
    assert dataclass_arrays_equal(back, sp)
    assert isinstance(back.geometry, IoTestSlab) and back.geometry.half_width == 1.25
    assert read_config(tmp_path / "s.h5") == "[structure]\nkind = \"slab\"\n"
    assert file_kind(tmp_path / "s.h5") == "specimen"


def test_dataset_round_trip_exact_with_embedded_specimen(rng, tmp_path):
    sp = make_specimen(rng)
    ds = make_dataset(rng, sp)
    write_dataset(tmp_path / "d.h5", ds, specimen=sp)
    back = read_dataset(tmp_path / "d.h5")
    assert dataclass_arrays_equal(back, ds)
    assert back.ranges == ds.ranges and back.truth.geometry == sp.geometry
    assert dataclass_arrays_equal(read_specimen(tmp_path / "d.h5"), sp)
    with h5py.File(tmp_path / "d.h5") as f:
        assert f.attrs["synthapt_schema"] == SCHEMA_VERSION and f.attrs["kind"] == "dataset"
        assert f["ions/positions"].chunks is not None and f["ions/positions"].compression is None
        assert f["ions/species"].compression == "gzip" and f["truth/source_atom"].shuffle
        assert f["ions/epos/tof"].dtype == np.float32
        assert json.loads(f["provenance"][()])["instrument"] == "LEAP 5000 XS"


def test_minimal_dataset_and_load_save(rng, tmp_path):
    ds = APTDataset(positions=rng.normal(size=(10, 3)), mass_to_charge=rng.uniform(1, 50, 10))
    save_dataset(tmp_path / "m.hdf5", ds)
    assert dataclass_arrays_equal(load_dataset(tmp_path / "m.hdf5"), ds)


def test_rewrite_is_byte_identical(rng, tmp_path):
    sp = make_specimen(rng)
    ds = make_dataset(rng, sp)
    write_dataset(tmp_path / "a.h5", ds, config="x = 1\n", specimen=sp)
    time.sleep(1.1)  # any stored time stamp would now differ
    write_dataset(tmp_path / "b.h5", ds, config="x = 1\n", specimen=sp)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_wrong_kind_newer_schema_and_foreign_files(rng, tmp_path):
    sp = make_specimen(rng, n=50)
    write_specimen(tmp_path / "s.h5", sp)
    with pytest.raises(FormatError, match="is a specimen file, expected a dataset file"):
        read_dataset(tmp_path / "s.h5")
    ds = APTDataset(positions=np.zeros((3, 3)), mass_to_charge=np.ones(3))
    write_dataset(tmp_path / "d.h5", ds)
    with pytest.raises(FormatError, match="a dataset file without a specimen"):
        read_specimen(tmp_path / "d.h5")
    with h5py.File(tmp_path / "d.h5", "a") as f:
        f.attrs["synthapt_schema"] = SCHEMA_VERSION + 1
    with pytest.raises(FormatError, match="schema version 2.*upgrade synthapt"):
        read_dataset(tmp_path / "d.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(FormatError, match="not a synthapt HDF5 file"):
        read_dataset(tmp_path / "foreign.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(FormatError, match="not a readable HDF5 file"):
        read_dataset(tmp_path / "text.h5")
    with pytest.raises(FormatError, match="file not found"):
        read_dataset(tmp_path / "none.h5")
    write_dataset(tmp_path / "broken.h5", ds)
    with h5py.File(tmp_path / "broken.h5", "a") as f:
        del f["ions/mass_to_charge"]
    with pytest.raises(FormatError, match="malformed synthapt HDF5 file"):
        read_dataset(tmp_path / "broken.h5")


def test_write_group_read_group(tmp_path):
    data = {"labels": np.arange(10000, dtype=np.int8) % 3, "names": ("matrix", "precipitate"),
            "threshold": 0.5, "method": "hed", "count": 3, "flag": True, "skip": None,
            "mesh": {"vertices": np.zeros((4, 3)), "faces": np.array([[0, 1, 2]])}}
    with h5py.File(tmp_path / "g.h5", "w") as f:
        write_group(f.create_group("segmentation"), data)
    with h5py.File(tmp_path / "g.h5") as f:
        back = read_group(f["segmentation"])
    assert set(back) == set(data) - {"skip"}
    np.testing.assert_array_equal(back["labels"], data["labels"])
    assert back["names"] == ("matrix", "precipitate") and back["method"] == "hed"
    assert back["threshold"] == 0.5 and back["count"] == 3 and back["flag"] is True
    np.testing.assert_array_equal(back["mesh"]["faces"], [[0, 1, 2]])


def test_failed_write_leaves_nothing(rng, tmp_path):
    ds = APTDataset(positions=np.zeros((3, 3)), mass_to_charge=np.ones(3), metadata={"bad": object()})
    with pytest.raises(SynthaptError, match="JSON"):
        write_dataset(tmp_path / "x.h5", ds)
    assert list(tmp_path.iterdir()) == []


def test_inconsistent_arrays_name_the_file(tmp_path):
    ds = APTDataset(positions=np.zeros((3, 3)), mass_to_charge=np.ones(3))
    write_dataset(tmp_path / "d.h5", ds)
    with h5py.File(tmp_path / "d.h5", "a") as f:
        del f["ions/mass_to_charge"]
        f["ions/mass_to_charge"] = np.ones(2, np.float32)
    with pytest.raises(FormatError, match=r"d\.h5: APTDataset\.mass_to_charge: length 2 does not match 3"):
        read_dataset(tmp_path / "d.h5")
