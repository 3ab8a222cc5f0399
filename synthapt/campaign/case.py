"""One validation case: simulate -> emulate -> segment (each method) -> score.

A ``CaseConfig`` is the typed, TOML-loadable configuration of one case: the MD simulation
(``synthapt.md.SimulationConfig``), the atom-probe emulation (``synthapt.apt.EmulationParams``),
the segmentation methods to score (``SegmentationPlan``), a seed and a name. Its results are
keyed by ``case_hash`` (SHA-256 of everything but the name), so two suites that share a case
share its results.

``run_case`` writes the case's files into ``out_dir/<case-hash>/``: ``specimen.h5`` (ground-truth
atoms), ``dataset.h5`` (emulated ions with per-ion truth), ``seg_<method>.h5`` (each segmentation),
``timings.json`` (seconds per stage) and ``result.json`` (scores, file checksums), each through a
write-then-rename; ``result.json`` is written last, so its presence marks a finished case. A
method that finds nothing to score records its message under ``errors`` instead of failing the
case. ``generate_case`` writes the dataset files only (``case.json`` last).
"""

from __future__ import annotations

import fcntl
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from synthapt.apt import EmulationParams, emulate
from synthapt.config import config_hash, seed_stream, to_dict
from synthapt.edges.detectors import CachedDetector, torch_threads
from synthapt.errors import ConfigError, SynthaptError
from synthapt.io.atomic import atomic_output
from synthapt.io.epos import write_epos
from synthapt.io.hdf5 import read_specimen, write_dataset, write_specimen
from synthapt.io.jsonio import read_json, write_json
from synthapt.io.pos import write_pos
from synthapt.io.rrng import write_rrng
from synthapt.md import SimulationConfig, simulate
from synthapt.provenance import provenance, sha256_file
from synthapt.scoring.case_scores import score_case
from synthapt.scoring.ceilings import REFERENCES, with_excess_error
from synthapt.scoring.metrics import ScoreParams
from synthapt.scoring.record import CaseRecord, profile_from_dict
from synthapt.scoring.score import truth_profile_of_dataset
from synthapt.segmentation.edge import make_detector
from synthapt.segmentation.methods import method_params, run_method
from synthapt.segmentation.params import METHOD_NAMES, SegmentParams, detector_of
from synthapt.segmentation.result import write_segmentation

PLAN_METHODS = tuple(name for name in METHOD_NAMES if name != "iso")
"""Methods a plan lists by name; fixed-value iso-surfaces come from ``iso_values``."""

RESULT_FILE = "result.json"
TIMINGS_FILE = "timings.json"
CASE_FILE = "case.json"
SPECIMEN_DIR = "specimens"


@dataclass(frozen=True)
class SegmentationPlan:
    """The segmentation methods a case scores.

    methods: methods of ``synthapt.segmentation.methods`` other than "iso": edge methods ("hed",
        "canny", "sobel", "learned"), their unrefined variants ("hed-edge", ...), "learned-phase",
        "iso-auto".
    iso_values: iso-concentration baselines, at.% of ``iso_element`` (one method each).
    iso_element: the partitioning element of the iso-surfaces (e.g. "Al").
    params: ``SegmentParams`` shared by the edge methods (voxel size nm, delocalization nm, ...).
    references: the ceilings scored beside the methods (``synthapt.scoring.ceilings``: oracle,
        bayes, truth-mesh); every method's ``excess_error`` is relative to ``bayes``.
    """

    methods: tuple[str, ...] = ("hed", "canny")
    iso_values: tuple[float, ...] = (10.0, 15.0, 20.0)
    iso_element: str = "Al"
    params: SegmentParams = field(default_factory=SegmentParams)
    references: tuple[str, ...] = REFERENCES

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "references", tuple(self.references))
        unknown = [r for r in self.references if r not in REFERENCES]
        if unknown:
            raise ConfigError(f"segmentation.references: unknown {unknown} "
                              f"(known: {', '.join(REFERENCES)})")
        object.__setattr__(self, "iso_values", tuple(float(v) for v in self.iso_values))
        for name in self.methods:
            if name not in PLAN_METHODS:
                raise ConfigError(f"segmentation.methods: unknown method {name!r} "
                                  f"(known: {', '.join(PLAN_METHODS)}; fixed iso values go in iso_values)")
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"segmentation.methods: repeated method in {list(self.methods)}")
        for value in self.iso_values:
            if not 0.0 < value < 100.0:
                raise ConfigError(f"segmentation.iso_values: {value} at.% is not in (0, 100)")
        if len(set(self.iso_values)) != len(self.iso_values):
            raise ConfigError(f"segmentation.iso_values: repeated value in {list(self.iso_values)}")
        if not self.methods and not self.iso_values:
            raise ConfigError("segmentation: no method to run (methods and iso_values are empty)")
        if not self.iso_element:
            raise ConfigError("segmentation.iso_element: must name an element")

    @property
    def method_names(self) -> tuple[str, ...]:
        """Result names in run order: ``methods``, then ``iso-<element>-<value>``."""
        return self.methods + tuple(iso_method_name(self.iso_element, v) for v in self.iso_values)


