"""``synthapt reconstruct`` through the console script: round trip with ``emulate``, errors."""

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from synthapt.apt import EmulationParams, emulate
from synthapt.io.apt_files import reconstruct_files
from synthapt.apt.params import DetectorParams, HitsParams, ResolutionParams, ShapeParams
from synthapt.apt.specimens import lattice_specimen
from synthapt.commands.reconstruct import reconstruction_params
from synthapt.errors import ConfigError, SynthaptError
from synthapt.io import load_dataset, save_dataset
from synthapt.io.epos import write_epos
from synthapt.structures.isolated import Particles


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "synthapt", *args], capture_output=True, text=True,
                          cwd=cwd)


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """An emulated ePOS (hits chain on, low-field precipitate) and its dataset file."""
    folder = tmp_path_factory.mktemp("recon")
    geometry = Particles(centers=((4.2, 4.2, 6.0),), semi_axes=((2.0, 2.0, 2.0),))
    specimen = lattice_specimen((24, 24, 30), geometry=geometry, seed=7)
    params = EmulationParams(shape=ShapeParams(apex_radius=4.0),
                             detector=DetectorParams(radius=40.0),
                             resolution=ResolutionParams(enabled=False),
                             hits=HitsParams(enabled=True, field_ratio=0.8))
    ds = emulate(specimen, params, seed=3)
    write_epos(folder / "run.epos", ds)
    save_dataset(folder / "run.h5", ds)
    return folder, ds


def matching_options(ds):
    rec = ds.metadata["stages"]["reconstruction"]
    x, y, z = rec["origin_nm"]
    return ["--icf", "1.65", "--kf", "3.3", "--field", "35", "--flight-path", "100",
            "--detector-radius", "40", "--efficiency", "0.8",
            "--atomic-volume", repr(rec["atomic_volume"]), "--shank-angle", "10",
            "--origin", repr(x), repr(y), repr(z), "--quiet"]


def test_reconstruct_recovers_the_emulated_positions(tmp_path, emulated):
    folder, ds = emulated
    proc = cli("reconstruct", str(folder / "run.epos"), "-o", str(tmp_path / "rec.h5"),
               *matching_options(ds))
    assert proc.returncode == 0, proc.stderr
    rec = load_dataset(tmp_path / "rec.h5")
    assert rec.n_ions == ds.n_ions
    assert np.abs(rec.positions - ds.positions).max() < 1e-4
    assert rec.metadata["reconstruction"]["image_compression"] == 1.65
    # from the dataset file the ground truth comes along; a 10 % larger ICF widens the image
    proc = cli("reconstruct", str(folder / "run.h5"), "-o", str(tmp_path / "wide.h5"),
               *matching_options(ds)[:-1], "--icf", "1.815")
    assert proc.returncode == 0, proc.stderr
    wide = load_dataset(tmp_path / "wide.h5")
    assert np.array_equal(wide.truth.source_atom, ds.truth.source_atom)
    axis = np.array(ds.metadata["stages"]["reconstruction"]["origin_nm"][:2])
    spread = np.abs(wide.positions[:, :2] - axis).mean() / np.abs(ds.positions[:, :2] - axis).mean()
    assert 1.05 < spread < 1.1


@pytest.mark.parametrize("args,needle", [
    (["--icf", "-1"], "--icf: must be > 0"),
    (["--radius-mode", "shank"], "--initial-radius"),
    (["--instrument", "leap9000"], "unknown instrument"),
])
def test_bad_options_are_one_error_line(tmp_path, emulated, args, needle):
    folder, _ = emulated
    proc = cli("reconstruct", str(folder / "run.epos"), "-o", str(tmp_path / "out.h5"), *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option,value", [("kf", 0.0), ("field", float("nan")), ("efficiency", 1.5),
                                          ("atomic_volume", -0.01), ("shank_angle", 70.0),
                                          ("radius_mode", "curve"), ("flight_path", -1.0)])
def test_every_option_is_checked_by_name(option, value):
    values = {"image_compression": None, "field_factor": 3.3, "evaporation_field": 35.0,
              "flight_path": None, "detector_radius": None, "efficiency": None,
              "atomic_volume": 0.011, "radius_mode": "voltage", "initial_radius": None,
              "shank_angle": 0.0}
    key = {"kf": "field_factor", "field": "evaporation_field"}.get(option, option)
    with pytest.raises(ConfigError, match="^--" + option.replace("_", "-") + ": "):
        reconstruction_params("leap5000xs", **{**values, key: value})
    params = reconstruction_params("eikos", **values)
    assert (params.image_compression, params.flight_path, params.efficiency) == (1.65, 100.0, 0.5)


def test_bad_files_are_one_error_line(tmp_path, emulated):
    folder, ds = emulated
    no_hits = ds.replace(epos={**ds.epos, "det_x": np.zeros(ds.n_ions, np.float32),
                               "det_y": np.zeros(ds.n_ions, np.float32)})
    write_epos(tmp_path / "nohits.epos", no_hits)
    no_volts = ds.replace(epos={**ds.epos, "v_dc": np.zeros(ds.n_ions, np.float32)})
    write_epos(tmp_path / "novolts.epos", no_volts)
    for source, needle in ((tmp_path / "nohits.epos", "detector x/y columns are all zero"),
                           (tmp_path / "novolts.epos", "DC voltage column"),
                           (tmp_path / "missing.epos", "missing.epos")):
        proc = cli("reconstruct", str(source), "-o", str(tmp_path / "out.h5"))
        assert proc.returncode == 2, (source, proc.stderr)
        assert proc.stderr.startswith("error: ") and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out.h5").exists()


def test_reconstruct_files_checks_paths_first(tmp_path, emulated):
    folder, ds = emulated
    params = reconstruction_params("leap5000xs", image_compression=None, field_factor=3.3,
                                   evaporation_field=35.0, flight_path=None, detector_radius=None,
                                   efficiency=None, atomic_volume=0.011, radius_mode="voltage",
                                   initial_radius=None, shank_angle=0.0)
    save_dataset(tmp_path / "plain.pos", ds)
    for source, output, needle in ((tmp_path / "plain.pos", "out.h5", "reads .epos or .h5"),
                                   (folder / "run.epos", "out.txt", "unknown output extension"),
                                   (folder / "run.epos", "nofolder/out.h5", "does not exist")):
        with pytest.raises(SynthaptError, match=needle):
            reconstruct_files(source, tmp_path / output, params)
        assert not (tmp_path / output).exists()
    before = (folder / "run.epos").read_bytes()  # the input is never overwritten
    with pytest.raises(SynthaptError, match="is also an input"):
        reconstruct_files(folder / "run.epos", folder / "run.epos", params)
    assert (folder / "run.epos").read_bytes() == before
    # the shank mode does not need the voltages
    no_volts = ds.replace(epos={**ds.epos, "v_dc": np.zeros(ds.n_ions, np.float32)})
    write_epos(tmp_path / "novolts.epos", no_volts)
    shank = replace(params, radius_mode="shank", initial_radius=4.0, shank_angle=10.0)
    out = reconstruct_files(tmp_path / "novolts.epos", tmp_path / "shank.epos", shank)
    assert load_dataset(tmp_path / "shank.epos").n_ions == out.n_ions == ds.n_ions
