"""Files and directories that hold customers' data (the SQLite database and its WAL,
blobs, exports) are the owner's alone: directories 0700 and files 0600 when supportd
creates them, whatever the process's umask. Existing ones keep the modes they have
(an operator who chose others chose them)."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Make `path` and any missing parents, each 0700."""
    missing: list[Path] = []
    at = path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: theirs to have set
        # mkdir's mode passes through the umask, which may take owner bits away too.
        os.chmod(directory, DIR_MODE)


def create_private(path: Path, flags: int = os.O_WRONLY) -> int:
    """Open `path`, creating it 0600 if missing (its directory 0700); a file descriptor.
    An existing file is opened as it is."""
    private_dir(path.parent)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags & ~os.O_EXCL)
    os.fchmod(fd, FILE_MODE)
    return fd


def ensure_private_file(path: Path) -> None:
    """Create an empty file 0600 if there is none (e.g. before SQLite opens a database:
    it gives the -wal and -shm files the database file's mode)."""
    if not path.exists():
        os.close(create_private(path))
