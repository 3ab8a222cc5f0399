"""The synthapt HDF5 file: one file per specimen or dataset, versioned schema (see docs/io.md).

Root attributes ``synthapt_schema`` (int, currently 1) and ``kind`` ("specimen" | "dataset").
Groups: ``/specimen`` (ground-truth atoms), ``/ions`` (detected ions, ``/ions/epos``), ``/ranges``
(range table), ``/truth`` (per-ion ground-truth links), ``/config`` (TOML text), ``/provenance``
(JSON text). Large arrays are chunked; integer arrays are gzip-compressed with byte shuffling,
floating-point arrays stay unfiltered for read speed. Nothing time-dependent is stored, so the
same input gives a byte-identical file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from synthapt.config import to_toml
from synthapt.data import EPOS_FIELDS, APTDataset, GroundTruth, Profile, Specimen
from synthapt.errors import FormatError, SynthaptError
from synthapt.io.atomic import atomic_output
from synthapt.structures import geometry_from_dict
from synthapt.ranges import Range, RangeTable

SCHEMA_VERSION = 1
CHUNK_BYTES = 4 << 20
"""Target chunk size (bytes) of compressed datasets."""
COMPRESS_MIN_ELEMENTS = 4096
"""Arrays smaller than this are stored contiguous and uncompressed."""
COMPRESSION = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
"""Filters of integer and boolean arrays (species/phase codes, atom indices, pulse counts), which
shrink 3-15x; gzip level 1 with byte shuffling compressed smaller and decompressed faster than
LZF in our measurements. Floating-point arrays (coordinates, m/q) are chunked but not filtered:
on float32 coordinates LZF+shuffle saves only ~14 % of the size but makes reading 10 M ions
~2.5x slower, and gzip is slower still (see docs/io.md)."""


# ---------------------------------------------------------------------------- generic helpers
def _json(obj: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, (tuple, set, frozenset)):
            return sorted(o) if isinstance(o, (set, frozenset)) else list(o)
        if isinstance(o, os.PathLike):
            return os.fspath(o)
        raise TypeError(f"{type(o).__name__} is not JSON-serialisable")

    try:
        return json.dumps(obj, sort_keys=True, default=default)
    except (TypeError, ValueError) as exc:
        raise SynthaptError(f"cannot store metadata as JSON ({exc})") from None


def write_array(group: h5py.Group, name: str, array: Any, compress: bool | None = None) -> h5py.Dataset:
    """Store ``array`` as dataset ``name``, never time-stamped. Large arrays are chunked (~4 MiB
    chunks) and, if ``compress`` (default: for integer/bool arrays), gzip-compressed."""
    arr = np.asarray(array)
    if arr.dtype.kind in "US" or arr.dtype == object:
        data = np.array([str(v) for v in arr.reshape(-1)], dtype=object).reshape(arr.shape)
        return group.create_dataset(name, data=data, dtype=h5py.string_dtype(), track_times=False)
    if arr.size < COMPRESS_MIN_ELEMENTS or arr.ndim == 0:
        return group.create_dataset(name, data=arr, track_times=False)
    row_bytes = max(1, arr.itemsize * int(np.prod(arr.shape[1:])))
    rows = int(min(arr.shape[0], max(1, CHUNK_BYTES // row_bytes)))
    if compress is None:
        compress = arr.dtype.kind in "biu"
    return group.create_dataset(name, data=arr, chunks=(rows, *arr.shape[1:]), track_times=False,
                                **(COMPRESSION if compress else {}))


def write_text(group: h5py.Group, name: str, text: str) -> h5py.Dataset:
    """Store ``text`` as a scalar UTF-8 string dataset (no size limit, unlike attributes)."""
    return group.create_dataset(name, data=text, dtype=h5py.string_dtype(), track_times=False)


def write_group(group: h5py.Group, mapping: Mapping[str, Any]) -> None:
    """Write a nested mapping into ``group``.

    Values: nested mappings -> subgroups; numpy arrays (and lists of numbers) -> datasets
    (``write_array``); tuples/lists of str -> string datasets; str, int, float, bool -> attributes;
    None -> skipped. ``read_group`` reads it back.
    """
    for key, value in mapping.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            write_group(group.create_group(key, track_times=False), value)
        elif isinstance(value, (str, bool, int, float, np.generic)):
            group.attrs[key] = value
        elif isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
            write_array(group, key, np.array(value, dtype=object))
        else:
            write_array(group, key, value)


def _attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_group(group: h5py.Group) -> dict[str, Any]:
    """Inverse of ``write_group``: datasets -> arrays (string datasets -> tuple of str, scalar
    strings -> str), subgroups -> dicts, attributes -> Python scalars."""
    out: dict[str, Any] = {key: _attr(value) for key, value in group.attrs.items()}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = read_group(item)
        elif not isinstance(item, h5py.Dataset):
            raise FormatError(f"{group.name}/{key}: unreadable HDF5 object")
        elif h5py.check_string_dtype(item.dtype) is not None:
            data = item.asstr()[()]
            out[key] = data if isinstance(data, str) else tuple(data.tolist())
        else:
            out[key] = item[()]
    return out


# ---------------------------------------------------------------------------- object <-> mapping
def _geometry_json(geometry: Any) -> str | None:
    if geometry is None:
        return None
    if not hasattr(geometry, "to_dict"):
        raise SynthaptError(f"geometry {type(geometry).__name__} has no to_dict(); cannot store it")
    return _json(geometry.to_dict())


def _geometry(text: str | None) -> Any:
    if text is None:
        return None
    return geometry_from_dict(json.loads(text))


def profile_mapping(profile: Profile) -> dict[str, Any]:
    return {"edges": profile.edges, "counts": profile.counts, "species_names": profile.species_names}


def profile_from_mapping(m: Mapping[str, Any]) -> Profile:
    return Profile(edges=m["edges"], counts=m["counts"], species_names=tuple(m["species_names"]))


def specimen_mapping(specimen: Specimen) -> dict[str, Any]:
    return {
        "positions": specimen.positions, "species": specimen.species,
        "species_names": specimen.species_names, "phase": specimen.phase, "box": specimen.box,
        "geometry": _geometry_json(specimen.geometry), "provenance": _json(specimen.provenance),
        "truth_profile": None if specimen.truth_profile is None else profile_mapping(specimen.truth_profile),
    }


def specimen_from_mapping(m: Mapping[str, Any]) -> Specimen:
    return Specimen(
        positions=m["positions"], species=m["species"], species_names=tuple(m["species_names"]),
        phase=m["phase"], box=m["box"], geometry=_geometry(m.get("geometry")),
        provenance=json.loads(m["provenance"]),
        truth_profile=profile_from_mapping(m["truth_profile"]) if "truth_profile" in m else None)


def ranges_mapping(table: RangeTable) -> dict[str, Any]:
    rs = table.ranges
    return {
        "lo": np.array([r.lo for r in rs], np.float64), "hi": np.array([r.hi for r in rs], np.float64),
        "volume": np.array([r.volume for r in rs], np.float64), "ion": tuple(r.ion for r in rs),
        "composition": tuple(_json(r.composition) for r in rs), "color": tuple(r.color for r in rs),
    }


def ranges_from_mapping(m: Mapping[str, Any]) -> RangeTable:
    ranges = tuple(
        Range(lo=float(lo), hi=float(hi), ion=ion, composition=json.loads(comp), volume=float(vol), color=color)
        for lo, hi, vol, ion, comp, color in zip(m["lo"], m["hi"], m["volume"], m["ion"], m["composition"],
                                                   m["color"]))
    return RangeTable(ranges)


def truth_mapping(truth: GroundTruth) -> dict[str, Any]:
    return {"source_atom": truth.source_atom, "species": truth.species, "phase": truth.phase,
            "position": truth.position, "species_names": truth.species_names,
            "geometry": _geometry_json(truth.geometry), "box": truth.box}


def truth_from_mapping(m: Mapping[str, Any]) -> GroundTruth:
    return GroundTruth(source_atom=m["source_atom"], species=m["species"], phase=m["phase"],
                       position=m["position"], species_names=tuple(m["species_names"]),
                       geometry=_geometry(m.get("geometry")), box=m.get("box"))


def ions_mapping(ds: APTDataset) -> dict[str, Any]:
    return {"positions": ds.positions, "mass_to_charge": ds.mass_to_charge, "species": ds.species,
            "species_names": ds.species_names, "pulse": ds.pulse,
            "epos": None if ds.epos is None else {k: ds.epos[k] for k in EPOS_FIELDS if k in ds.epos}}


# ---------------------------------------------------------------------------- files
def _write_file(path: str | os.PathLike, kind: str, groups: dict[str, Any], config: str | None,
                provenance: dict) -> None:
    # No chunk cache (rdcc_nbytes=0): chunks reach the file in write order. With a cache,
    # libhdf5 may flush compressed chunks in a varying order, so equal data gave unequal bytes.
    with atomic_output(path) as tmp:
        with h5py.File(tmp, "w", track_times=False, rdcc_nbytes=0) as f:
            f.attrs["synthapt_schema"] = SCHEMA_VERSION
            f.attrs["kind"] = kind
            for name, mapping in groups.items():
                if mapping is not None:
                    write_group(f.create_group(name, track_times=False), mapping)
            if config is not None:
                write_text(f, "config", config)
            write_text(f, "provenance", _json(provenance))


def _config_text(config: Any) -> str | None:
    if config is None or isinstance(config, str):
        return config
    return to_toml(config)


def write_specimen(path: str | os.PathLike, specimen: Specimen, config: Any = None) -> None:
    """Write a Specimen file (``kind = "specimen"``); ``config`` TOML text or a config dataclass."""
    _write_file(path, "specimen", {"specimen": specimen_mapping(specimen)}, _config_text(config),
                specimen.provenance)


def write_dataset(path: str | os.PathLike, dataset: APTDataset, config: Any = None,
                  specimen: Specimen | None = None) -> None:
    """Write an APTDataset file (``kind = "dataset"``), optionally embedding its Specimen."""
    groups = {
        "ions": ions_mapping(dataset),
        "ranges": None if dataset.ranges is None else ranges_mapping(dataset.ranges),
        "truth": None if dataset.truth is None else truth_mapping(dataset.truth),
        "specimen": None if specimen is None else specimen_mapping(specimen),
    }
    _write_file(path, "dataset", groups, _config_text(config), dataset.metadata)


class _Reader:
    """Open a synthapt HDF5 file for reading; every failure becomes a FormatError naming it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __enter__(self) -> h5py.File:
        p = self.path
        if not p.exists():
            raise FormatError(f"{p}: file not found")
        if p.is_dir():
            raise FormatError(f"{p}: is a folder, expected an HDF5 file")
        try:
            self.file = h5py.File(p, "r")
        except OSError as exc:
            raise FormatError(f"{p}: not a readable HDF5 file ({str(exc).splitlines()[0]})") from None
        try:
            schema = _attr(self.file.attrs.get("synthapt_schema"))
        except Exception:  # noqa: BLE001 - corrupt attribute heap
            schema = None
        if not isinstance(schema, int):
            self.file.close()
            raise FormatError(f"{p}: not a synthapt HDF5 file (no synthapt_schema attribute)")
        if schema > SCHEMA_VERSION:
            self.file.close()
            raise FormatError(f"{p}: written with schema version {schema}, this synthapt reads "
                              f"up to {SCHEMA_VERSION}; upgrade synthapt")
        return self.file

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.file.close()
        if exc is None or isinstance(exc, MemoryError):
            return False
        if isinstance(exc, SynthaptError):  # e.g. inconsistent array lengths: name the file
            if str(self.path) in str(exc):
                return False
            raise FormatError(f"{self.path}: {exc}") from None
        if isinstance(exc, Exception):  # h5py/HDF5 raise many kinds on corrupt files
            raise FormatError(f"{self.path}: malformed synthapt HDF5 file ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'missing data'})") from None
        return False


