"""Validation suites: a versioned base case plus a grid of overrides -> cases (``CaseConfig``).

A suite file (TOML, see ``synthapt/suites/``) holds ``suite_version``, ``name``, an optional
``description``, a ``[base]`` case (a ``CaseConfig``) and a ``[grid]`` of axes whose cartesian
product gives the cases. An axis is either a dotted key with a list of values::

    [grid]
    "emulation.efficiency.value" = [0.37, 0.52, 0.80]

or a table of named options, each a table of overrides deep-merged into the base::

    [grid.geometry.layered]
    simulation.structure.geometry = { kind = "layered", thicknesses = [4.0], centers = [6.0] }

Every key is checked before a case is built; errors name the full dotted key in the file.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthapt.campaign.case import CaseConfig, case_hash
from synthapt.config import from_dict, read_toml
from synthapt.errors import ConfigError

SUITE_KEYS = ("suite_version", "name", "description", "base", "grid")
BUILTIN_SUITES = Path(__file__).resolve().parents[1] / "suites"  # package data: synthapt/suites/


@dataclass(frozen=True)
class SuiteCase:
    """One case of a suite: its config, the grid option chosen on each axis, its hash."""

    case: CaseConfig
    labels: dict[str, str]
    hash: str


@dataclass(frozen=True)
class Suite:
    """A versioned set of cases (base case x grid)."""

    name: str
    version: int
    description: str
    cases: tuple[SuiteCase, ...]
    source: dict = field(default_factory=dict)

    def manifest(self) -> dict:
        """What identifies the suite's content: name, version, case names and hashes."""
        return {"suite": self.name, "suite_version": self.version,
                "cases": [{"name": c.case.name, "hash": c.hash, "labels": c.labels}
                          for c in self.cases]}


def load_suite(path: str | Path) -> Suite:
    """Read a suite file (or a built-in suite name: "quick", "paper", "large", "heldout", "reconstruction");
    errors name the key."""
    path = Path(path)
    if not path.exists() and (BUILTIN_SUITES / f"{path}.toml").is_file():
        path = BUILTIN_SUITES / f"{path}.toml"
    return suite_from_dict(read_toml(path), str(path))