def iso_method_name(element: str, value: float) -> str:
    return f"iso-{element}-{value:g}"


@dataclass(frozen=True)
class CaseConfig:
    """One validation case. ``seed`` drives every random step through the independent children
    of one ``numpy.random.SeedSequence(seed)`` (``synthapt.config.seed_stream``): structure
    (particle placement, decoration), LAMMPS (velocities, swaps) and emulation. It is copied into
    ``simulation.seed``."""

    name: str = "case"
    seed: int = 0
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    emulation: EmulationParams = field(default_factory=EmulationParams)
    segmentation: SegmentationPlan = field(default_factory=SegmentationPlan)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\n" in self.name:
            raise ConfigError(f"name: {self.name!r} must be a non-empty single line without '/'")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed: {self.seed} is not in [0, 2**32)")
        object.__setattr__(self, "simulation", self.simulation.replace(seed=self.seed))

    def replace(self, **changes: Any) -> CaseConfig:
        return replace(self, **changes)


def case_hash(case: CaseConfig) -> str:
    """16-hex-digit SHA-256 of the case configuration without its name."""
    data = to_dict(case)
    data.pop("name", None)
    return config_hash(data)


def compute_threads(threads: int):
    """Context: torch uses ``threads`` intra-op threads and OMP_NUM_THREADS is ``threads`` (as on
    a campaign worker, so LAMMPS logs the same lines however a case is run); both restored after."""
    return torch_threads(threads, set_omp=True, cap_to_cpus=False)


