"""``synthapt info`` and ``synthapt convert`` through the CLI."""

import json
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from synthapt.cli import app
from synthapt.data import APTDataset, Specimen, dataclass_arrays_equal
from synthapt.errors import FormatError
from synthapt.io import load_dataset
from synthapt.io.epos import write_epos
from synthapt.io.hdf5 import write_specimen
from synthapt.ranges import Range, RangeTable
from synthapt.io.rrng import write_rrng

runner = CliRunner()


def spectrum_dataset(rng, n=4000) -> APTDataset:
    """Ni (29 Da, 3/4 of the ions) and Al (27 Da) peaks over a flat background."""
    n_ni, n_al, n_bg = 3 * n // 4, n // 5, n - 3 * n // 4 - n // 5
    mq = np.r_[rng.normal(29.0, 0.02, n_ni), rng.normal(27.0, 0.02, n_al), rng.uniform(1, 80, n_bg)]
    pos = rng.uniform(-10, 10, (n, 3))
    pos[0] = [-10.5, -11, -12]
    return APTDataset(positions=pos, mass_to_charge=mq, pulse=np.arange(n) * 2)


def write_inputs(rng, tmp_path):
    ds = spectrum_dataset(rng)
    write_epos(tmp_path / "run.epos", ds)
    write_rrng(tmp_path / "r.rrng", RangeTable((Range(26.8, 27.2, "Al", {"Al": 1}), Range(28.8, 29.2, "Ni", {"Ni": 1}))))
    return ds


