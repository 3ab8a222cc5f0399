import subprocess
import sys

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
