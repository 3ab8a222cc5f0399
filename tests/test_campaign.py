"""Campaigns on a Dask LocalCluster: two tiny real cases (LAMMPS -> emulation -> segmentation ->
scores), a campaign killed after its first case and rerun, output-folder rules, ``generate``."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthapt.campaign.run import load_suite, run_campaign
from synthapt.campaign.case import read_json, sha256_file
from synthapt.errors import ConfigError

TINY = Path(__file__).parent / "data" / "campaign_tiny.toml"
CASE_FILES = {"specimen.h5", "dataset.h5", "seg_canny.h5", "seg_iso-Al-15.h5", "timings.json",
              "result.json"}


def _finished(out: Path) -> list[Path]:
    return sorted(out.glob("*/result.json"))


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory):
    """Run the tiny suite in a subprocess with one worker, SIGKILL its whole process group as
    soon as the first case has finished, then rerun it in this process with --resume."""
    out = tmp_path_factory.mktemp("campaign") / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthapt", "campaign", "run", str(TINY), "--out", str(out),
         "--workers", "1", "--quiet"],
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _finished(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    _, stderr = proc.communicate()
    assert len(_finished(out)) == 1, stderr.decode()[-2000:]
    first = _finished(out)[0].parent
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.iterdir()}
    outcome = run_campaign(TINY, out, workers=2, resume=True, report=True)
    return out, first, before, outcome


def test_resumed_campaign_reuses_the_finished_case(killed_then_resumed):
    out, first, before, outcome = killed_then_resumed
    assert (outcome.reused, outcome.computed, outcome.failures) == (1, 1, {})
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.iterdir()}
    assert after == before  # not one file of the finished case was rewritten


def test_campaign_results_are_complete(killed_then_resumed):
    out, _, _, outcome = killed_then_resumed
    suite = load_suite(TINY)
    assert [r["hash"] for r in outcome.results] == [sc.hash for sc in suite.cases]
    for sc in suite.cases:
        folder = out / sc.hash
        assert {p.name for p in folder.iterdir()} == CASE_FILES  # no temporary leftovers
        result = read_json(folder / "result.json")
        assert result["name"] == sc.case.name
        assert result["config"]["seed"] == 5
        assert 5000 < result["n_atoms"] < 6000 and 0 < result["n_ions"] < result["n_atoms"]
        assert set(result["files"]) == {"specimen.h5", "dataset.h5", "seg_canny.h5",
                                        "seg_iso-Al-15.h5"}
        for name, digest in result["files"].items():
            assert sha256_file(folder / name) == digest
        # every method is either scored or carries the reason it could not be
        assert set(result["scores"]) | set(result["errors"]) == {"canny", "iso-Al-15", "oracle",
                                                                 "bayes", "truth-mesh"}
        # the ceilings are scored, and every method is measured against the Bayes rule
        assert result["scores"]["bayes"]["excess_error"] == pytest.approx(1.0)
        for scores in result["scores"].values():
            assert scores["bayes_accuracy"] == result["scores"]["bayes"]["accuracy"]
        assert not set(result["scores"]) & set(result["errors"])
        for scores in result["scores"].values():
            assert 0.0 <= scores["accuracy"] <= 1.0
            assert scores["n_ions"] == result["n_ions"]
        # the iso-surface baseline finds these interfaces: real scores, not placeholders
        iso = result["scores"]["iso-Al-15"]
        assert iso["accuracy"] > 0.7 and iso["interface_distance_mean"] < 1.0
    aggregate = read_json(out / "results.json")
    assert [r["hash"] for r in aggregate["results"]] == [sc.hash for sc in suite.cases]
    rows = list(csv.DictReader((out / "results.csv").open()))
    # per case: the methods in plan order, then the ceilings
    assert [(r["geometry"], r["method"]) for r in rows] == [
        (g, m) for g in ("layered", "isolated")
        for m in ("canny", "iso-Al-15", "bayes", "oracle", "truth-mesh")]
    for row in rows:
        result = read_json(out / row["hash"] / "result.json")
        if row["method"] in result["errors"]:
            assert row["error"] == result["errors"][row["method"]] and row["accuracy"] == ""
        else:
            assert float(row["accuracy"]) == pytest.approx(
                result["scores"][row["method"]]["accuracy"])
    report = (out / "report.html").read_text()
    assert all(sc.case.name in report for sc in suite.cases)


def test_rerun_of_a_finished_campaign_recomputes_nothing(killed_then_resumed):
    out, _, _, _ = killed_then_resumed
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/*")}
    outcome = run_campaign(TINY, out, report=False)  # same suite: no flag needed
    assert (outcome.reused, outcome.computed) == (2, 0)
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*")} == stamps


def _h5_contents(path: Path) -> dict:
    """Every dataset value and attribute of an HDF5 file, keyed by path."""
    import h5py
    import numpy as np

    out = {}

    def visit(name, obj):
        out.update({f"{name}@{k}": np.asarray(v).tolist() for k, v in obj.attrs.items()})
        if isinstance(obj, h5py.Dataset):
            value = obj[()]
            if isinstance(value, np.ndarray):  # numbers bit for bit (NaN too), strings as text
                value = value.tolist() if value.dtype == object else value.tobytes()
            out[name] = value

    with h5py.File(path, "r") as f:
        out.update({f"@{k}": np.asarray(v).tolist() for k, v in f.attrs.items()})
        f.visititems(visit)
    return out


def test_case_results_are_deterministic(killed_then_resumed, tmp_path):
    """The same case run again, in this process instead of a campaign worker, gives the same
    results: identical result.json and identical HDF5 contents (every array bit for bit, every
    attribute and text). The HDF5 files' bytes are not compared: libhdf5 places the chunks of
    compressed datasets when its chunk cache is flushed, in an order that occasionally differs
    between two writes of identical content (same size and contents, chunks swapped), and so
    then do the files' SHA-256 recorded in result.json."""
    out, first, _, _ = killed_then_resumed
    suite = load_suite(TINY)
    sc = next(s for s in suite.cases if s.hash == first.name)
    from synthapt.campaign.case import run_case

    run_case(sc.case, tmp_path)
    again = tmp_path / sc.hash
    results = [read_json(folder / "result.json") for folder in (again, first)]
    assert [sorted(r.pop("files")) for r in results] == [sorted(CASE_FILES - {
        "timings.json", "result.json"})] * 2
    assert results[0] == results[1]
    for name in ("specimen.h5", "dataset.h5", "seg_canny.h5", "seg_iso-Al-15.h5"):
        assert _h5_contents(again / name) == _h5_contents(first / name), name