def file_kind(path: str | os.PathLike) -> str:
    """"specimen" or "dataset": the ``kind`` of a synthapt HDF5 file."""
    with _Reader(path) as f:
        return str(_attr(f.attrs.get("kind", "")))


def read_specimen(path: str | os.PathLike) -> Specimen:
    """Read the Specimen of a specimen file, or the one embedded in a dataset file."""
    with _Reader(path) as f:
        if "specimen" not in f:
            kind = _attr(f.attrs.get("kind", "?"))
            raise FormatError(f"{path}: a {kind} file without a specimen; expected a specimen file")
        return specimen_from_mapping(read_group(f["specimen"]))


def read_dataset(path: str | os.PathLike) -> APTDataset:
    """Read the APTDataset of a dataset file (ions, ranges, truth, metadata)."""
    with _Reader(path) as f:
        kind = _attr(f.attrs.get("kind", "?"))
        if kind != "dataset":
            raise FormatError(f"{path}: is a {kind} file, expected a dataset file")
        ions = read_group(f["ions"])
        ranges = ranges_from_mapping(read_group(f["ranges"])) if "ranges" in f else None
        truth = truth_from_mapping(read_group(f["truth"])) if "truth" in f else None
        metadata = json.loads(f["provenance"].asstr()[()])
        return APTDataset(
            positions=ions["positions"], mass_to_charge=ions["mass_to_charge"],
            species=ions.get("species"), species_names=tuple(ions.get("species_names", ())),
            ranges=ranges, epos=ions.get("epos"), pulse=ions.get("pulse"), truth=truth, metadata=metadata)


def read_config(path: str | os.PathLike) -> str | None:
    """The TOML text stored in ``/config``, or None."""
    with _Reader(path) as f:
        return f["config"].asstr()[()] if "config" in f else None