def suite_from_dict(data: dict, where: str = "suite") -> Suite:
    """Build a suite from TOML data; ``where`` (the file name) prefixes every error."""
    unknown = sorted(set(data) - set(SUITE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(SUITE_KEYS)})")
    version = data.get("suite_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"{where}: suite_version: expected a positive integer, got {version!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"{where}: name: expected a non-empty string without '/', got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{where}: description: expected a string, got {description!r}")
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise ConfigError(f"{where}: base: expected a table")
    base = {"name": name, **base}
    check_keys(CaseConfig, base, "base", where)
    axes = _parse_grid(data.get("grid", {}), where)
    for axis, options, prefix in axes:
        for option, override in options:
            check_keys(CaseConfig, override, prefix or f"grid.{axis}.{_key(option)}", where)
    cases, seen = [], {}
    for choice in itertools.product(*(options for _, options, _ in axes)):
        merged = base
        labels = {}
        sources = [("base", base)]
        for (axis, _, prefix), (option, override) in zip(axes, choice):
            merged = _merge(merged, override)
            labels[axis] = option
            sources.append((prefix or f"grid.{axis}.{_key(option)}", override))
        label = ",".join(f"{axis}={option}" for axis, option in labels.items())
        merged = {**merged, "name": f"{name}[{label}]" if label else merged["name"]}
        case = _build_case(merged, where, merged["name"], sources)
        key = case_hash(case)
        if key in seen:
            raise ConfigError(f"{where}: cases {seen[key]} and {case.name} are identical")
        seen[key] = case.name
        cases.append(SuiteCase(case, labels, key))
    return Suite(name, version, description, tuple(cases), source=copy.deepcopy(data))


def _key(name: str) -> str:
    return f'"{name}"' if "." in name else name


def _build_case(data: dict, where: str, name: str, sources: list[tuple[str, dict]]) -> CaseConfig:
    """The CaseConfig of ``data``; a bad value is reported at its full dotted key in the suite
    file (``base.<key>`` or ``grid.<axis>.<option>.<key>``, found among ``sources``)."""
    try:
        return from_dict(CaseConfig, data)
    except ConfigError as exc:
        message = str(exc)
        key, sep, rest = message.partition(": ")
        location = _locate(key, sources) if sep and re.fullmatch(r"[\w.\[\]]+", key) else None
        if location is None:
            raise ConfigError(f"{where}: {name}: {message}") from None
        raise ConfigError(f"{where}: {location}: {rest} (case {name})") from None


def _locate(key: str, sources: list[tuple[str, dict]]) -> str | None:
    """The full dotted key in the suite file that sets ``key`` (a dotted suffix), last source
    first (a grid override wins over the base)."""
    for prefix, table in reversed(sources):
        for path in _paths(table):
            if path == key or path.endswith("." + key):
                return f"{prefix}.{path}"
    return None


def _paths(table: dict, prefix: str = ""):
    for k, v in table.items():
        path = f"{prefix}.{k}" if prefix else str(k)
        yield path
        if isinstance(v, dict):
            yield from _paths(v, path)


def check_keys(cls: type, data: Any, prefix: str, where: str) -> None:
    """Reject keys of ``data`` that dataclass ``cls`` (recursively) does not have, naming the
    full dotted key; values are checked later, when the case is built."""
    if not isinstance(data, dict):
        return
    if cls is CaseConfig and isinstance(data.get("simulation"), dict) and \
            "seed" in data["simulation"]:
        raise ConfigError(f"{where}: {prefix + '.' if prefix else ''}simulation.seed: set the "
                          "case's 'seed' instead (it drives the simulation too)")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in known:
            raise ConfigError(
                f"{where}: unknown key {dotted!r} (known: {', '.join(sorted(known))})")
        inner = hints[key]
        options = typing.get_args(inner) if typing.get_origin(inner) in (
            typing.Union, types.UnionType) else (inner,)
        for option in options:
            if dataclasses.is_dataclass(option):
                check_keys(option, value, dotted, where)


def _parse_grid(grid: Any, where: str) -> list[tuple[str, list[tuple[str, dict]], str]]:
    """[(axis, [(option name, override dict), ...], key prefix), ...] in file order; the key
    prefix ("grid" for a dotted-key axis, else "") places override keys in error messages."""
    if not isinstance(grid, dict):
        raise ConfigError(f"{where}: grid: expected a table")
    axes = []
    for axis, spec in grid.items():
        if isinstance(spec, list):
            if not spec:
                raise ConfigError(f"{where}: grid.{_key(axis)}: empty list of values")
            options = [(_format_value(v), _nested(axis, v)) for v in spec]
            name, prefix = axis.split(".", 1)[-1], "grid"  # without the stage section
        elif isinstance(spec, dict):
            if not spec:
                raise ConfigError(f"{where}: grid.{axis}: no options")
            for option, override in spec.items():
                if not isinstance(override, dict):
                    raise ConfigError(
                        f"{where}: grid.{axis}.{option}: expected a table of overrides")
            options, name, prefix = list(spec.items()), axis, ""
        else:
            raise ConfigError(f"{where}: grid.{_key(axis)}: expected a list of values or a table "
                              f"of named overrides, got {spec!r}")
        if len({o for o, _ in options}) != len(options):
            raise ConfigError(f"{where}: grid.{_key(axis)}: repeated value")
        axes.append((name, options, prefix))
    names = [a for a, _, _ in axes]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: grid: two axes are both named {names[0]!r}")
    return axes


def _format_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _nested(dotted: str, value: Any) -> dict:
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


def _merge(base: dict, override: dict) -> dict:
    """Deep merge: tables merge key by key, any other value replaces (so does a table whose
    ``kind`` differs from the base's, e.g. another geometry)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and \
                value.get("kind", out[key].get("kind")) == out[key].get("kind"):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
