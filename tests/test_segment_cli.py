import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from segment_phantoms import phantom, sphere_distance
from typer.testing import CliRunner

from synthapt.cli import app
from synthapt.io import save_dataset
from synthapt.spatial.mesh import read_mesh
from synthapt.segmentation.result import read_segmentation


@pytest.fixture(scope="module")
def dataset_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seg")
    ds = phantom(16.0, sphere_distance((8, 8, 8), 5.0), noise=0.3, seed=21)
    save_dataset(folder / "ds.h5", ds)
    return folder / "ds.h5", ds


def test_segment_then_proxigram(dataset_file, tmp_path):
    path, ds = dataset_file
    out = tmp_path / "seg.h5"
    res = CliRunner().invoke(app, ["segment", str(path), "-o", str(out), "--method", "sobel",
                                   "--element", "Al", "--mesh", str(tmp_path / "m.ply"), "--quiet"])
    assert res.exit_code == 0, res.output
    seg = read_segmentation(out)
    assert seg.method == "sobel" and seg.source["dataset_path"] == str(path)
    assert np.mean(seg.labels == ds.truth.phase) > 0.96
    assert read_mesh(tmp_path / "m.ply").n_faces == seg.mesh.n_faces
    res = CliRunner().invoke(app, ["proxigram", str(out), "--csv", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert sum(int(line.split(",")[1]) for line in lines[1:]) == ds.n_ions
    assert "Al: 10." in res.output or "Al: 9." in res.output


def test_iso_method_from_the_command_line(dataset_file, tmp_path):
    path, ds = dataset_file
    out = tmp_path / "iso.h5"
    res = CliRunner().invoke(app, ["segment", str(path), "-o", str(out), "--method", "iso",
                                   "--element", "Al", "--iso-value", "17", "--voxel", "0.6"])
    assert res.exit_code == 0, res.output
    seg = read_segmentation(out)
    assert seg.method == "iso" and seg.voxel_size == pytest.approx(0.6)


@pytest.mark.parametrize("args, message", [
    (["--method", "laplace"], "--method"),
    (["--method", "iso"], "--element"),
    (["--element", "Cu", "--method", "sobel"], "Cu"),
])
def test_bad_input_exits_2_with_one_line(dataset_file, tmp_path, args, message):
    path, _ = dataset_file
    out = tmp_path / "x.h5"
    proc = subprocess.run([sys.executable, "-m", "synthapt", "segment", str(path), "-o", str(out),
                           "--quiet", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_pos_with_range_file(dataset_file, tmp_path):
    from synthapt.ranges import Range, RangeTable
    from synthapt.io.rrng import write_rrng

    _, ds = dataset_file
    save_dataset(tmp_path / "d.pos", ds)
    write_rrng(tmp_path / "d.rrng", RangeTable((Range(26.5, 27.5, "Al", {"Al": 1}),
                                                Range(28.5, 29.5, "Ni", {"Ni": 1}))))
    out = tmp_path / "seg.h5"
    res = CliRunner().invoke(app, ["segment", str(tmp_path / "d.pos"), "--ranges", str(tmp_path / "d.rrng"),
                                   "-o", str(out), "--method", "canny", "--quiet"])
    assert res.exit_code == 0, res.output
    seg = read_segmentation(out)
    assert seg.elements == ("Al",) and seg.source["ranges_path"] == str(tmp_path / "d.rrng")
    assert np.mean(seg.labels == ds.truth.phase) > 0.96
    res = CliRunner().invoke(app, ["proxigram", str(out), "--quiet"])
    assert res.exit_code == 0, res.output


SYNTHAPT = [str(Path(sys.executable).parent / "synthapt")] if (Path(sys.executable).parent / "synthapt").exists() \
    else [sys.executable, "-m", "synthapt"]


def run_cli(*args):
    """The console script in a subprocess (progress bars on: failures must come before them)."""
    return subprocess.run([*SYNTHAPT, *map(str, args)], capture_output=True, text=True, timeout=300)


def one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def pos_segmentation(dataset_file, tmp_path_factory):
    """A POS file, its range file and a canny segmentation of them (element chosen automatically)."""
    from synthapt.ranges import Range, RangeTable
    from synthapt.io.rrng import write_rrng

    folder = tmp_path_factory.mktemp("pos")
    _, ds = dataset_file
    save_dataset(folder / "d.pos", ds)
    write_rrng(folder / "d.rrng", RangeTable((Range(26.5, 27.5, "Al", {"Al": 1}),
                                              Range(28.5, 29.5, "Ni", {"Ni": 1}))))
    res = CliRunner().invoke(app, ["segment", str(folder / "d.pos"), "--ranges", str(folder / "d.rrng"),
                                   "-o", str(folder / "seg.h5"), "--method", "canny"])
    assert res.exit_code == 0, res.output
    return folder, res.output


def test_segment_prints_and_stores_the_element_choice(pos_segmentation):
    folder, output = pos_segmentation
    assert "element Al: largest partitioning contrast" in output
    seg = read_segmentation(folder / "seg.h5")
    assert seg.phase_composition["element_choice"].startswith("largest partitioning contrast")


def test_unranged_file_and_bad_options_fail_before_any_work(pos_segmentation, tmp_path):
    folder, _ = pos_segmentation
    out = tmp_path / "x.h5"
    line = one_line_error(run_cli("segment", folder / "d.pos", "-o", out))
    assert line == f"error: {folder / 'd.pos'}: the dataset is not ranged; pass --ranges FILE.rrng"
    line = one_line_error(run_cli("segment", folder / "d.pos", "--ranges", folder / "d.rrng", "-o", out,
                                  "--voxel", "0"))
    assert line == "error: --voxel: must be a finite size > 0 nm, e.g. 0.5; got 0"
    line = one_line_error(run_cli("segment", folder / "d.pos", "--ranges", folder / "d.rrng", "-o", out,
                                  "--element", "cu"))
    assert line.startswith("error: element cu: not among the dataset's elements Al, Ni")
    only_ni = folder / "ni.rrng"
    only_ni.write_text("[Ions]\nNumber=1\nIon1=Ni\n[Ranges]\nNumber=2\nRange1=28.5 29.5 Vol:0.01 Ni:1 Color:00FF00\n"
                       "Range2=40 41 Vol:0.01 Al:1 Color:FF0000\n")
    line = one_line_error(run_cli("segment", folder / "d.pos", "--ranges", only_ni, "-o", out, "--element", "AL"))
    assert line == "error: element Al: no atoms of it in the dataset"
    line = one_line_error(run_cli("segment", folder / "d.pos", "--ranges", folder / "d.rrng",
                                  "-o", tmp_path / "no" / "x.h5"))
    assert "output folder" in line
    assert not out.exists()
    line = one_line_error(run_cli("proxigram", folder / "seg.h5", "--bin-width", "0"))
    assert line == "error: --bin-width: must be a finite bin width > 0 nm, got 0.0"
    line = one_line_error(run_cli("proxigram", folder / "seg.h5", "--plateau", "5", "1"))
    assert line == "error: --plateau: MIN MAX must be finite distances (nm) with 0 <= MIN < MAX, got 5 1"
    line = one_line_error(run_cli("proxigram", folder / "seg.h5", "--csv", tmp_path / "no" / "p.csv"))
    assert "output folder" in line


def test_element_names_in_any_case_and_plateau_window(dataset_file, tmp_path):
    path, ds = dataset_file
    out = tmp_path / "seg.h5"
    res = CliRunner().invoke(app, ["segment", str(path), "-o", str(out), "--method", "iso",
                                   "--element", "al", "--iso-value", "17"])
    assert res.exit_code == 0, res.output
    assert read_segmentation(out).elements == ("Al",) and "element Al: given" in res.output
    res = CliRunner().invoke(app, ["proxigram", str(out), "--plateau", "0.5", "3", "--csv", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output
    assert "plateaus: matrix -3 <= d <= -0.5 nm, precipitate 0.5 <= d <= 3 nm" in res.output
    al = float(res.output.split("Al: ")[1].split(" at.%")[0])
    assert al == pytest.approx(10.0, abs=1.5)
    assert (tmp_path / "p.csv").read_text().startswith("distance_nm,atoms,")


def test_moved_range_file_is_named_with_the_override(pos_segmentation, tmp_path):
    import shutil

    folder, _ = pos_segmentation
    moved = tmp_path / "seg"
    moved.mkdir()
    shutil.copy(folder / "seg.h5", moved / "seg.h5")
    shutil.copy(folder / "d.pos", moved / "d.pos")  # found beside the segmentation file
    (folder / "d.rrng").rename(tmp_path / "elsewhere.rrng")
    try:
        line = one_line_error(run_cli("proxigram", moved / "seg.h5"))
        assert line == (f"error: {moved / 'seg.h5'}: the recorded range file {folder / 'd.rrng'} is not found "
                        "(moved?); --ranges FILE overrides it")
        res = CliRunner().invoke(app, ["proxigram", str(moved / "seg.h5"), "--ranges",
                                       str(tmp_path / "elsewhere.rrng"), "--quiet"])
        assert res.exit_code == 0, res.output
    finally:
        (tmp_path / "elsewhere.rrng").rename(folder / "d.rrng")
