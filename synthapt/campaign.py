"""Validation campaigns: a suite of cases run through Dask, resumable, keyed by config hash.

``run_campaign`` runs every case of a suite (``synthapt.suite``; ``synthapt.case.run_case``) on
a Dask cluster (a LocalCluster of single-threaded worker processes by default, or SLURM through
dask-jobqueue), one folder per case hash; a rerun reuses every finished case. ``generate``
writes each case's dataset only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthapt.case import CASE_FILE, RESULT_FILE, generate_case, read_json, run_case, write_json
from synthapt.config import from_dict, read_toml
from synthapt.errors import ConfigError, SynthaptError
from synthapt.suite import Suite, SuiteCase, load_suite, suite_from_dict  # noqa: F401

__all__ = ["Suite", "SuiteCase", "load_suite", "suite_from_dict", "SlurmOptions",
           "load_slurm_options", "make_cluster", "run_campaign", "generate", "CampaignOutcome"]

CAMPAIGN_FILE = "campaign.json"
LOCK_FILE = ".lock"


# ---------------------------------------------------------------------------------- clusters

@dataclass(frozen=True)
class SlurmOptions:
    """SLURM jobs for ``dask_jobqueue.SLURMCluster``: each job is one worker running one case.

    queue: partition; account: project to charge; walltime: "HH:MM:SS" per job;
    cores: CPUs per job (the case's LAMMPS/torch threads); memory: per job (e.g. "4GB");
    jobs: how many jobs (workers) run at once; interface: network interface the workers reach
    the scheduler on (e.g. "ib0"); log_directory: where SLURM writes job logs;
    job_extra_directives: extra ``#SBATCH`` lines (e.g. "--qos=short").
    """

    queue: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    cores: int = 1
    memory: str = "4GB"
    jobs: int = 1
    interface: str | None = None
    scheduler_host: str | None = None
    log_directory: str | None = None
    job_extra_directives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.cores < 1:
            raise ConfigError(f"slurm.cores: {self.cores} must be >= 1")
        if self.jobs < 1:
            raise ConfigError(f"slurm.jobs: {self.jobs} must be >= 1")
        parts = self.walltime.split(":")
        if not (1 <= len(parts) <= 3 and all(p.isdigit() for p in parts)):
            raise ConfigError(f"slurm.walltime: {self.walltime!r} is not [[HH:]MM:]SS")
        from dask.utils import parse_bytes

        try:
            parse_bytes(self.memory)
        except ValueError:
            raise ConfigError(f"slurm.memory: {self.memory!r} is not a size like '4GB'") from None


def load_slurm_options(path: str | Path | None = None, **overrides: Any) -> SlurmOptions:
    """SlurmOptions from a TOML or YAML file (top level or a ``[slurm]`` table) plus overrides."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(path.read_text()) or {}
            except FileNotFoundError:
                raise ConfigError(f"{path}: file not found") from None
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        else:
            data = read_toml(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a table of SLURM options")
        data = data.get("slurm", data)
    data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return from_dict(SlurmOptions, data, "slurm")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None


def make_cluster(cluster: str = "local", workers: int | None = None, threads: int = 1,
                 slurm: SlurmOptions | None = None):
    """A started Dask cluster: ``local`` (worker processes, 1 task each) or ``slurm``."""
    if cluster == "local":
        from distributed import LocalCluster

        n_workers = workers or max(1, (os.cpu_count() or 1) // max(1, threads))
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=":0", silence_logs=logging.ERROR,
                            env={"OMP_NUM_THREADS": str(threads)})
    if cluster == "slurm":
        from dask_jobqueue import SLURMCluster

        slurm = slurm or SlurmOptions()
        # ":0": a free port; None would mean the default 8787, which warns when taken
        scheduler_options: dict = {"dashboard_address": ":0"}
        if slurm.scheduler_host:
            scheduler_options["host"] = slurm.scheduler_host
        try:
            jobs = SLURMCluster(
                queue=slurm.queue, account=slurm.account, walltime=slurm.walltime,
                cores=1, processes=1, job_cpu=slurm.cores, memory=slurm.memory,
                interface=slurm.interface, python=sys.executable,
                log_directory=slurm.log_directory,
                job_extra_directives=list(slurm.job_extra_directives),
                job_script_prologue=[f"export OMP_NUM_THREADS={slurm.cores}"],
                scheduler_options=scheduler_options, silence_logs=logging.ERROR)
        except (OSError, ValueError, RuntimeError) as exc:
            raise SynthaptError(f"slurm: cannot start the Dask scheduler ({exc})") from None
        try:
            check_job_script(jobs.job_script())
        except SynthaptError:
            jobs.close()
            raise
        jobs.scale(jobs=workers or slurm.jobs)
        return jobs
    raise ConfigError(f"cluster: {cluster!r} is not one of 'local', 'slurm'")


def check_job_script(script: str) -> None:
    """``sbatch --test-only``: SLURM validates the worker job (partition, account, time, memory)
    without submitting it; a refusal raises SynthaptError with SLURM's reason, instead of a
    campaign that waits for workers that never come."""
    import subprocess
    import tempfile

    if shutil.which("sbatch") is None:
        raise SynthaptError("slurm: sbatch not found; run on a SLURM login node or use "
                            "--cluster local")
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as fh:
        fh.write(script)
        fh.flush()
        try:
            proc = subprocess.run(["sbatch", "--test-only", fh.name], capture_output=True,
                                  text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise SynthaptError("slurm: sbatch --test-only did not answer in 120 s") from None
    if proc.returncode != 0:
        lines = [ln.removeprefix("sbatch: error: ").strip() for ln in proc.stderr.splitlines()]
        reason = next((ln for ln in lines if ln), f"exit status {proc.returncode}")
        raise SynthaptError(f"slurm: the worker job was refused: {reason}")


# --------------------------------------------------------------------------------- campaigns

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
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    threads = slurm.cores if cluster == "slurm" and slurm else threads
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
    import fcntl

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
    done = {sc.hash for sc in suite.cases if (out / sc.hash / marker).is_file()}
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
            futures = {client.submit(task, sc.case, str(out), threads, key=f"{what}-{sc.hash}",
                                     pure=False, retries=0): sc for sc in todo}
            for future in as_completed(futures):
                sc = futures[future]
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - one failed case must not stop the rest
                    failures[sc.case.name] = _one_line(exc)
                if bar is not None:
                    progress.advance(bar)
    results = [read_json(out / sc.hash / marker) for sc in suite.cases
               if (out / sc.hash / marker).is_file()]
    return CampaignOutcome(out, tuple(results), failures, reused=len(done),
                           computed=len(todo) - len(failures))


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
    from synthapt.case import specimen_key

    group: dict[str, int] = {}
    keys = []
    for i, sc in enumerate(cases):
        key = specimen_key(sc.case)
        first = key not in group
        group.setdefault(key, len(group))
        keys.append((not first, group[key], i))
    return [cases[k[2]] for k in sorted(keys)]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}" if not isinstance(
        exc, SynthaptError) else text[0]


def _raise_failures(outcome: CampaignOutcome, suite: Suite) -> None:
    if outcome.failures:
        name, message = next(iter(outcome.failures.items()))
        raise SynthaptError(f"{len(outcome.failures)} of {len(suite.cases)} cases failed "
                            f"(results of the others are in {outcome.out}); {name}: {message}")


def flatten_scores(scores: dict, prefix: str = "") -> dict[str, Any]:
    """Scalar metrics as {dotted.name: value}; arrays and lists are left out."""
    flat = {}
    for key, value in scores.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_scores(value, f"{name}."))
        elif isinstance(value, (int, float, str, bool)) or value is None:
            flat[name] = value
    return flat


