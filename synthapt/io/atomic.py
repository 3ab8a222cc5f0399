"""Output files: checked before any work, written to a temporary file and renamed, so that no
half-written output is ever left behind and a command writes all of its outputs or none.

Temporary files sit beside their target as ``.<name>.part~<host>~<pid>~<random>[.ext]``; those a
killed process left are removed by the next write of the same target (``synthapt.tempfiles``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Iterator

from synthapt.errors import SynthaptError
from synthapt.tempfiles import owner_tag, remove_stale

PathLike = str | os.PathLike


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def part_prefix(target: PathLike) -> str:
    """Name prefix of the temporary files of ``target`` (followed by ``owner_tag()``)."""
    return f".{Path(target).name}.part~"


def check_output_file(path: PathLike, inputs: Iterable[PathLike | None] = ()) -> Path:
    """``path`` as a Path if it can be written as an output: its folder exists and is writable,
    it is not a folder, and it is none of ``inputs`` (never overwrite an input). SynthaptError
    otherwise."""
    target = Path(path)
    folder = _folder(target)
    if not folder.is_dir():
        raise SynthaptError(f"{target}: output folder {folder} does not exist")
    if target.is_dir():
        raise SynthaptError(f"{target}: is a folder, expected a file path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SynthaptError(f"{target}: cannot write in {folder} (permission denied)")
    for source in inputs:
        if source is not None and target.exists() and Path(source).exists() \
                and os.path.samefile(target, source):
            raise SynthaptError(f"{target}: is also an input ({source}); choose another output")
    return target


def check_outputs(outputs: Mapping[str, PathLike | None],
                  inputs: Iterable[PathLike | None] = ()) -> None:
    """Check every output of a command before its work (``check_output_file``), and that no two
    of them are the same file. ``outputs`` maps option names (for messages) to paths or None."""
    inputs = list(inputs)
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        target = check_output_file(path, inputs)
        key = os.path.realpath(target)
        if key in seen:
            raise SynthaptError(f"{target}: given for both {seen[key]} and {option}; each output "
                                "needs its own file")
        seen[key] = option


def check_output_folder(folder: PathLike, option: str = "--out") -> Path:
    """``folder`` as a Path if it is a writable folder or can be created (its nearest existing
    ancestor is a folder where we can create entries: tried with a probe folder that is removed
    at once). SynthaptError naming ``option`` otherwise; nothing is created."""
    target = Path(folder)
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if target.exists() and not target.is_dir():
        raise SynthaptError(f"{option} {target}: exists and is not a folder")
    if not existing.is_dir():
        raise SynthaptError(f"{option} {target}: cannot be created ({existing} is not a folder)")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".synthapt-probe-", dir=existing))
    except OSError as exc:
        what = "is not writable" if existing == target else "cannot be created"
        raise SynthaptError(f"{option} {target}: {what} ({existing}: {exc.strerror})") from None
    return target


def _temporary(target: Path, suffix: str = "") -> Path:
    folder = _folder(target)
    remove_stale(folder, part_prefix(target))
    try:
        fd, name = tempfile.mkstemp(prefix=part_prefix(target) + owner_tag(), suffix=suffix,
                                    dir=folder)
    except OSError as exc:
        raise SynthaptError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    return Path(name)


def _publish(tmp: Path, target: Path) -> None:
    if tmp.exists():  # mkstemp makes 0600 files; give the usual umask-based mode instead
        os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_output(path: PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (ending in ``suffix``, e.g. '.ply' for writers that
    pick the format by extension); rename it onto ``path`` only if the block succeeds.

    The temporary file is removed on any exception, so a failed write leaves nothing behind.
    Raises SynthaptError if the folder does not exist or is not writable.
    """
    target = check_output_file(path)
    tmp = _temporary(target, suffix or "")
    try:
        yield tmp
        _publish(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[PathLike]) -> Iterator[list[Path]]:
    """All-or-none writing of several outputs: yields one temporary path per target (same folder,
    same extension); all are renamed onto their targets only if the block succeeds, otherwise all
    are removed and no target is touched."""
    targets = [check_output_file(p) for p in paths]
    temps: list[Path] = []
    try:
        for target in targets:
            temps.append(_temporary(target, target.suffix))
        yield temps
        for tmp, target in zip(temps, targets):
            _publish(tmp, target)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, marker: str | None = None,
                  parents: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; rename it onto ``path`` only if the block
    succeeds (otherwise it is removed). ``path`` must not exist, or be an empty folder, or (with
    ``marker``) be a folder this writer made before, recognised by the file ``marker`` in it:
    that folder is replaced, nothing else ever is. The marker file is written into the new folder.
    Its parent must exist (``parents``: is created). Raises SynthaptError otherwise, before
    anything is created."""
    target = check_new_folder(path, marker, parents)
    folder = target.parent
    if parents:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=folder))
    except OSError as exc:
        raise SynthaptError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    try:
        yield tmp
        if marker is not None:
            (tmp / marker).write_text("written by synthapt; this folder is replaced by the next "
                                      "run that writes here\n", encoding="utf-8")
        tmp.chmod(0o777 & ~_umask())
        _replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_folder(tmp: Path, target: Path) -> None:
    if not target.is_dir():
        os.replace(tmp, target)
    elif not any(target.iterdir()):
        target.rmdir()
        os.replace(tmp, target)
    else:  # a previous output (checked by check_new_folder): swap, then remove the old one
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old~", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)


def check_new_folder(path: str | os.PathLike, marker: str | None = None,
                     parents: bool = False) -> Path:
    """``path`` as an absolute Path if it can become an output folder (see ``atomic_folder``):
    it does not exist, is an empty folder, or holds the file ``marker``; it is not the current
    folder or one above it; its parent exists (``parents``: the nearest existing folder above it
    is a folder). Raises SynthaptError otherwise."""
    target = Path(os.path.abspath(path))
    if target.exists():
        if not target.is_dir():
            raise SynthaptError(f"{path}: exists and is not a folder; choose a new output folder")
        cwd = Path.cwd()
        if target == cwd or target in cwd.parents:
            raise SynthaptError(f"{path}: is the current folder (or above it); choose a new "
                                "output folder")
        if any(target.iterdir()) and not (marker and (target / marker).is_file()):
            allowed = " or a previous output of this command" if marker else ""
            raise SynthaptError(f"{path}: already exists and is not empty; choose a new or empty "
                                f"folder{allowed} (nothing in it was touched)")
    parent = target.parent
    while parents and not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise SynthaptError(f"{path}: parent folder {parent} does not exist")
    return target
