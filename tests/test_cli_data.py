"""``synthapt info`` and ``synthapt convert`` through the CLI."""

import json
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from synthapt.cli import app
from synthapt.data import APTDataset, Specimen, dataclass_arrays_equal
from synthapt.errors import FormatError, SynthaptError
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
    peaks = out.split("m/q peaks (Da; 0.05 Da bins; > 6 Poisson sigma above the median background and "
                      "1 % of the highest bin): ")[1].splitlines()[0]
    assert "27.0" in peaks and "29.0" in peaks and peaks.count("(") == 2
    assert "not shown" not in out
    ni = float(out.split("ion fraction (% of ranged ions): ")[1].split("Ni ")[1].split(";")[0])
    assert abs(ni - 100 * 3000 / (3000 + 800 + 0)) < 1.0  # background ions inside windows are few
    assert "at.%" not in out.split("ion fraction")[1].splitlines()[0]
    assert "ground truth: absent" in out and "ePOS fields:" in out
    # the ePOS file was written from a dataset without TOF, voltages or detector hits
    assert "ePOS fields that are all zero (not recorded): tof, v_dc, v_pulse, det_x, det_y\n" in out
    result = runner.invoke(app, ["info", "--json", str(tmp_path / "run.epos"), "-r", str(tmp_path / "r.rrng")])
    summary = json.loads(result.output)
    assert summary["ions"] == 4000 and summary["bounding_box_nm"][2][0] == -12.0
    assert [round(c) for c, _ in summary["peaks_da"]] == [27, 29]


def test_info_lists_every_peak_above_the_threshold(rng, tmp_path):
    centres = np.arange(1, 31) * 3.0
    sizes = 200 + 20 * np.arange(30)  # the peak at 3 Da is the smallest
    mq = np.concatenate([rng.normal(c, 0.01, k) for c, k in zip(centres, sizes)])
    write_epos(tmp_path / "many.epos", APTDataset(positions=rng.uniform(-5, 5, (len(mq), 3)), mass_to_charge=mq))
    out = runner.invoke(app, ["info", str(tmp_path / "many.epos")]).output
    line = out.split("highest bin): ")[1].splitlines()[0]
    assert line.count("(") == 20 and line.startswith("33.0")  # the 20 largest, by position
    assert "10 smaller peaks not shown; --peaks 0 lists all 30" in out
    out = runner.invoke(app, ["info", "--peaks", "0", str(tmp_path / "many.epos")]).output
    line = out.split("highest bin): ")[1].splitlines()[0]
    assert line.count("(") == 30 and line.startswith("3.00 (200)") and "not shown" not in out
    summary = json.loads(runner.invoke(app, ["info", "--json", str(tmp_path / "many.epos")]).output)
    assert [round(c) for c, _ in summary["peaks_da"]] == list(range(3, 91, 3))
    assert [n for _, n in summary["peaks_da"]] == sizes.tolist()
    result = runner.invoke(app, ["info", "--peaks", "-1", str(tmp_path / "many.epos")])
    assert str(result.exception) == "--peaks: must be >= 0 (0 lists all peaks), got -1"


def test_info_ion_and_atomic_fractions_with_molecular_ions(rng, tmp_path):
    mq = np.r_[np.full(600, 27.0), np.full(200, 28.0), np.full(200, 29.0)]  # Al, AlH, Ni ions
    write_epos(tmp_path / "m.epos", APTDataset(positions=rng.uniform(-5, 5, (1000, 3)), mass_to_charge=mq))
    write_rrng(tmp_path / "m.rrng", RangeTable((Range(26.8, 27.2, "Al", {"Al": 1}),
                                                Range(27.8, 28.2, "AlH", {"Al": 1, "H": 1}),
                                                Range(28.8, 29.2, "Ni", {"Ni": 1}))))
    out = runner.invoke(app, ["info", str(tmp_path / "m.epos"), "-r", str(tmp_path / "m.rrng")]).output
    assert "ion fraction (% of ranged ions): Al 60.00, AlH 20.00, Ni 20.00; unranged 0.00 % of all ions" in out
    # atoms: Al 600 + 200, H 200, Ni 200 of 1200
    assert "atomic fraction (at.%, molecular ions AlH decomposed): Al 66.67, H 16.67, Ni 16.67" in out


