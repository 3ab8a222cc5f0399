"""Names of our temporary files and folders, and removal of those a killed process left behind.

Every temporary entry synthapt creates is named ``<prefix><host>~<pid>~<random>...``: the host
name and process id of its owner. A later run removes the entries with a given prefix that this
host's dead processes left (``remove_stale``); it never touches entries of live processes, of
other hosts (shared file systems) or of any other name.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
from pathlib import Path

HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
"""This host's name reduced to letters, digits and '-' (so '~' only ever separates fields)."""


def owner_tag() -> str:
    """``<host>~<pid>~``: what follows the prefix in the name of a temporary entry we create."""
    return f"{HOST}~{os.getpid()}~"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process we may not signal counts as alive)."""
    if pid <= 0:
        return True  # not a process id we could have written: never treat it as dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_owner(name: str, prefix: str) -> bool:
    """Whether ``name`` is ``prefix`` + a tag of a dead process on this host."""
    if not name.startswith(prefix):
        return False
    fields = name[len(prefix):].split("~", 2)
    if len(fields) != 3 or fields[0] != HOST or not fields[1].isdigit():
        return False
    return not process_alive(int(fields[1]))


def remove_stale(folder: str | os.PathLike, prefix: str) -> list[Path]:
    """Remove the entries of ``folder`` named ``prefix<host>~<pid>~...`` whose owner (on this
    host) is dead: files, and folders with their content. Symbolic links are left alone.
    Returns what was removed; entries that vanish meanwhile or cannot be removed are skipped."""
    removed = []
    for name in glob.glob(glob.escape(prefix) + "*~*~*", root_dir=folder):
        entry = Path(folder) / name
        if not stale_owner(name, prefix) or entry.is_symlink():
            continue
        try:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed
