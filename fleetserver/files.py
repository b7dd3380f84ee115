"""Files the fleet server writes: 0600 whatever the umask, the directory's mode or a file left
from before, because the data directory holds the issuing CA's key and controllers' keys."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically, as a 0600 file (its folder made 0700 if new)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)  # a scratch file left by a crash keeps its old mode under O_TRUNC
        with os.fdopen(fd, "w") as handle:
            fd = -1
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)
        raise


def private_sqlite(url: str) -> None:
    """Create an SQLite database file as 0600 before SQLite does (it would make it 0644 less the
    umask), and tighten one, and its -wal/-shm, left with a looser mode. SQLite gives the -wal
    and -shm files it creates the database file's mode. Other URLs: nothing to do."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    database = Path(parsed.database)
    fd = os.open(database, os.O_RDWR | os.O_CREAT, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)
    for suffix in SQLITE_SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{database}{suffix}", PRIVATE)