def test_info_segmentation_file(rng, tmp_path):
    from synthapt.segmentation.result import SegmentationResult, write_segmentation
    from synthapt.spatial.mesh import Mesh

    labels = np.r_[np.zeros(70), np.ones(30)].astype(np.int8)
    grid = np.zeros((4, 5, 6), np.float32)
    square = Mesh([[0, 0, 0], [2, 0, 0], [2, 3, 0], [0, 3, 0]], [[0, 1, 2], [0, 2, 3]])
    result = SegmentationResult(
        labels=labels, voxel_labels=grid.astype(np.int8), indicator=grid, edge_field=None, concentration=grid,
        origin=np.zeros(3), voxel_size=0.5, mesh=square, method="canny", elements=("Al",),
        phase_composition={"matrix_at_pct": 10.0, "precipitate_at_pct": 25.0, "element_choice": "given (--element)"})
    write_segmentation(tmp_path / "seg.h5", result, dataset_path="run.h5", ranges_path="r.rrng")
    out = runner.invoke(app, ["info", str(tmp_path / "seg.h5")]).output
    assert "(segmentation)" in out
    assert "method: canny, element(s): Al (given (--element))" in out
    assert "voxel size: 0.5 nm, grid 4 x 5 x 6" in out
    assert "ions: 100 (matrix 70 (70.00 %), precipitate 30 (30.00 %))" in out
    assert "interface mesh: 6.0 nm^2, 2 triangles" in out
    assert "Al (at.%): matrix 10.00, precipitate 25.00" in out
    assert "dataset file: run.h5" in out and "ranges file: r.rrng" in out
    summary = json.loads(runner.invoke(app, ["info", "--json", str(tmp_path / "seg.h5")]).output)
    assert summary["mesh_area_nm2"] == 6.0 and summary["ions_per_phase"] == {"0": 70, "1": 30}


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
    from synthapt.io.apt6 import write_apt6

    (tmp_path / "r.rng").write_text("2 2\nAl\nAl 0 0 1\nNi\nNi 0 1 0\n---- Al Ni\n. 26.8 27.2 1 0\n. 28.8 29.2 0 1\n")
    result = runner.invoke(app, ["info", str(tmp_path / "r.rng")])
    assert result.exit_code == 0 and "ranges: 2" in result.output and "ions: Al, Ni" in result.output
    ds = spectrum_dataset(rng, n=1000)
    write_apt6(tmp_path / "run.apt", APTDataset(positions=ds.positions, mass_to_charge=ds.mass_to_charge))
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
    assert "highest bin): 29.0" in result.output


def test_convert_h5_keeps_config_and_embedded_specimen(rng, tmp_path):
    from synthapt.io.hdf5 import file_groups, read_config, read_specimen, write_dataset

    ds = spectrum_dataset(rng, n=300)
    specimen = Specimen(positions=rng.uniform(0, 4, (50, 3)), species=rng.integers(0, 2, 50),
                        species_names=("Ni", "Al"), phase=np.zeros(50, np.int8), box=[4, 4, 4])
    write_dataset(tmp_path / "a.h5", ds, config='instrument = "eikos"\n', specimen=specimen)
    result = runner.invoke(app, ["convert", "-q", str(tmp_path / "a.h5"), str(tmp_path / "b.h5")])
    assert result.exit_code == 0, result.output
    assert read_config(tmp_path / "b.h5") == 'instrument = "eikos"\n'
    assert set(file_groups(tmp_path / "b.h5")) == set(file_groups(tmp_path / "a.h5"))
    assert dataclass_arrays_equal(read_specimen(tmp_path / "b.h5"), specimen)
    assert (tmp_path / "b.h5").read_bytes() == (tmp_path / "a.h5").read_bytes()


def test_convert_refuses_its_input_as_output(rng, tmp_path):
    write_inputs(rng, tmp_path)
    before = (tmp_path / "run.epos").read_bytes()
    result = runner.invoke(app, ["convert", str(tmp_path / "run.epos"), str(tmp_path / "run.epos")])
    assert isinstance(result.exception, SynthaptError) and "is also an input" in str(result.exception)
    assert (tmp_path / "run.epos").read_bytes() == before
