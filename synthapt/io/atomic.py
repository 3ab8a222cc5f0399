"""Write-then-rename so that no half-written output is ever left behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from synthapt.errors import SynthaptError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file is removed on any exception, so a failed write leaves nothing behind.
    Raises SynthaptError if the folder does not exist or is not writable.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise SynthaptError(f"{target}: output folder {folder} does not exist")
    if target.is_dir():
        raise SynthaptError(f"{target}: is a folder, expected a file path")
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=suffix or ".part", dir=folder
        )
    except OSError as exc:
        raise SynthaptError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():  # mkstemp makes 0600 files; give the usual umask-based mode instead
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
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
    import shutil

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
