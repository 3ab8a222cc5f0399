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
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; rename it onto ``path`` only if the block
    succeeds (otherwise it is removed). ``path`` must not exist, or be an empty folder; its parent
    must exist. Raises SynthaptError otherwise."""
    target = Path(path)
    check_new_folder(target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=folder))
    except OSError as exc:
        raise SynthaptError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())
        if target.is_dir():
            target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_new_folder(path: str | os.PathLike) -> None:
    """Raise SynthaptError unless ``path`` can become a new output folder (see ``atomic_folder``)."""
    target = Path(path)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise SynthaptError(f"{target}: already exists; choose a new output folder")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise SynthaptError(f"{target}: parent folder {folder} does not exist")