def test_used_output_folder_is_refused_unless_resume_or_force(killed_then_resumed, tmp_path):
    out, first, _, _ = killed_then_resumed
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists with other content; pass --resume"):
        run_campaign(TINY, other)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    # a different suite in a used campaign folder is refused too
    changed = tmp_path / "changed.toml"
    changed.write_text(TINY.read_text().replace("seed = 5", "seed = 6"))
    with pytest.raises(ConfigError, match="exists with other content"):
        run_campaign(changed, out)
    with pytest.raises(ConfigError, match="--resume and --force exclude each other"):
        run_campaign(TINY, out, resume=True, force=True)
    with pytest.raises(ConfigError, match="cluster: 'pbs' is not one of"):
        run_campaign(TINY, out, cluster="pbs")


def test_second_campaign_on_a_running_folder_is_refused(killed_then_resumed, tmp_path):
    import fcntl
    import shutil

    source, _, _, _ = killed_then_resumed
    out = tmp_path / "out"
    shutil.copytree(source, out)
    with open(out / ".lock", "a") as lock:  # as a running campaign holds it
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError, match="another campaign is running in this folder"):
            run_campaign(TINY, out)
    outcome = run_campaign(TINY, out, report=False)  # released: a finished campaign, reused
    assert (outcome.reused, outcome.computed) == (2, 0)
    assert read_json(out / "campaign.json")["cases"][0]["hash"] in {p.parent.name for p in _finished(out)}


def test_force_clears_only_this_suites_cases(killed_then_resumed, tmp_path):
    """--force deletes the suite's case folders (so every case is recomputed) and nothing else."""
    import shutil

    from synthapt.campaign.run import campaign_folder

    source, _, _, _ = killed_then_resumed
    out = tmp_path / "out"
    shutil.copytree(source, out)
    (out / "notes.txt").write_text("mine")
    (out / "0123456789abcdef").mkdir()  # a case of another suite
    suite = load_suite(TINY)
    with campaign_folder(suite, out, force=True):
        pass
    assert not any((out / sc.hash).exists() for sc in suite.cases)
    assert (out / "notes.txt").read_text() == "mine" and (out / "0123456789abcdef").is_dir()
    assert read_json(out / "campaign.json") == suite.manifest()


def test_generate_writes_datasets_and_checksummed_manifest(tmp_path):
    from synthapt.io.hdf5 import read_dataset
    from synthapt.io.pos import read_pos
    from synthapt.io.rrng import read_rrng

    out = tmp_path / "gen"
    from typer.testing import CliRunner

    from synthapt.cli import app

    run = CliRunner().invoke(app, ["generate", str(TINY), "--out", str(out), "--quiet"])
    assert run.exit_code == 0, run.output
    manifest = json.loads((out / "manifest.json").read_text())
    suite = load_suite(TINY)
    assert [c["hash"] for c in manifest["cases"]] == [sc.hash for sc in suite.cases]
    for entry, sc in zip(manifest["cases"], suite.cases):
        assert entry["parameters"]["name"] == sc.case.name
        assert entry["parameters"]["simulation"]["structure"]["geometry"] == \
            sc.case.simulation.structure.geometry
        assert sorted(entry["files"]) == sorted(f"{sc.hash}/{n}" for n in (
            "dataset.h5", "dataset.pos", "dataset.epos", "ranges.rrng"))
        for rel, digest in entry["files"].items():
            assert sha256_file(out / rel) == digest
        dataset = read_dataset(out / sc.hash / "dataset.h5")
        assert dataset.truth is not None and dataset.n_ions == entry["n_ions"]
        pos = read_pos(out / sc.hash / "dataset.pos")
        assert pos.n_ions == dataset.n_ions
        assert (out / sc.hash / "dataset.epos").stat().st_size == 44 * dataset.n_ions
        assert read_rrng(out / sc.hash / "ranges.rrng").ion_names == dataset.ranges.ion_names
        assert not list((out / sc.hash).glob("seg_*"))  # no segmentation


