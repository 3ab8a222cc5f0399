"""Validation campaigns: a suite of cases run through Dask, resumable, keyed by config hash.

``run_campaign`` runs every case of a suite (``synthapt.campaign.suite``; ``synthapt.campaign.case.run_case``) on
a Dask cluster (a LocalCluster of single-threaded worker processes by default, or SLURM through
dask-jobqueue), one folder per case hash; a rerun reuses every finished case. ``generate``
writes each case's dataset only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthapt.campaign.case import (CASE_FILE, RESULT_FILE, check_finished_case, generate_case,
                                    run_case, specimen_key)
from synthapt.campaign.cluster import SlurmOptions, check_cluster_options, make_cluster
from synthapt.campaign.results import write_results_csv
from synthapt.campaign.suite import Suite, load_suite
from synthapt.errors import ConfigError, SynthaptError
from synthapt.io.jsonio import read_json, write_json
from synthapt.report.build import check_campaign_report, write_campaign_report

CAMPAIGN_FILE = "campaign.json"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class CampaignOutcome:
    """What a campaign produced: results in suite order, failures {case name: error}."""

    out: Path
    results: tuple[dict, ...]
    failures: dict[str, str]
    reused: int
    computed: int


def run_campaign(suite: Suite | str | Path, out: str | Path, cluster: str = "local",
                 workers: int | None = None, threads: int = 1, slurm: SlurmOptions | None = None,
                 resume: bool = False, force: bool = False, progress=None,
                 report: bool = True) -> CampaignOutcome:
    """Run every case of ``suite`` into ``out/<case-hash>/`` and aggregate the results.

    Writes ``out/campaign.json`` (suite manifest), ``out/results.json``, ``out/results.csv``
    (one row per case and method) and, when ``report``, an HTML report. Finished cases found in
    ``out`` are reused; an ``out`` with other content is refused unless ``resume`` (reuse its
    finished cases) or ``force`` (recompute this suite's cases). ``threads``: LAMMPS/torch
    threads per case (local workers default to cores // threads). Raises SynthaptError naming
    the failed cases after writing the aggregates of the others.
    """
    check_cluster_options(cluster, workers, threads)
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    threads = slurm.cores if cluster == "slurm" and slurm else threads
    if report:
        check_campaign_report(Path(out) / "report.html")
    with campaign_folder(suite, Path(out), resume, force, cluster) as out:
        outcome = _execute(suite, out, run_case, RESULT_FILE, cluster, workers, threads, slurm,
                           progress, "cases")
        rows = list(outcome.results)
        write_json(out / "results.json", {**suite.manifest(), "results": rows})
        write_results_csv(out / "results.csv", suite, rows)
        if report and rows:
            _write_report(out, suite, rows)
    _raise_failures(outcome, suite)
    return outcome


def generate(suite: Suite | str | Path, out: str | Path, cluster: str = "local",
             workers: int | None = None, threads: int = 1, slurm: SlurmOptions | None = None,
             resume: bool = False, force: bool = False, progress=None) -> dict:
    """Write every case's dataset (HDF5 with truth, POS, ePOS, RRNG) and ``out/manifest.json``.

    The manifest lists each case's name, hash, parameters and the SHA-256 of each file (paths
    relative to ``out``). Returns the manifest.
    """
    check_cluster_options(cluster, workers, threads)
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    threads = slurm.cores if cluster == "slurm" and slurm else threads
    with campaign_folder(suite, Path(out), resume, force, cluster) as out:
        outcome = _execute(suite, out, generate_case, CASE_FILE, cluster, workers, threads,
                           slurm, progress, "datasets")
        cases = []
        for record in outcome.results:
            files = {f"{record['hash']}/{name}": digest for name, digest in record["files"].items()}
            cases.append({**record, "folder": record["hash"], "files": files})
        manifest = {"suite": suite.name, "suite_version": suite.version, "cases": cases}
        write_json(out / "manifest.json", manifest)
    _raise_failures(outcome, suite)
    return manifest


@contextlib.contextmanager
def campaign_folder(suite: Suite, out: Path, resume: bool = False, force: bool = False,
                    cluster: str = "local") -> Iterator[Path]:
    """Check, create and lock ``out`` for ``suite`` (rules in ``run_campaign``); under the lock,
    clear this suite's case folders when ``force`` and write ``campaign.json``. A second
    campaign on the same folder is refused while the lock is held; the lock dies with its
    process, so a killed campaign never blocks its rerun."""
    if cluster not in ("local", "slurm"):
        raise ConfigError(f"cluster: {cluster!r} is not one of 'local', 'slurm'")
    if resume and force:
        raise ConfigError("--resume and --force exclude each other")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    manifest = suite.manifest()
    existing = out / CAMPAIGN_FILE
    same = existing.is_file() and read_json(existing) == manifest
    content = [p for p in out.iterdir() if p.name != LOCK_FILE] if out.is_dir() else []
    if content and not same and not (resume or force):
        raise ConfigError(f"{out}: exists with other content; pass --resume to reuse its "
                          "finished cases or --force to recompute them")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{out}: another campaign is running in this folder") from None
        if force:
            for sc in suite.cases:
                if (out / sc.hash).is_dir():
                    shutil.rmtree(out / sc.hash)
        write_json(existing, manifest)
        yield out


def _execute(suite: Suite, out: Path, task: Callable, marker: str, cluster: str,
             workers: int | None, threads: int, slurm: SlurmOptions | None, progress,
             what: str) -> CampaignOutcome:
    """Run ``task(case, out, threads)`` for each unfinished case on Dask; gather in suite order."""
    done = {sc.hash for sc in suite.cases if _reusable(out / sc.hash, marker, sc.hash)}
    todo = _distinct_simulations_first([sc for sc in suite.cases if sc.hash not in done])
    failures: dict[str, str] = {}
    bar = progress.add_task(what, total=len(suite.cases), completed=len(done)) if progress else None
    if todo:
        from distributed import Client, as_completed

        n_workers = workers
        if cluster == "local":
            n_workers = min(len(todo), workers or max(1, (os.cpu_count() or 1) // max(1, threads)))
        with _environ_restored(), make_cluster(cluster, n_workers, threads, slurm) as cluster_, \
                Client(cluster_) as client:
            futures = {client.submit(_run_guarded, task, sc.case, str(out), threads,
                                     key=f"{what}-{sc.hash}", pure=False, retries=0): sc
                       for sc in todo}
            for future in as_completed(futures):
                sc = futures[future]
                try:
                    message = future.result()
                except Exception as exc:  # noqa: BLE001 - one failed case must not stop the rest
                    message = _one_line(exc)
                if message is not None:
                    failures[sc.case.name] = message
                if bar is not None:
                    progress.advance(bar)
    results = [read_json(out / sc.hash / marker) for sc in suite.cases
               if (out / sc.hash / marker).is_file()]
    return CampaignOutcome(out, tuple(results), failures, reused=len(done),
                           computed=len(todo) - len(failures))


def _reusable(folder: Path, marker: str, key: str) -> bool:
    """True if the case in ``folder`` finished and passes ``check_finished_case``; a finished
    case that fails it loses its marker (so it is recomputed), with a warning line."""
    if not (folder / marker).is_file():
        return False
    problem = check_finished_case(folder, marker, key)
    if problem is None:
        return True
    print(f"warning: {folder / marker}: {problem}; recomputing this case", file=sys.stderr)
    (folder / marker).unlink()
    return False


@contextlib.contextmanager
def _environ_restored() -> Iterator[None]:
    """Restore ``os.environ`` afterwards: Dask's nanny sets OMP_NUM_THREADS and friends in the
    spawning process, which must not outlive the campaign."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _distinct_simulations_first(cases: list) -> list:
    """Reorder so that the first case of every distinct MD simulation comes first (workers run
    different simulations side by side), then the other cases grouped by simulation in the
    order the simulations started: a free worker finishes the cases of a done specimen before
    it reaches one that waits for a specimen still being simulated."""
    group: dict[str, int] = {}
    keys = []
    for i, sc in enumerate(cases):
        key = specimen_key(sc.case)
        first = key not in group
        group.setdefault(key, len(group))
        keys.append((not first, group[key], i))
    return [cases[k[2]] for k in sorted(keys)]


def _run_guarded(task: Callable, case: Any, out: str, threads: int) -> str | None:
    """``task(case, out, threads)`` on a worker: None when it finishes, the one-line message of a
    ``SynthaptError`` (bad input found only at run time, e.g. particles that do not fit the box
    once it is rounded to whole lattice cells) instead of a worker-log traceback. Any other
    exception is a bug and is raised, with its traceback in the worker log."""
    try:
        task(case, out, threads)
    except SynthaptError as exc:
        return _one_line(exc)
    return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}" if not isinstance(
        exc, SynthaptError) else text[0]


def _raise_failures(outcome: CampaignOutcome, suite: Suite) -> None:
    if outcome.failures:
        name, message = next(iter(outcome.failures.items()))
        raise SynthaptError(f"{len(outcome.failures)} of {len(suite.cases)} cases failed "
                            f"(results of the others are in {outcome.out}); {name}: {message}")


def _write_report(out: Path, suite: Suite, results: list[dict]) -> None:
    """The campaign's self-contained HTML report (``synthapt.report.build``)."""
    write_campaign_report(out / "report.html", results, title=f"synthapt campaign: {suite.name}")
