"""``synthapt emulate``: files written, read back by our and independent readers, determinism,
error handling."""

import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from synthapt.apt.specimens import lattice_specimen
from synthapt.cli import app
from synthapt.io.epos import read_epos
from synthapt.io.hdf5 import read_config, read_dataset, write_specimen
from synthapt.io.pos import read_pos
from synthapt.io.rrng import read_rrng
from synthapt.structures.isolated import Particles

PARAMS = """
instrument = "leap5000xr"
[shape]
apex_radius = 4.0
[background]
fraction = 0.01
[magnification]
field_ratio = 1.1
"""


@pytest.fixture(scope="module")
def specimen_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("specimen")
    geometry = Particles(centers=((4.2, 4.2, 6.0),), semi_axes=((2.0, 2.0, 2.0),))
    specimen = lattice_specimen((24, 24, 30), geometry=geometry, seed=7)
    path = folder / "specimen.h5"
    write_specimen(path, specimen)
    (folder / "params.toml").write_text(PARAMS)
    return path


def run_emulate(folder, specimen_file, *extra):
    args = ["emulate", str(specimen_file), "-o", str(folder / "ds.h5"), "--seed", "5",
            "--params", str(specimen_file.parent / "params.toml"), "--pos", str(folder / "ds.pos"),
            "--epos", str(folder / "ds.epos"), "--rrng", str(folder / "ds.rrng"), "--quiet", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def test_cli_writes_consistent_files(tmp_path, specimen_file):
    run_emulate(tmp_path, specimen_file, "--instrument", "eikos")
    ds = read_dataset(tmp_path / "ds.h5")
    assert ds.metadata["instrument"] == "eikos"  # the option beats the file
    assert ds.metadata["emulation"]["efficiency"]["value"] == 0.5
    assert ds.metadata["emulation"]["shape"]["apex_radius"] == 4.0
    assert 'instrument = "eikos"' in read_config(tmp_path / "ds.h5")
    assert ds.truth is not None and ds.truth.geometry is not None
    assert ds.metadata["ranging"]["background_ions"] == int(np.sum(ds.truth.source_atom < 0)) > 0
    pos = read_pos(tmp_path / "ds.pos")
    assert np.array_equal(pos.positions, ds.positions)
    assert np.array_equal(pos.mass_to_charge, ds.mass_to_charge)
    epos = read_epos(tmp_path / "ds.epos")
    for key in ds.epos:
        assert np.array_equal(epos.epos[key], ds.epos[key]), key
    assert np.array_equal(epos.pulse, ds.pulse)
    table = read_rrng(tmp_path / "ds.rrng")
    assert np.array_equal(table.assign(ds.mass_to_charge), ds.species)


def test_independent_readers(tmp_path, specimen_file):
    ifes_epos = pytest.importorskip("ifes_apt_tc_data_modeling.epos.epos_reader")
    ifes_rrng = pytest.importorskip("ifes_apt_tc_data_modeling.rrng.rrng_reader")
    run_emulate(tmp_path, specimen_file)
    ds = read_dataset(tmp_path / "ds.h5")
    reader = ifes_epos.ReadEposFileFormat(str(tmp_path / "ds.epos"))
    assert reader.supported and reader.number_of_events == ds.n_ions
    assert np.array_equal(reader.get_reconstructed_positions().magnitude, ds.positions)
    assert np.array_equal(reader.get_mass_to_charge_state_ratio().magnitude, ds.mass_to_charge)
    assert np.array_equal(reader.get_raw_time_of_flight().magnitude, ds.epos["tof"])
    hits = reader.get_hit_positions().magnitude
    assert np.array_equal(hits[:, 0], ds.epos["det_x"]) and np.array_equal(hits[:, 1], ds.epos["det_y"])
    rrng = ifes_rrng.ReadRrngFileFormat(str(tmp_path / "ds.rrng"))
    read = sorted((float(ion.ranges.magnitude[0][0]), float(ion.ranges.magnitude[0][1]))
                  for ion in rrng.rrng["molecular_ions"])
    ours = sorted((r.lo, r.hi) for r in ds.ranges.ranges)
    assert np.allclose(read, ours, rtol=0, atol=1e-9)


def test_same_seed_gives_byte_identical_files(tmp_path, specimen_file):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    import os

    here = os.getcwd()
    try:
        for name in ("a", "b"):  # same relative paths: the recorded command line is the same
            os.chdir(tmp_path / name)
            args = ["emulate", str(specimen_file), "-o", "ds.h5", "--pos", "ds.pos", "--epos", "ds.epos",
                    "--rrng", "ds.rrng", "--seed", "3", "--quiet",
                    "--params", str(specimen_file.parent / "params.toml")]
            assert CliRunner().invoke(app, args).exit_code == 0
    finally:
        os.chdir(here)
    for suffix in ("h5", "pos", "epos", "rrng"):
        assert (tmp_path / "a" / f"ds.{suffix}").read_bytes() == (tmp_path / "b" / f"ds.{suffix}").read_bytes()


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "synthapt", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("extra,params,needle", [
    (["--instrument", "leap9000"], None, "unknown instrument"),
    ([], "[efficiency]\nvalue = 1.5\n", "efficiency.value"),
    ([], "[spectrum.charge_states]\nAl = [0.5, 0.2]\n", "spectrum.charge_states.Al"),
    ([], "[shape]\napex_radius = 50.0\n", "shape.apex_radius"),
    ([], "[resolution]\nlateral_sigma = -0.3\n", "resolution.lateral_sigma"),
])
def test_cli_errors_are_one_line(tmp_path, specimen_file, extra, params, needle):
    args = ["emulate", str(specimen_file), "-o", str(tmp_path / "out.h5"), "--quiet", *extra]
    if params is not None:
        (tmp_path / "p.toml").write_text(params)
        args += ["--params", str(tmp_path / "p.toml")]
    proc = cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.h5").exists()


def test_cli_missing_specimen(tmp_path):
    proc = cli("emulate", str(tmp_path / "nope.h5"), "-o", str(tmp_path / "out.h5"), "--quiet")
    assert proc.returncode == 2 and "nope.h5" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("outputs, needle", [
    (["-o", "e.h5", "--pos", "nope/e.pos"], "nope/e.pos: output folder nope does not exist"),
    (["-o", "e.txt"], "e.txt: unknown output file extension '.txt' (known: .h5, .hdf5)"),
    (["-o", "e.h5", "--epos", "e.pos"], "e.pos: unknown epos file extension '.pos'"),
    (["-o", "e.h5", "--pos", "x.pos", "--rrng", "nope/x.rrng"], "nope/x.rrng: output folder"),
    (["-o", "s.h5"], "s.h5: is also an input"),
])
def test_outputs_checked_before_work_and_written_all_or_none(tmp_path, specimen_file, outputs, needle):
    from cli_run import assert_clean_error, synthapt

    (tmp_path / "s.h5").write_bytes(specimen_file.read_bytes())
    line = assert_clean_error(synthapt("emulate", "s.h5", *outputs, "-q", cwd=tmp_path))
    assert needle in line
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]
    assert (tmp_path / "s.h5").read_bytes() == specimen_file.read_bytes()


def test_output_name_and_folder_do_not_change_the_bytes(tmp_path, specimen_file):
    from cli_run import synthapt

    (tmp_path / "sub").mkdir()
    for out in ("first.h5", "sub/second.h5"):
        proc = synthapt("emulate", specimen_file, "-o", out, "--seed", "2", "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "first.h5").read_bytes() == (tmp_path / "sub" / "second.h5").read_bytes()
    assert read_dataset(tmp_path / "first.h5").metadata["provenance"]["command_line"] == "synthapt emulate"


def test_command_name_keeps_program_and_subcommands_only():
    from synthapt.provenance import command_name

    assert command_name(["/venv/bin/synthapt", "emulate", "s.h5", "-o", "e.h5"]) == "synthapt emulate"
    assert command_name(["/src/synthapt/__main__.py", "campaign", "run", "quick", "--out", "/x"]) \
        == "synthapt campaign run quick"
