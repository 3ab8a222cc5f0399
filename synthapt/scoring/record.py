"""The case-result record: scores and profiles of the methods of one case, as written to
``result.json`` / ``synthapt score --json`` and read by reports (format in docs/scoring.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthapt.data import Profile
from synthapt.errors import FormatError, SynthaptError

RESULT_FORMAT = "synthapt-case-result/1"

OPTIONAL_FIELDS = ("config", "inputs", "errors", "hash", "n_atoms", "files")


@dataclass(frozen=True)
class CaseRecord:
    """One case's result. scores: {method: {metric: number}}; profiles: {"truth" or method:
    ``profile_to_dict(Profile)``}; score_params: the ``ScoreParams`` fields; provenance: versions.
    Optional (left out of ``to_dict`` when None): config (the case configuration), inputs (files
    scored), errors ({method: why it has no scores}), hash (case hash), n_atoms (specimen atoms),
    files ({file name: SHA-256})."""

    name: str
    n_ions: int
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    score_params: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    format: str = RESULT_FORMAT
    config: dict | None = None
    inputs: dict | None = None
    errors: dict | None = None
    hash: str | None = None
    n_atoms: int | None = None
    files: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able case-result dict (optional fields only when set)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: v for k, v in out.items() if not (k in OPTIONAL_FIELDS and v is None)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "case result") -> CaseRecord:
        if not isinstance(data, dict) or not isinstance(data.get("scores"), dict):
            raise FormatError(f"{where}: not a case result (no 'scores' table)")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("name", "case")
        values.setdefault("n_ions", 0)
        return cls(**values)

    def replace(self, **changes: Any) -> CaseRecord:
        return dataclasses.replace(self, **changes)


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    return {"edges": profile.edges.tolist(), "counts": profile.counts.tolist(),
            "species_names": list(profile.species_names)}


def profile_from_dict(data: dict[str, Any], where: str = "profile") -> Profile:
    try:
        return Profile(np.asarray(data["edges"], dtype=np.float64),
                       np.asarray(data["counts"], dtype=np.int64), tuple(data["species_names"]))
    except (KeyError, TypeError, ValueError, SynthaptError) as exc:
        raise FormatError(f"{where}: not a profile ({exc})") from None