def test_info_pos_with_ranges(rng, tmp_path):
    write_inputs(rng, tmp_path)
    result = runner.invoke(app, ["info", str(tmp_path / "run.epos"), "--ranges", str(tmp_path / "r.rrng")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ions: 4000" in out
    assert "x [-10.50, " in out and "z [-12.00, " in out
    peaks = out.split("main m/q peaks (Da): ")[1].splitlines()[0]
    assert "27.0" in peaks and "29.0" in peaks and peaks.count("(") == 2
    ni = float(out.split("Ni ")[1].split(",")[0].split(";")[0])
    assert abs(ni - 100 * 3000 / (3000 + 800 + 0)) < 1.0  # background ions inside windows are few
    assert "ground truth: absent" in out and "ePOS fields:" in out
    result = runner.invoke(app, ["info", "--json", str(tmp_path / "run.epos"), "-r", str(tmp_path / "r.rrng")])
    summary = json.loads(result.output)
    assert summary["ions"] == 4000 and summary["bounding_box_nm"][2][0] == -12.0
    assert [round(c) for c, _ in summary["peaks_da"]] == [27, 29]


def test_info_specimen(rng, tmp_path):
    phase = np.r_[np.zeros(60), np.ones(40)].astype(np.int8)
    species = np.r_[np.zeros(54), np.ones(6), np.zeros(30), np.ones(10)].astype(np.int16)
    sp = Specimen(positions=rng.uniform(0, 4, (100, 3)), species=species, species_names=("Ni", "Al"),
                  phase=phase, box=[4, 4, 4])
    write_specimen(tmp_path / "s.h5", sp)
    result = runner.invoke(app, ["info", str(tmp_path / "s.h5")])
    assert result.exit_code == 0, result.output
    assert "atoms: 100" in result.output
    assert "phase 0 (matrix): 60 atoms, Ni 90.00, Al 10.00" in result.output
    assert "phase 1 (precipitate): 40 atoms, Ni 75.00, Al 25.00" in result.output


def test_convert_epos_to_h5_to_pos(rng, tmp_path):
    ds = write_inputs(rng, tmp_path)
    result = runner.invoke(app, ["convert", str(tmp_path / "run.epos"), str(tmp_path / "run.h5"),
                                 "-r", str(tmp_path / "r.rrng")])
    assert result.exit_code == 0, result.output
    assert "wrote 4000 ions" in result.output
    h5 = load_dataset(tmp_path / "run.h5")
    assert h5.species_names == ("Al", "Ni") and h5.ranges is not None
    assert np.count_nonzero(h5.species == 1) >= 3000 - 5
    np.testing.assert_array_equal(h5.pulse, ds.pulse)
    result = runner.invoke(app, ["convert", "-q", str(tmp_path / "run.h5"), str(tmp_path / "run.pos")])
    assert result.exit_code == 0 and result.output == ""
    back = load_dataset(tmp_path / "run.pos")
    np.testing.assert_array_equal(back.positions, ds.positions)
    runner.invoke(app, ["convert", "-q", str(tmp_path / "run.h5"), str(tmp_path / "again.epos")])
    again = load_dataset(tmp_path / "again.epos")
    assert dataclass_arrays_equal(again.replace(metadata={}), load_dataset(tmp_path / "run.epos").replace(metadata={}))


def test_cli_errors(rng, tmp_path):
    write_inputs(rng, tmp_path)
    result = runner.invoke(app, ["info", str(tmp_path / "missing.pos")])
    assert result.exit_code != 0 and isinstance(result.exception, FormatError)
    result = runner.invoke(app, ["convert", str(tmp_path / "run.epos"), str(tmp_path / "out.txt")])
    assert isinstance(result.exception, FormatError) and "unknown output extension" in str(result.exception)
    (tmp_path / "bad.rrng").write_text("[Ranges]\nRange1=1 2 Vol:0 Zz:1\n")
    result = runner.invoke(app, ["convert", str(tmp_path / "run.epos"), str(tmp_path / "o.h5"), "-r",
                                 str(tmp_path / "bad.rrng")])
    assert isinstance(result.exception, FormatError) and "Zz" in str(result.exception)
    assert not (tmp_path / "o.h5").exists()


def test_missing_file_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "synthapt", "info", str(tmp_path / "missing.pos")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "missing.pos: file not found" in lines[0]
    assert "Traceback" not in proc.stderr


def test_info_range_files_and_apt_conversion(rng, tmp_path):
    from test_io_apt6 import write_apt6

    (tmp_path / "r.rng").write_text("2 2\nAl\nAl 0 0 1\nNi\nNi 0 1 0\n---- Al Ni\n. 26.8 27.2 1 0\n. 28.8 29.2 0 1\n")
    result = runner.invoke(app, ["info", str(tmp_path / "r.rng")])
    assert result.exit_code == 0 and "ranges: 2" in result.output and "ions: Al, Ni" in result.output
    ds = spectrum_dataset(rng, n=1000)
    write_apt6(tmp_path / "run.apt", ds.positions, ds.mass_to_charge)
    result = runner.invoke(app, ["convert", str(tmp_path / "run.apt"), str(tmp_path / "run.pos"),
                                 "--ranges", str(tmp_path / "r.rng")])
    assert result.exit_code == 0, result.output
    back = load_dataset(tmp_path / "run.pos", ranges=tmp_path / "r.rng")
    np.testing.assert_array_equal(back.mass_to_charge, ds.mass_to_charge.astype(np.float32))
    assert back.species_names == ("Al", "Ni") and np.count_nonzero(back.species == 1) >= 740
    result = runner.invoke(app, ["info", str(tmp_path / "run.apt")])
    assert "ions: 1000" in result.output and "composition: not ranged" in result.output


def test_info_reports_ground_truth(rng, tmp_path):
    from synthapt.data import GroundTruth
    from synthapt.io.hdf5 import write_dataset

    n = 200
    phase = np.r_[np.full(50, -1), np.zeros(100), np.ones(50)].astype(np.int8)
    truth = GroundTruth(source_atom=np.where(phase < 0, -1, np.arange(n)), species=np.zeros(n), phase=phase,
                        position=np.zeros((n, 3)), species_names=("Ni",))
    write_dataset(tmp_path / "t.h5", APTDataset(positions=rng.normal(size=(n, 3)), mass_to_charge=np.full(n, 29.0),
                                                truth=truth))
    result = runner.invoke(app, ["info", str(tmp_path / "t.h5")])
    assert result.exit_code == 0, result.output
    assert "ground truth: present (ions by true phase: background 25.00 %, matrix 50.00 %, precipitate 25.00 %)" \
        in result.output
    assert "main m/q peaks (Da): 29.0" in result.output
