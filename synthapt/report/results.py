"""Case results for reports: ``CaseResult`` and ``load_results`` (case-result JSONs, a campaign's
per-case ``result.json``, a folder of either, or segmentation files scored here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthapt.data import Profile
from synthapt.errors import FormatError, SynthaptError
from synthapt.io.jsonio import read_json
from synthapt.scoring.case_scores import score_files
from synthapt.scoring.ceilings import REFERENCES
from synthapt.scoring.record import profile_from_dict


@dataclass(frozen=True, eq=False)
class CaseResult:
    """One case's results: ``data`` is the JSON-able case-result dict (docs/scoring.md);
    ``folder`` holds its files (dataset.h5, seg_<method>.h5), or None. In-memory ``dataset``
    (APTDataset) and ``segmentations`` ({method: result with labels/mesh/edge_field}) take the
    place of those files for the figures."""

    data: dict[str, Any]
    folder: Path | None = None
    source: str = ""
    dataset: Any = None
    segmentations: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return str(self.data.get("name", "case"))

    @property
    def scores(self) -> dict[str, dict[str, Any]]:
        """{method: metrics}: the ceilings first (oracle, bayes, truth-mesh), then the methods in
        stored order (alphabetical from a JSON file, so "hed" sits beside "hed-edge")."""
        scores = self.data.get("scores", {})
        first = [name for name in REFERENCES if name in scores]
        return {name: scores[name] for name in first + [m for m in scores if m not in first]}

    def profiles(self) -> dict[str, Profile]:
        return {name: profile_from_dict(p, f"{self.source}: profiles.{name}")
                for name, p in (self.data.get("profiles") or {}).items()}


# ----------------------------------------------------------------------------- loading


def load_results(path: str | Path) -> list[CaseResult]:
    """Case results from a JSON file, a segmentation .h5 (scored here), or a folder searched
    (three levels deep) for result JSONs, else for dataset.h5 + seg_*.h5 to score."""
    path = Path(path)
    if path.is_file():
        return [_load_file(path)]
    if not path.is_dir():
        raise SynthaptError(f"{path}: no such results file or folder")
    found = []
    for depth in ("*.json", "*/*.json", "*/*/*.json"):
        for candidate in sorted(path.glob(depth)):
            try:
                data = read_json(candidate)
            except FormatError:
                continue  # other JSON files in the folder are none of our business
            if isinstance(data, dict) and isinstance(data.get("scores"), dict):
                found.append(CaseResult(data, candidate.parent, str(candidate)))
    if not found:
        for depth in ("dataset.h5", "*/dataset.h5", "*/*/dataset.h5"):
            for dataset in sorted(path.glob(depth)):
                segs = sorted(dataset.parent.glob("seg_*.h5"))
                if segs:
                    found.append(_score_folder(dataset, segs))
    if not found:
        raise SynthaptError(f"{path}: no case results (JSON with 'scores') or segmentation files")
    return sorted(found, key=lambda c: (c.name, c.source))


def _load_file(path: Path) -> CaseResult:
    if path.suffix.lower() == ".json":
        data = read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("scores"), dict):
            raise FormatError(f"{path}: not a case result (no 'scores' table)")
        return CaseResult(data, path.parent, str(path))
    if path.suffix.lower() in (".h5", ".hdf5"):
        return _score_folder(None, [path])
    raise SynthaptError(f"{path}: expected a result .json or a segmentation .h5")


def _score_folder(dataset: Path | None, segs: list[Path]) -> CaseResult:
    data = score_files(segs, dataset, name=segs[0].parent.name).to_dict()
    return CaseResult(data, segs[0].parent, str(segs[0]))
