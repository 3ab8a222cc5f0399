"""Suite files: loading, grid expansion, case hashes, errors naming the offending key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synthapt.campaign.cluster import load_slurm_options
from synthapt.campaign.suite import load_suite, suite_from_dict
from synthapt.campaign.case import CaseConfig, case_hash, specimen_key
from synthapt.config import from_dict
from synthapt.errors import ConfigError
from synthapt.scoring.ceilings import REFERENCES
from synthapt.structures.build import build_geometry

ROOT = Path(__file__).resolve().parents[1]
SUITES = ROOT / "synthapt" / "suites"
TINY = Path(__file__).parent / "data" / "campaign_tiny.toml"

LAYER = {"kind": "layered", "thicknesses": [1.4], "centers": [1.4]}
BASE = {"seed": 5, "simulation": {"structure": {"box": [2.8, 2.8, 2.8], "geometry": LAYER}},
        "segmentation": {"methods": ["canny"], "iso_values": [15.0]}}


def suite(**changes):
    data = {"suite_version": 1, "name": "t", "base": BASE}
    data.update(changes)
    return suite_from_dict(data, "t.toml")


def test_paper_suite_is_the_full_grid():
    paper = load_suite("paper")  # built-in name resolves to synthapt/suites/paper.toml
    assert paper.version == 3 and paper.name == "paper"
    assert len(paper.cases) == 27
    assert len({c.hash for c in paper.cases}) == 27
    geometries = {c.case.simulation.structure.geometry["kind"] for c in paper.cases}
    assert geometries == {"layered", "isolated", "interconnected"}
    efficiencies = sorted({c.case.emulation.efficiency.value for c in paper.cases})
    sigmas = sorted({c.case.emulation.resolution.lateral_sigma for c in paper.cases})
    assert efficiencies == [0.37, 0.52, 0.80]
    assert sigmas == [0.3, 0.5, 0.8]
    first = paper.cases[0]
    assert first.labels == {"geometry": "layered", "efficiency.value": "0.37",
                            "resolution.lateral_sigma": "0.3"}
    assert first.case.name == ("paper[geometry=layered,efficiency.value=0.37,"
                               "resolution.lateral_sigma=0.3]")
    # the fixed base seed drives every case, MD included
    assert {c.case.seed for c in paper.cases} == {2024}
    assert {c.case.simulation.seed for c in paper.cases} == {2024}
    assert paper.cases[0].case.segmentation.method_names == (
        "hed", "canny", "sobel", "hed-edge", "canny-edge", "sobel-edge", "iso-auto",
        "iso-Al-10", "iso-Al-15", "iso-Al-20")


def test_quick_suite_is_small():
    quick = load_suite(SUITES / "quick.toml")
    assert quick.version == 3
    assert [c.labels["geometry"] for c in quick.cases] == ["layered", "isolated"]
    assert quick.cases[0].case.segmentation.method_names == (
        "hed", "canny", "sobel", "hed-edge", "canny-edge", "sobel-edge", "iso-auto", "iso-Al-15")
    for sc in quick.cases:
        assert max(sc.case.simulation.structure.box) <= 6.0
        assert sc.case.simulation.md.steps <= 500


def test_large_suite_grid_and_sizes():
    large = load_suite("large")
    assert large.version == 1 and large.name == "large"
    assert len(large.cases) == 12 and len({c.hash for c in large.cases}) == 12
    assert [c.labels["geometry"] for c in large.cases] == (
        ["layered"] * 4 + ["isolated"] * 4 + ["interconnected"] * 4)
    assert large.cases[0].case.name == ("large[geometry=layered,efficiency.value=0.52,"
                                        "resolution.lateral_sigma=0.3]")
    settings = {(c.case.emulation.efficiency.value, c.case.emulation.resolution.lateral_sigma,
                 c.case.emulation.resolution.depth_sigma) for c in large.cases}
    assert settings == {(0.52, 0.3, 0.15), (0.52, 0.5, 0.15), (0.80, 0.3, 0.15), (0.80, 0.5, 0.15)}
    # one MD run per geometry (minimization only), shared by its four instrument settings
    assert len({specimen_key(c.case) for c in large.cases}) == 3
    md = large.cases[0].case.simulation.md
    assert (md.steps, md.minimize, md.min_iterations, md.quench, md.swaps) == (0, True, 50, False, False)
    for sc in large.cases:
        assert sc.case.simulation.structure.box == (30.0, 30.0, 30.0)
        assert sc.case.segmentation.method_names == (
            "hed", "canny", "sobel", "hed-edge", "canny-edge", "sobel-edge", "iso-auto",
            "iso-Al-10", "iso-Al-15", "iso-Al-20")
        assert sc.case.segmentation.references == (
            ("oracle", "bayes") if sc.labels["geometry"] == "interconnected" else REFERENCES)
    # the geometries as built in the 30 nm box: a 15 nm slab normal to the tip axis, r = 5 nm
    # spheres filling 8 vol.%, a gyroid of 2 x 2 x 2 cells of 15 nm
    box = np.array([30.0, 30.0, 30.0])
    built = {sc.labels["geometry"]: build_geometry(sc.case.simulation.structure.geometry, box,
                                                   np.random.default_rng(0))
             for sc in large.cases}
    slab = built["layered"]
    assert slab.thicknesses == (15.0,) and slab.centers == (15.0,) and slab.period == 30.0
    assert tuple(slab.unit_normal) == (0.0, 0.0, 1.0)
    spheres = built["isolated"]
    radii = spheres.axes_array[:, 0]
    assert 3 <= len(radii) <= 6 and 4.0 < np.median(radii) < 6.0
    assert spheres.volume / box.prod() == pytest.approx(0.08, abs=0.01)
    gyroid = built["interconnected"]
    assert gyroid.cells == (2, 2, 2) and gyroid.volume_fraction() == pytest.approx(0.35, abs=0.01)


def test_hash_ignores_the_name_and_follows_every_value():
    tiny = load_suite(TINY)
    case = tiny.cases[0].case
    assert case_hash(case.replace(name="renamed")) == tiny.cases[0].hash
    assert case_hash(case.replace(seed=6)) != tiny.cases[0].hash
    other = case.replace(emulation=case.emulation.replace(instrument="leap4000xhr"))
    assert case_hash(other) != tiny.cases[0].hash
    # same config given in another key order: same hash
    assert load_suite(TINY).cases[1].hash == tiny.cases[1].hash


def test_geometry_override_replaces_the_table_of_another_kind():
    s = suite(grid={"geometry": {"ball": {"simulation": {"structure": {"geometry": {
        "kind": "isolated", "radius": 0.9, "count": 1}}}}}})
    assert s.cases[0].case.simulation.structure.geometry == {"kind": "isolated", "radius": 0.9,
                                                             "count": 1}


def test_list_axis_and_table_axis_multiply():
    s = suite(grid={"seed": [1, 2, 3], "detector": {
        "xs": {"emulation": {"instrument": "leap5000xs"}},
        "hr": {"emulation": {"instrument": "leap4000xhr"}}}})
    assert len(s.cases) == 6
    assert [c.case.seed for c in s.cases] == [1, 1, 2, 2, 3, 3]
    assert s.cases[1].case.name == "t[seed=1,detector=hr]"


@pytest.mark.parametrize("changes, message", [
    ({"base": {**BASE, "emulation": {"resolution": {"lateral_sigmaa": 0.3}}}},
     "base.emulation.resolution.lateral_sigmaa"),
    ({"grid": {"g": {"a": {"emulation": {"efficiency": {"valeu": 0.5}}}}}},
     "grid.g.a.emulation.efficiency.valeu"),
    ({"grid": {"emulation.efficiency.valeu": [0.5]}}, "grid.emulation.efficiency.valeu"),
    ({"grid": {"emulation.efficiency.value": [0.5, 1.5]}},
     "grid.emulation.efficiency.value: must be in (0, 1], got 1.5 (case t[efficiency.value=1.5])"),
    ({"grid": {"g": {"a": {"emulation": {"efficiency": {"value": 1.5}}}}}},
     "grid.g.a.emulation.efficiency.value: must be in (0, 1]"),
    ({"grid": {"g": {"big": {"simulation": {"structure": {"geometry": {
        "kind": "isolated", "radius": 5.0}}}}}}}, "grid.g.big.simulation.structure.geometry.radius: "),
    ({"base": {**BASE, "emulation": {"instrument": "leap9000"}}},
     "base.emulation.instrument: unknown instrument 'leap9000'"),
    ({"base": {**BASE, "segmentation": {"methods": ["hde"]}}},
     "base.segmentation.methods: unknown method 'hde' (known: hed, canny, sobel, learned, hed-edge, "
     "canny-edge, sobel-edge, learned-edge, learned-phase, iso-auto; fixed iso values go in iso_values)"),
    ({"base": {**BASE, "segmentation": {"methods": ["iso"]}}},
     "base.segmentation.methods: unknown method 'iso'"),
    ({"base": {**BASE, "segmentation": {"iso_values": [150.0]}}},
     "base.segmentation.iso_values: 150.0 at.% is not in (0, 100)"),
    ({"base": {**BASE, "simulation": {**BASE["simulation"], "md": {"steps": -1}}}},
     "base.simulation.md.steps: must be >= 0"),
    ({"grdi": {}}, "unknown key 'grdi'"),
    ({"suite_version": "1"}, "suite_version: expected a positive integer"),
    ({"grid": {"seed": []}}, "grid.seed: empty list"),
    ({"grid": {"seed": [1, 1]}}, "grid.seed: repeated value"),
    ({"grid": {"g": {"a": {}, "b": {"name": "x"}}}}, "are identical"),
    ({"base": {**BASE, "simulation": {**BASE["simulation"], "seed": 9}}}, "base.simulation.seed: set the case's 'seed' instead"),
])
def test_suite_errors_name_the_key(changes, message):
    with pytest.raises(ConfigError) as info:
        suite(**changes)
    text = str(info.value)
    assert message in text
    assert text.startswith("t.toml: ")
    assert "\n" not in text


def test_cli_reports_a_bad_suite_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.read_text().replace("steps = 10", "stepz = 10"))
    proc = subprocess.run([sys.executable, "-m", "synthapt", "campaign", "run", str(bad), "--out",
                           str(tmp_path / "out"), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert "base.simulation.md.stepz" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_cli_show_lists_hashes():
    proc = subprocess.run([sys.executable, "-m", "synthapt", "campaign", "show", str(TINY)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    tiny = load_suite(TINY)
    for sc in tiny.cases:
        assert f"{sc.hash}  {sc.case.name}" in proc.stdout


def test_case_config_round_trips_through_from_dict():
    case = load_suite(TINY).cases[0].case
    from synthapt.config import to_dict

    again = from_dict(CaseConfig, to_dict(case))
    assert case_hash(again) == case_hash(case)


def test_slurm_options_from_toml_and_yaml(tmp_path):
    toml = tmp_path / "slurm.toml"
    toml.write_text('[slurm]\nqueue = "short"\naccount = "apt"\ncores = 8\nmemory = "16GB"\n')
    yaml = tmp_path / "slurm.yaml"
    yaml.write_text("queue: short\naccount: apt\ncores: 8\nmemory: 16GB\nwalltime: '02:00:00'\n")
    a = load_slurm_options(toml)
    b = load_slurm_options(yaml, cores=4)
    assert (a.queue, a.account, a.cores, a.memory, a.walltime) == ("short", "apt", 8, "16GB", "01:00:00")
    assert (b.cores, b.walltime) == (4, "02:00:00")
    bad = tmp_path / "bad.yaml"
    bad.write_text("queue: short\nwalltime: two hours\n")
    with pytest.raises(ConfigError, match="slurm.walltime: 'two hours'"):
        load_slurm_options(bad)
    with pytest.raises(ConfigError, match="unknown key 'slurm.qeue'"):
        load_slurm_options(None, qeue="x")
