"""Campaign commands: ``synthapt campaign run|show``, ``synthapt generate``."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import typer

from synthapt.campaign.cluster import SlurmOptions, check_cluster_options, load_slurm_options
from synthapt.campaign.run import generate as generate_suite
from synthapt.campaign.run import run_campaign
from synthapt.campaign.suite import load_suite
from synthapt.commands.common import console, progress_bar, quiet_option
from synthapt.io.atomic import check_output_folder

campaign_app = typer.Typer(help="Validation campaigns: run a suite of cases through Dask.",
                           no_args_is_help=True)

SUITE_HELP = "Suite file (TOML) or a built-in suite name: quick, paper, large, heldout, reconstruction."
CLUSTER_HELP = "Where cases run: 'local' (Dask LocalCluster) or 'slurm' (dask-jobqueue)."


@dataclass(frozen=True)
class ClusterChoice:
    """Where the cases of a command run: cluster kind, workers, threads per case, and the SLURM
    options (None on a local cluster)."""

    cluster: str = "local"
    workers: int | None = None
    threads: int = 1
    slurm: SlurmOptions | None = None

    def kwargs(self) -> dict:
        return {"cluster": self.cluster, "workers": self.workers, "threads": self.threads,
                "slurm": self.slurm}


CLUSTER_OPTIONS: list[tuple[str, type, typer.models.OptionInfo]] = [
    ("cluster", str, typer.Option("local", help=CLUSTER_HELP)),
    ("workers", Optional[int], typer.Option(None, help="Dask workers (local: cores // threads; slurm: jobs).")),
    ("threads", int, typer.Option(1, help="LAMMPS/torch threads per case (local cluster).")),
    ("queue", Optional[str], typer.Option(None, help="SLURM partition.")),
    ("account", Optional[str], typer.Option(None, help="SLURM account.")),
    ("walltime", Optional[str], typer.Option(None, help="SLURM walltime per job, HH:MM:SS.")),
    ("cores", Optional[int], typer.Option(None, help="SLURM CPUs per job (threads of its case).")),
    ("memory", Optional[str], typer.Option(None, help="SLURM memory per job, e.g. 4GB.")),
    ("slurm_config", Optional[Path], typer.Option(None, help="SLURM options file (TOML or YAML).")),
]
"""The cluster and SLURM options shared by ``campaign run`` and ``generate``."""

SLURM_OPTION_NAMES = ("queue", "account", "walltime", "cores", "memory", "slurm_config")


def with_cluster_options(command: Callable) -> Callable:
    """Give ``command`` the options of ``CLUSTER_OPTIONS``; it receives them as one
    ``cluster: ClusterChoice`` argument (SLURM options loaded and checked before any work)."""
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.name != "cluster"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
             for name, kind, option in CLUSTER_OPTIONS]

    @functools.wraps(command)
    def wrapper(**values):
        options = {name: values.pop(name) for name, _, _ in CLUSTER_OPTIONS}
        check_cluster_options(options["cluster"], options["workers"], options["threads"])
        slurm = None
        slurm_given = any(options[k] is not None for k in SLURM_OPTION_NAMES)
        if options["cluster"] == "slurm" or slurm_given:  # checked even when not used
            slurm = load_slurm_options(options["slurm_config"], queue=options["queue"],
                                       account=options["account"], walltime=options["walltime"],
                                       cores=options["cores"], memory=options["memory"])
        if options["cluster"] != "slurm":
            slurm = None
        return command(**values, cluster=ClusterChoice(options["cluster"], options["workers"],
                                                       options["threads"], slurm))

    wrapper.__signature__ = signature.replace(parameters=kept + added)
    wrapper.__annotations__ = {p.name: p.annotation for p in kept + added}
    return wrapper


@campaign_app.command("run")
@with_cluster_options
def run(
    suite: str = typer.Argument(..., help=SUITE_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (a sub-folder per case)."),
    resume: bool = typer.Option(False, "--resume", help="Reuse finished cases in a used --out."),
    force: bool = typer.Option(False, "--force", help="Recompute this suite's cases in --out."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write report.html."),
    quiet: bool = quiet_option(),
    cluster: ClusterChoice = ClusterChoice(),
) -> None:
    """Run every case of SUITE (simulate, emulate, segment, score) and aggregate the scores."""
    loaded = load_suite(suite)
    check_output_folder(out)
    with progress_bar(quiet) as progress:
        outcome = run_campaign(loaded, out, **cluster.kwargs(), resume=resume, force=force,
                               progress=progress, report=report)
    console(quiet).print(f"{len(outcome.results)} cases ({outcome.computed} computed, "
                         f"{outcome.reused} reused) -> {out}/results.csv")


@campaign_app.command("show")
def show(suite: str = typer.Argument(..., help=SUITE_HELP)) -> None:
    """List the cases of SUITE with their hashes (the output sub-folders)."""
    loaded = load_suite(suite)
    typer.echo(f"{loaded.name} (suite_version {loaded.version}): {len(loaded.cases)} cases")
    for sc in loaded.cases:
        typer.echo(f"{sc.hash}  {sc.case.name}")


@with_cluster_options
def generate(
    suite: str = typer.Argument(..., help=SUITE_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    resume: bool = typer.Option(False, "--resume", help="Reuse finished cases in a used --out."),
    force: bool = typer.Option(False, "--force", help="Recompute this suite's cases in --out."),
    quiet: bool = quiet_option(),
    cluster: ClusterChoice = ClusterChoice(),
) -> None:
    """Write every case's dataset (HDF5 with ground truth, POS, ePOS, RRNG) and manifest.json."""
    loaded = load_suite(suite)
    check_output_folder(out)
    with progress_bar(quiet) as progress:
        manifest = generate_suite(loaded, out, **cluster.kwargs(), resume=resume, force=force,
                                  progress=progress)
    console(quiet).print(f"{len(manifest['cases'])} datasets -> {out}/manifest.json")


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
    app.command("generate")(generate)