def test_a_failing_case_does_not_stop_the_others(tmp_path, capfd):
    """A case that fails at run time (every ion lost to a 0.002 % detection efficiency) is
    reported after the others finished, as one message and no worker traceback; a rerun
    retries only that case."""
    from synthapt.errors import SynthaptError

    suite_file = tmp_path / "failing.toml"
    text = TINY.read_text().split("[grid.geometry.layered]")[0]
    suite_file.write_text(text + '[grid.geometry.layered]\nsimulation.structure.geometry = '
                          '{ kind = "layered", thicknesses = [2.0], centers = [2.0] }\n'
                          '[grid]\n"emulation.efficiency.value" = [0.00002, 0.8]\n')
    suite = load_suite(suite_file)
    out = tmp_path / "out"
    with pytest.raises(SynthaptError) as info:
        run_campaign(suite, out, report=False)
    assert str(info.value).startswith("1 of 2 cases failed")
    assert str(info.value).endswith(f"{suite.cases[0].case.name}: emulation: no ions left after "
                                    "the efficiency stage")
    printed = capfd.readouterr().err
    assert "Traceback" not in printed and "Compute Failed" not in printed
    assert not (out / suite.cases[0].hash / "result.json").exists()
    good = out / suite.cases[1].hash / "result.json"
    assert good.is_file()
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["hash"] for r in rows} == {suite.cases[1].hash}
    stamp = good.stat().st_mtime_ns
    with pytest.raises(SynthaptError, match="1 of 2 cases failed"):
        run_campaign(suite, out, report=False)
    assert good.stat().st_mtime_ns == stamp


def test_resume_recomputes_a_tampered_case_and_reuses_the_intact_one(killed_then_resumed, tmp_path,
                                                                     capsys):
    """A result.json of {} is one warning line and the case is recomputed (same scores); the
    intact case is reused as is."""
    import shutil

    from synthapt.campaign.case import check_finished_case

    source, first, _, _ = killed_then_resumed
    out = tmp_path / "out"
    shutil.copytree(source, out)
    original = read_json(out / first.name / "result.json")
    (out / first.name / "result.json").write_text("{}")
    outcome = run_campaign(TINY, out, resume=True, report=False)
    assert (outcome.reused, outcome.computed, outcome.failures) == (1, 1, {})
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 1 and "result.json" in warnings[0] and "recomputing" in warnings[0]
    again = read_json(out / first.name / "result.json")
    assert again["scores"] == original["scores"] and again["hash"] == first.name
    # a changed file no longer matches its recorded SHA-256; a bad record is named, not raised
    other = next(p.parent for p in _finished(out) if p.parent != out / first.name)
    assert check_finished_case(other, "result.json", other.name) is None
    with open(other / "seg_canny.h5", "ab") as fh:
        fh.write(b"\0")
    assert "seg_canny.h5: SHA-256 differs" in check_finished_case(other, "result.json", other.name)
    (other / "result.json").write_text('{"scores": {}, "hash": "x", "files": {}}')
    assert "records case hash 'x'" in check_finished_case(other, "result.json", other.name)
    (other / "result.json").write_text("[1,")
    assert check_finished_case(other, "result.json", other.name)  # a reason, not a traceback


@pytest.mark.parametrize("option", [("--workers", "-1"), ("--threads", "0"), ("--workers", "0"),
                                    ("--cores", "-2")])
def test_bad_cluster_options_are_refused_before_any_work(tmp_path, option):
    from cli_run import assert_clean_error, synthapt

    line = assert_clean_error(synthapt("campaign", "run", TINY, "--out", tmp_path / "out", *option))
    assert option[0] in line or option[0].strip("-") in line
    assert not (tmp_path / "out").exists()


def test_a_case_failing_on_a_worker_is_one_error_line_from_the_console_script(tmp_path):
    """Through the installed ``synthapt`` script: a case whose bad input shows only on the worker
    (every ion lost to a 0.002 % detection efficiency) ends the run with exit 2 and one
    ``error:`` line, no worker-log traceback."""
    from cli_run import assert_clean_error, synthapt

    suite_file = tmp_path / "failing.toml"
    text = TINY.read_text().split("[grid.geometry.layered]")[0]
    suite_file.write_text(text + '[grid.geometry.layered]\nsimulation.structure.geometry = '
                          '{ kind = "layered", thicknesses = [2.0], centers = [2.0] }\n'
                          '[grid]\n"emulation.efficiency.value" = [0.00002]\n')
    proc = synthapt("campaign", "run", suite_file, "--out", tmp_path / "out", "--workers", "1",
                    "--quiet", timeout=300)
    line = assert_clean_error(proc)
    assert line.startswith("error: 1 of 1 cases failed")
    assert line.endswith("emulation: no ions left after the efficiency stage")
