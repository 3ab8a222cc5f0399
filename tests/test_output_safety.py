"""Outputs never destroy user files: report folders, score --json, the campaign's report.html."""

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import assert_clean_error, synthapt
from synthapt.errors import SynthaptError
from synthapt.io.atomic import atomic_folder
from synthapt.report.build import REPORT_MARKER, check_campaign_report, write_campaign_report


def bare_result(folder: Path) -> Path:
    path = folder / "r.json"
    path.write_text(json.dumps({"name": "bare", "scores": {"hed": {"accuracy": 0.99}}}))
    return path


def test_report_refuses_a_folder_with_user_files_and_the_current_folder(tmp_path):
    result = bare_result(tmp_path)
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "thesis.tex").write_text("chapter 1")
    line = assert_clean_error(synthapt("report", result, "-o", keep, "--quiet"))
    assert "not empty" in line and str(keep) in line
    assert sorted(p.name for p in keep.iterdir()) == ["thesis.tex"]
    assert (keep / "thesis.tex").read_text() == "chapter 1"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    assert "current folder" in assert_clean_error(synthapt("report", result, "-o", ".", cwd=cwd))
    assert "current folder" in assert_clean_error(synthapt("report", result, "-o", "..", cwd=cwd))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "keep", "r.json"]  # no leftovers


def test_report_writes_new_empty_and_replaces_only_a_previous_report(tmp_path):
    result = bare_result(tmp_path)
    out = tmp_path / "rep"
    assert synthapt("report", result, "-o", out, "--quiet").returncode == 0
    assert (out / REPORT_MARKER).is_file() and (out / "index.html").is_file()
    (out / "index.html").write_text("stale")
    proc = synthapt("report", result, "-o", out, "--quiet", "--title", "second")
    assert proc.returncode == 0, proc.stderr
    assert "second" in (out / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "rep"]  # old copy removed
    empty = tmp_path / "empty"
    empty.mkdir()
    assert synthapt("report", result, "-o", empty, "--quiet").returncode == 0
    assert (empty / "index.html").is_file()
    help_text = synthapt("report", "--help").stdout
    assert "previous report" in help_text and "empty" in help_text


def test_atomic_folder_with_marker_keeps_foreign_folders(tmp_path):
    target = tmp_path / "t"
    with atomic_folder(target, marker=".mine") as tmp:
        (tmp / "a").write_text("1")
    assert (target / ".mine").is_file()
    with atomic_folder(target, marker=".mine") as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == [".mine", "b"]
    (target / ".mine").unlink()
    with pytest.raises(SynthaptError, match="not empty"):
        with atomic_folder(target, marker=".mine"):
            raise AssertionError("must not run")
    assert sorted(p.name for p in target.iterdir()) == ["b"]


@pytest.mark.parametrize("option", ["seg", "--truth", "--labels", "--mesh", "--params"])
def test_score_refuses_json_onto_any_input(tmp_path, option):
    files = {"seg": tmp_path / "seg.h5", "--truth": tmp_path / "dataset.h5",
             "--labels": tmp_path / "labels.npy", "--mesh": tmp_path / "m.ply",
             "--params": tmp_path / "p.toml"}
    for path in files.values():
        path.write_bytes(b"precious")
    args = ["score", files["seg"], "--truth", files["--truth"], "--labels", files["--labels"],
            "--mesh", files["--mesh"], "--params", files["--params"]]
    line = assert_clean_error(synthapt(*args, "--json", files[option]))
    assert "is also an input" in line
    assert all(p.read_bytes() == b"precious" for p in files.values())


def test_score_refuses_json_onto_h5_labels_and_default_truth(tmp_path):
    (tmp_path / "labels.h5").write_bytes(b"precious")
    line = assert_clean_error(synthapt("score", "--truth", tmp_path / "labels.h5", "--labels",
                                       f"{tmp_path / 'labels.h5'}:/phase",
                                       "--json", tmp_path / "labels.h5"))
    assert "is also an input" in line
    (tmp_path / "seg.h5").write_bytes(b"s")
    (tmp_path / "dataset.h5").write_bytes(b"precious")
    line = assert_clean_error(synthapt("score", tmp_path / "seg.h5", "--json", tmp_path / "dataset.h5"))
    assert "is also an input" in line and (tmp_path / "dataset.h5").read_bytes() == b"precious"


def test_campaign_report_never_replaces_a_foreign_report_html(tmp_path):
    foreign = tmp_path / "report.html"
    foreign.write_text("<html><title>my notes</title></html>")
    with pytest.raises(SynthaptError, match="not written by synthapt"):
        check_campaign_report(foreign)
    with pytest.raises(SynthaptError, match="not written by synthapt"):
        write_campaign_report(foreign, [{"name": "a", "scores": {"hed": {"accuracy": 0.9}}}])
    assert foreign.read_text() == "<html><title>my notes</title></html>"
    ours = tmp_path / "ours.html"
    write_campaign_report(ours, [{"name": "a", "scores": {"hed": {"accuracy": 0.9}}}])
    write_campaign_report(ours, [{"name": "b", "scores": {"hed": {"accuracy": 0.8}}}])
    assert ">b<" in ours.read_text()


def test_campaign_run_refuses_a_foreign_report_html_before_any_work(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("<html><title>my notes</title></html>")
    tiny = Path(__file__).parent / "data" / "campaign_tiny.toml"
    line = assert_clean_error(synthapt("campaign", "run", tiny, "--out", out, "--force", "-q"))
    assert "report.html: exists and was not written by synthapt" in line
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