def check_finished_case(folder: Path, marker: str, key: str) -> str | None:
    """Why the finished case in ``folder`` cannot be reused, or None if it can: its ``marker``
    (result.json or case.json) must parse (result.json into a ``CaseRecord``), name the case
    hash ``key``, and every file it lists must still have the recorded SHA-256."""
    try:
        data = read_json(folder / marker)
        if marker == RESULT_FILE:
            CaseRecord.from_dict(data, str(folder / marker))
    except (SynthaptError, TypeError, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not isinstance(data, dict) or data.get("hash") != key:
        return f"records case hash {data.get('hash') if isinstance(data, dict) else None!r}, not {key}"
    files = data.get("files")
    if not isinstance(files, dict) or not files:
        return "lists no file checksums"
    for name, digest in files.items():
        path = folder / str(name)
        if Path(str(name)).name != name or not path.is_file():
            return f"{name}: listed file is missing"
        if sha256_file(path) != digest:
            return f"{name}: SHA-256 differs from the recorded one (file changed)"
    return None


def prepare_folder(folder: Path) -> None:
    """Create ``folder``, emptying what an interrupted run left there."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def simulate_and_emulate(case: CaseConfig, threads: int = 1, out_dir: str | Path | None = None):
    """(Specimen, APTDataset, timings {stage: s}) of ``case`` (LAMMPS on ``threads`` threads).

    With ``out_dir`` the specimen is shared through ``shared_specimen``: cases that differ only
    in emulation or segmentation reuse one MD run.
    """
    timings = {}
    start = time.perf_counter()
    if out_dir is None:
        specimen = _simulate(case, threads)
    else:
        specimen = shared_specimen(case, out_dir, threads)
    timings["simulate"] = time.perf_counter() - start
    start = time.perf_counter()
    dataset = emulate(specimen, case.emulation, seed=seed_stream(case.seed, "emulation"))
    dataset = dataset.replace(metadata=without_command_line(dataset.metadata))
    timings["emulate"] = time.perf_counter() - start
    return specimen, dataset, timings


def _simulate(case: CaseConfig, threads: int):
    simulation = case.simulation.replace(md=replace(case.simulation.md, threads=int(threads)))
    specimen = simulate(simulation)
    return specimen.replace(provenance=without_command_line(specimen.provenance))


def specimen_key(case: CaseConfig) -> str:
    """Hash of the case's simulation config (structure, alloy, MD, seed): equal keys, equal MD."""
    return config_hash(case.simulation)


def shared_specimen(case: CaseConfig, out_dir: str | Path, threads: int = 1):
    """The case's MD specimen, simulated once per distinct simulation config of a campaign folder
    and kept in ``out_dir/specimens/<key>.h5``. A file lock makes a concurrent worker that needs
    the same specimen wait for the one simulating it; the HDF5 round trip is exact, so a reused
    specimen equals a fresh one."""
    folder = Path(out_dir) / SPECIMEN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    key = specimen_key(case)
    path = folder / f"{key}.h5"
    with open(folder / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            specimen = _simulate(case, threads)
            with atomic_output(path) as tmp:
                write_specimen(tmp, specimen, config=case.simulation)
            return specimen
    return read_specimen(path)


def without_command_line(record: Any) -> Any:
    """``record`` without its ``command_line`` entries (at any depth): a case's files are the
    same however the campaign that made them was started."""
    if isinstance(record, dict):
        return {k: without_command_line(v) for k, v in record.items() if k != "command_line"}
    if isinstance(record, list):
        return [without_command_line(v) for v in record]
    return record


def segmentation_steps(plan: SegmentationPlan, threads: int = 1) -> list[tuple[str, Any]]:
    """[(method name, function(dataset) -> SegmentationResult), ...] for every method of
    ``plan``, in ``plan.method_names`` order, through the method registry
    (``synthapt.segmentation.methods``); edge detectors run on ``threads`` threads. The iso
    baselines use the voxel settings of the edge methods, so they see the same grid.

    Methods of one detector ("hed" and "hed-edge") share one ``CachedDetector``, made when the
    first of them runs: the detector runs once per concentration image and both methods use its
    edge field (the cache lives as long as the returned steps)."""
    shared = replace(plan.params, threads=int(threads))
    users: dict[str, int] = {}
    for name in plan.methods:
        if detector_of(name) is not None:
            users[detector_of(name)] = users.get(detector_of(name), 0) + 1
    cached: dict[str, CachedDetector] = {}

    def detector_for(params: SegmentParams) -> Any:
        if users.get(params.detector, 0) < 2:
            return None  # the method makes its own
        if params.detector not in cached:
            cached[params.detector] = CachedDetector(make_detector(params))
        return cached[params.detector]

    steps: list[tuple[str, Any]] = []
    for name in plan.methods:
        params = method_params(name, shared)
        if detector_of(name) is None:
            steps.append((name, lambda dataset, name=name, params=params: run_method(name, dataset, params)))
            continue
        steps.append((name, lambda dataset, name=name, params=params: run_method(
            name, dataset, params, detector=detector_for(params))))
    for value in plan.iso_values:
        params = method_params("iso", shared, iso_value=value, elements=(plan.iso_element,))
        steps.append((iso_method_name(plan.iso_element, value),
                      lambda dataset, params=params: run_method("iso", dataset, params)))
    return steps


def run_case(case: CaseConfig, out_dir: str | Path, threads: int = 1) -> dict:
    """Run one case into ``out_dir/<case-hash>/`` and return its case-result dict.

    The dict is ``synthapt.scoring.case_scores.score_case``'s (scores and proxigrams per method) plus
    ``hash``, ``n_atoms``, ``files`` (SHA-256 of each file in the folder) and ``errors``
    (message of each method that failed to segment or to score). A case whose
    ``result.json`` exists is not recomputed: its stored result is returned.
    """
    key = case_hash(case)
    folder = Path(out_dir) / key
    if (folder / RESULT_FILE).is_file():
        return read_json(folder / RESULT_FILE)
    prepare_folder(folder)
    with compute_threads(threads):
        record = _run_stages(case, folder, threads)
    write_json(folder / RESULT_FILE, record)
    return read_json(folder / RESULT_FILE)


def _run_stages(case: CaseConfig, folder: Path, threads: int) -> dict:
    specimen, dataset, timings = simulate_and_emulate(case, threads, folder.parent)
    with atomic_output(folder / "specimen.h5") as tmp:
        write_specimen(tmp, specimen, config=case)
    with atomic_output(folder / "dataset.h5") as tmp:
        write_dataset(tmp, dataset, config=case)
    results, errors = {}, {}
    for method, run in segmentation_steps(case.segmentation, threads):
        start = time.perf_counter()
        try:
            results[method] = run(dataset)
        except SynthaptError as exc:  # a method that finds nothing must not sink the case
            errors[method] = str(exc)
            continue
        timings[f"segment_{method}"] = time.perf_counter() - start
        with atomic_output(folder / f"seg_{method}.h5") as tmp:
            write_segmentation(tmp, results[method], dataset_path="dataset.h5")
    start = time.perf_counter()
    record = score_methods(results, dataset, case, errors)
    timings["score"] = time.perf_counter() - start
    files = sorted(p.name for p in folder.iterdir() if p.suffix == ".h5")
    record = record.replace(hash=case_hash(case), n_atoms=int(specimen.n_atoms),
                            files={name: sha256_file(folder / name) for name in files},
                            provenance=_provenance(case.seed))
    write_json(folder / TIMINGS_FILE, timings)
    return record.to_dict()


def score_methods(results: dict, dataset, case: CaseConfig,
                  errors: dict[str, str]) -> CaseRecord:
    """The case-result record (``synthapt.scoring.case_scores.score_case``) of all ``results``,
    scoring each method on its own: a method that cannot be scored (e.g. its mesh lies only on
    the dataset boundary) gets its message in the record's ``errors`` and no scores; the others
    are kept. ``errors`` holds the messages of methods that failed to segment (not modified)."""
    params = ScoreParams()
    truth = truth_profile_of_dataset(dataset, params.bin_width) \
        if dataset.truth is not None and dataset.truth.geometry is not None else None
    record = score_case({}, dataset, name=case.name, params=params, truth_profile=truth,
                        config=to_dict(case), references=case.segmentation.references)
    scores, profiles, failed = dict(record.scores), dict(record.profiles), dict(errors)
    if "truth-mesh" in record.profiles:  # what a perfect interface gives on these ions
        truth = profile_from_dict(record.profiles["truth-mesh"])
    for method, result in results.items():
        try:
            one = score_case({method: result}, dataset, name=case.name, params=params,
                             truth_profile=truth, references=())
        except SynthaptError as exc:
            failed[method] = str(exc)
            continue
        scores[method] = one.scores[method]
        if method in one.profiles:
            profiles[method] = one.profiles[method]
    return record.replace(scores=with_excess_error(scores), profiles=profiles,
                          errors={m: failed[m] for m in case.segmentation.method_names if m in failed})


def _provenance(seed: int) -> dict:
    """Versions and seed; no command line (a worker's is not the user's) and nothing timed."""
    return without_command_line(provenance(seed=seed))


def generate_case(case: CaseConfig, out_dir: str | Path, threads: int = 1) -> dict:
    """Write the case's emulated dataset into ``out_dir/<case-hash>/`` without segmenting.

    Files: ``dataset.h5`` (ions, per-ion ground truth and the specimen), ``dataset.pos``,
    ``dataset.epos``, ``ranges.rrng``; then ``case.json`` (parameters and SHA-256 checksums),
    written last. Returns the ``case.json`` content; an existing one is returned as is.
    """
    key = case_hash(case)
    folder = Path(out_dir) / key
    if (folder / CASE_FILE).is_file():
        return read_json(folder / CASE_FILE)
    prepare_folder(folder)
    with compute_threads(threads):
        specimen, dataset, _ = simulate_and_emulate(case, threads, folder.parent)
    config = to_dict(case)
    writers = [("dataset.h5", lambda p: write_dataset(p, dataset, config=case, specimen=specimen)),
               ("dataset.pos", lambda p: write_pos(p, dataset)),
               ("dataset.epos", lambda p: write_epos(p, dataset)),
               ("ranges.rrng", lambda p: write_rrng(p, dataset.ranges))]
    for name, write in writers:
        with atomic_output(folder / name) as tmp:
            write(tmp)
    record = {
        "name": case.name, "hash": key, "parameters": config,
        "n_atoms": int(specimen.n_atoms), "n_ions": int(dataset.n_ions),
        "files": {name: sha256_file(folder / name) for name, _ in writers},
    }
    write_json(folder / CASE_FILE, record)
    return read_json(folder / CASE_FILE)