def result_rows(suite: Suite, results: list[dict]) -> list[dict]:
    """One row per (case, method) in suite order: case name, hash, grid labels, method, scalar
    metrics, and ``error`` for a method that could not be segmented or scored."""
    by_hash = {sc.hash: sc for sc in suite.cases}
    rows = []
    for result in results:
        sc = by_hash.get(result["hash"])
        scores, errors = result.get("scores", {}), result.get("errors") or {}
        methods = list(sc.case.segmentation.method_names) if sc else []
        methods += [m for m in list(scores) + list(errors) if m not in methods]
        for method in methods:
            if method not in scores and method not in errors:
                continue
            row = {"case": result["name"], "hash": result["hash"],
                   **(sc.labels if sc else {}), "method": method,
                   **flatten_scores(scores.get(method, {}))}
            if method in errors:
                row["error"] = errors[method]
            rows.append(row)
    return rows


def write_results_csv(path: Path, suite: Suite, results: list[dict]) -> None:
    import csv
    import io

    from synthapt.io.atomic import atomic_output

    rows = result_rows(suite, results)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(path) as tmp:
        tmp.write_text(buffer.getvalue())


def _write_report(out: Path, suite: Suite, results: list[dict]) -> None:
    """The campaign's self-contained HTML report (``synthapt.report``)."""
    from synthapt.report import write_campaign_report

    write_campaign_report(out / "report.html", results, title=f"synthapt campaign: {suite.name}")
