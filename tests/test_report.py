"""``synthapt report``: HTML + PNG figures, atomic folder writes, offline rendering in Chromium."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from synthapt.cli import app
from synthapt.errors import SynthaptError
from synthapt.io.hdf5 import write_dataset
from synthapt.spatial.mesh import write_mesh
from synthapt.report.build import REPORT_MARKER, write_campaign_report, write_report
from synthapt.report.results import load_results
from test_score_cli import seg_files, slab_dataset, slab_mesh  # noqa: F401 (fixture)

CHROMIUM = Path("/usr/bin/chromium")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A dataset, a user's labels (1 % wrong) and mesh, scored into case.json."""
    folder = tmp_path_factory.mktemp("report")
    ds = slab_dataset()
    write_dataset(folder / "dataset.h5", ds)
    labels = ds.truth.phase.copy()
    labels[::100] = 1 - labels[::100]
    np.save(folder / "labels.npy", labels)
    write_mesh(folder / "mesh.ply", slab_mesh(0.1))
    r = invoke("score", "--truth", folder / "dataset.h5", "--labels", folder / "labels.npy",
               "--mesh", folder / "mesh.ply", "--method", "mine", "--json", folder / "case.json",
               "--quiet")
    assert r.exit_code == 0, r.output
    return folder


def image_sources(index: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', index.read_text())


def test_report_from_score_json(scored, tmp_path):
    out = tmp_path / "reports" / "one"
    r = invoke("report", scored / "case.json", "-o", out, "--quiet")
    assert r.exit_code == 0, r.output
    index = out / "index.html"
    text = index.read_text()
    sources = image_sources(index)
    # proxigram overlay, metric bars, label maps, concentration slice
    assert sorted(sources) == ["case000_edges.png", "case000_labels.png", "case000_metrics.png",
                               "case000_projections.png", "case000_proxigram.png"]
    for name in sources:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "interface_distance_mean" in text and "Provenance" in text and "mine" in text
    accuracy = json.loads((scored / "case.json").read_text())["scores"]["mine"]["accuracy"]
    assert accuracy == pytest.approx(0.99, abs=0.001)
    assert f"{accuracy:.4g}" in text
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_folder_of_results_and_replacing_a_report(scored, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    case = json.loads((scored / "case.json").read_text())
    for name in ("b-case", "a-case"):
        (results / f"{name}.json").write_text(json.dumps({**case, "name": name}))
    cases = load_results(results)
    assert [c.name for c in cases] == ["a-case", "b-case"]
    out = tmp_path / "rep"
    out.mkdir()
    (out / "stale.png").write_bytes(b"old")
    with pytest.raises(SynthaptError, match="not empty"):  # not a report: left alone
        write_report(cases, out)
    assert (out / "stale.png").read_bytes() == b"old"
    (out / REPORT_MARKER).write_text("")  # a previous report is replaced
    write_report(cases, out)
    assert not (out / "stale.png").exists()
    sources = image_sources(out / "index.html")
    assert len(sources) == 11 and sources[0] == "overview.png"  # 2 x 5 + the overview
    assert "a-case" in (out / "index.html").read_text()


def test_failed_report_leaves_nothing(scored, tmp_path):
    bad = tmp_path / "bad.json"
    case = json.loads((scored / "case.json").read_text())
    case["profiles"]["truth"]["counts"] = [[1, 2, 3]]
    bad.write_text(json.dumps(case))
    with pytest.raises(SynthaptError, match="profiles.truth"):
        write_report(load_results(bad), tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_campaign_report_is_self_contained(scored, tmp_path):
    case_dir = tmp_path / "0123456789abcdef"
    case_dir.mkdir()
    shutil.copy(scored / "dataset.h5", case_dir / "dataset.h5")
    case = json.loads((scored / "case.json").read_text())
    result = {"name": "slab", "hash": case_dir.name, "config": {"seed": 3},
              "scores": case["scores"], "n_ions": case["n_ions"], "files": {"dataset.h5": "00"}}
    path = write_campaign_report(tmp_path / "report.html", [result], title="campaign")
    sources = image_sources(path)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "no proxigram" not in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [case_dir.name, "report.html"]


def test_report_errors():
    r = subprocess.run([sys.executable, "-m", "synthapt", "report", "/nonexistent/x", "-o", "/tmp/r"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        subprocess.run("apt-get update && apt-get install -y chromium", shell=True, check=True,
                       capture_output=True)
    return CHROMIUM


CHECK_SCRIPT = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.title = "images:" + imgs.length + " broken:" + broken.length;
});
</script>"""


def render_title(index: Path, profile: Path) -> str:
    """Load ``index`` in headless Chromium (a copy with an image check added); page title."""
    check = index.with_name("_check.html")
    check.write_text(index.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    cmd = [str(ensure_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
           "--dump-dom", check.as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    check.unlink()
    match = re.search(r"<title>([^<]*)</title>", r.stdout)
    assert match, r.stderr[-2000:]
    return match.group(1)


def test_report_renders_in_headless_chromium(scored, tmp_path):
    out = tmp_path / "rep"
    write_report(load_results(scored / "case.json"), out)
    assert render_title(out / "index.html", tmp_path / "profile") == "images:5 broken:0"
    # the check itself fails on a missing image
    (out / "case000_labels.png").unlink()
    assert render_title(out / "index.html", tmp_path / "profile") == "images:5 broken:1"


def test_relative_inputs_resolve_against_the_result_folder(scored, tmp_path, monkeypatch):
    monkeypatch.chdir(scored)
    r = invoke("score", "--truth", "dataset.h5", "--labels", "labels.npy", "--mesh", "mesh.ply",
               "--json", "rel.json", "--quiet")
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(tmp_path)
    write_report(load_results(scored / "rel.json"), tmp_path / "rep")
    assert len(image_sources(tmp_path / "rep" / "index.html")) == 5


def test_in_memory_segmentation_with_edge_field(tmp_path):
    """A real (Canny) segmentation of an emulated slab: edge overlay and label maps drawn."""
    from synthapt.apt import EmulationParams, emulate
    from synthapt.apt.specimens import lattice_specimen
    from synthapt.report.build import CaseResult
    from synthapt.scoring.case_scores import score_case
    from synthapt.segmentation.edge import SegmentParams, segment
    from synthapt.structures.layered import Layered

    geometry = Layered(normal=(0.0, 0.0, 1.0), thicknesses=(3.0,), centers=(3.5,))
    dataset = emulate(lattice_specimen((20, 20, 20), geometry=geometry, seed=1), EmulationParams(),
                      seed=2)
    result = segment(dataset, SegmentParams(detector="canny"))
    case = score_case({"canny": result}, dataset, name="slab")
    out = write_report([CaseResult(case.to_dict(), dataset=dataset, segmentations={"canny": result})],
                       tmp_path / "rep")
    text = out.read_text()
    assert "case000_edges.png" in text and "case000_labels.png" in text
    assert "no edge fields" not in text
    assert 0.5 < case.scores["canny"]["accuracy"] <= 1.0


def test_report_of_segmentation_files(seg_files, tmp_path):
    """A folder with dataset.h5 + seg_*.h5 (scored on the fly), and one segmentation file."""
    r = invoke("report", seg_files, "-o", tmp_path / "folder", "--quiet")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "folder" / "index.html").read_text()
    assert "canny" in text and "case000_edges.png" in text and "no edge fields" not in text
    assert "Segmentation parameters" in text and "marker_threshold" in text
    assert "Dataset provenance" in text and "leap5000xs" in text
    assert len(image_sources(tmp_path / "folder" / "index.html")) == 5
    r = invoke("report", seg_files / "seg_canny.h5", "-o", tmp_path / "one", "--quiet")
    assert r.exit_code == 0, r.output
    assert render_title(tmp_path / "one" / "index.html", tmp_path / "profile") == "images:5 broken:0"


def test_campaign_report_with_segmentation_files(seg_files, tmp_path):
    """The campaign layout: <out>/<hash>/{dataset.h5, seg_<method>.h5, result.json}."""
    from synthapt.io.hdf5 import read_dataset
    from synthapt.scoring.score import score
    from synthapt.segmentation.result import read_segmentation

    case_dir = tmp_path / "fedcba9876543210"
    case_dir.mkdir()
    shutil.copy(seg_files / "dataset.h5", case_dir / "dataset.h5")
    shutil.copy(seg_files / "seg_canny.h5", case_dir / "seg_canny.h5")
    dataset = read_dataset(case_dir / "dataset.h5")
    scores = {"canny": score(read_segmentation(case_dir / "seg_canny.h5"), dataset)}
    result = {"name": "slab", "hash": case_dir.name, "scores": scores, "n_ions": dataset.n_ions}
    (case_dir / "result.json").write_text(json.dumps(result))
    path = write_campaign_report(tmp_path / "report.html", [result])
    text = path.read_text()
    assert len(image_sources(path)) == 5 and "no edge fields" not in text
    # the same folder through 'synthapt report' (finds <hash>/result.json)
    r = invoke("report", tmp_path, "-o", tmp_path / "rep", "--quiet")
    assert r.exit_code == 0, r.output
    assert len(image_sources(tmp_path / "rep" / "index.html")) == 5


def test_minimal_result_without_files(tmp_path):
    """Only name and scores (null = not computed): metric table and bars, a note, no crash."""
    (tmp_path / "r.json").write_text(json.dumps(
        {"name": "bare", "scores": {"hed": {"accuracy": 0.991, "excess_error": 1.1, "dice": None,
                                            "interface_shift": -0.2},
                                    "iso-Al-15": {"accuracy": 0.95, "excess_error": 1.5}},
         "errors": {"canny": "segment: no interface found"}}))
    index = write_report(load_results(tmp_path / "r.json"), tmp_path / "rep")
    text = index.read_text()
    assert image_sources(index) == ["case000_metrics.png"]
    assert "no profiles in the result" in text
    assert "canny: no scores (segment: no interface found)" in text
    # targets are relative to the ceiling: excess error over the Bayes rule <= 1.15
    assert '<td class="pass">1.1</td>' in text and '<td class="fail">1.5</td>' in text
    assert "<th>iso-Al-15</th>" in text


def test_not_a_result(tmp_path):
    (tmp_path / "x.json").write_text('{"results": []}')
    with pytest.raises(SynthaptError, match="not a case result"):
        load_results(tmp_path / "x.json")
    with pytest.raises(SynthaptError, match="no case results"):
        load_results(tmp_path)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SynthaptError, match="not readable JSON"):
        load_results(tmp_path / "bad.json")
    (tmp_path / "ok.json").write_text('{"name": "a", "scores": {"m": {"accuracy": 1.0}}}')
    assert [c.name for c in load_results(tmp_path)] == ["a"]  # unreadable JSON skipped


def test_method_order_and_paired_colours(tmp_path):
    """Ceilings first; "<m>-edge" in the light shade of <m>'s colour; many methods wrap into rows."""
    import struct

    from synthapt.report import figures as rf
    from synthapt.report.results import CaseResult
    from synthapt.segmentation.params import UNREFINED_SUFFIX

    case = CaseResult({"scores": {"bayes": {}, "canny": {}, "canny-edge": {}, "hed": {}, "oracle": {},
                                  "truth-mesh": {}}})
    assert list(case.scores) == ["oracle", "bayes", "truth-mesh", "canny", "canny-edge", "hed"]
    assert rf.UNREFINED_SUFFIX == UNREFINED_SUFFIX
    colors = rf.method_colors(["hed", "canny", "hed-edge", "iso-auto", "canny-edge"])
    tab20 = rf.plt.get_cmap("tab20").colors
    assert (colors["hed"], colors["hed-edge"]) == (tab20[0], tab20[1])
    assert (colors["canny"], colors["canny-edge"]) == (tab20[2], tab20[3])
    assert colors["iso-auto"] == tab20[4]
    names = ["hed", "hed-edge", "canny", "canny-edge", "sobel", "sobel-edge", "iso-auto", "iso-Al-15"]
    positions = np.random.default_rng(0).uniform(0, 4, (400, 3))
    truth = (positions[:, 2] > 2).astype(np.int8)
    path = rf.label_maps(positions, truth, {n: truth for n in names}, tmp_path / "labels.png")
    width, height = struct.unpack(">II", path.read_bytes()[16:24])  # PNG IHDR
    # 9 panels (truth + 8 methods): 5 columns of 3.4 in, 2 rows of 3.6 in, at DPI 90
    assert (width, height) == (round(5 * 3.4 * rf.DPI), round(2 * 3.6 * rf.DPI))
