"""The store's files are their owner's alone (mode 0600), whatever the process's umask.

The event store, the projections, the key store, the token file and the lock file
hold personal data (sealed or not), keys, or who may log in. SQLite creates a
database's -wal, -shm and -journal files with the mode of the database file
itself, so a database file created 0600 before SQLite first opens it keeps all of
them private. Files of stores made before this rule are tightened when opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def owner_only(path: str | Path, *, create: bool = True) -> None:
    """Create `path` (empty, 0600) if it is missing and `create`; make it and its SQLite
    side files 0600 where they exist. Files of another owner are left as they are: only
    their owner may change their mode.

    An existing file is never opened here: closing any descriptor of a database file
    drops every POSIX lock this process holds on it, those of its open SQLite
    connections included, and another process could then write under them.
    """
    path = Path(path)
    if create:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
        except FileExistsError:
            pass  # there already (or created by another process just now): its mode is seen to below
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        try:
            info = name.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != PRIVATE:
            name.chmod(PRIVATE)
