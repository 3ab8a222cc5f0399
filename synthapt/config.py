"""Typed configuration: TOML <-> dataclasses, validated with clear one-line errors.

Every stage's parameters are a frozen dataclass. ``from_dict`` builds one from a plain dict (as
read from TOML), rejecting unknown keys and wrong types and naming the offending key with its
full dotted path; ``to_dict`` turns one back into TOML-ready plain data. Value checks (ranges,
consistency) live in each dataclass's ``__post_init__`` and raise ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tomli_w

from synthapt.errors import ConfigError

T = TypeVar("T")


def read_toml(path: str | Path) -> dict:
    """Read a TOML file; a missing or malformed file raises ConfigError naming it."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML (not UTF-8 text: byte {exc.object[exc.start]:#04x} "
                          f"at offset {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror})") from None


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types raise ConfigError."""
    label = where or cls.__name__
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key {_dotted(where, unknown[0])!r} (known: {', '.join(sorted(known))})")
    kwargs = {name: _convert(hints[name], value, _dotted(where, name)) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # missing required fields
        raise ConfigError(f"{label}: {exc}") from None


def to_dict(obj: Any) -> Any:
    """Plain, TOML/JSON-ready data from a dataclass (tuples become lists; None values dropped)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is not None:
                out[f.name] = to_dict(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    return obj


def to_toml(obj: Any) -> str:
    return tomli_w.dumps(to_dict(obj))


def config_hash(obj: Any) -> str:
    """Stable SHA-256 (hex, 16 chars) of a configuration, independent of key order."""
    blob = json.dumps(to_dict(obj), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _dotted(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        inner = args[0] if args else Any
        seq = [_convert(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(seq) if origin is tuple else seq
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _convert(vt, v, _dotted(where, str(k))) for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{where}: must be finite, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


SEED_STREAMS = ("structure", "lammps", "emulation")
"""The random streams of one seed, in spawn order: structure build (particle placement, alloy
decoration), LAMMPS (velocity and swap seeds), atom-probe emulation."""


def seed_stream(seed: int, name: str) -> np.random.SeedSequence:
    """Child ``name`` (one of ``SEED_STREAMS``) of ``numpy.random.SeedSequence(seed)``: one seed
    drives the structure, LAMMPS and the emulation through independent children."""
    if name not in SEED_STREAMS:
        raise ConfigError(f"seed stream: {name!r} is not one of {', '.join(SEED_STREAMS)}")
    return np.random.SeedSequence(int(seed)).spawn(len(SEED_STREAMS))[SEED_STREAMS.index(name)]
