"""A counter shared by every process of a data directory, bumped when credentials change.

Readers compare it with a memory read of a shared mapping (no system call), so a process can
keep answers about credentials in memory and still see another process's change at once.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct

_FORMAT = "<Q"
_SIZE = struct.calcsize(_FORMAT)


class Generation:
    """An 8-byte counter in a small file, mapped shared into each process."""

    def __init__(self, path: str | os.PathLike):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)  # one left looser by an older version, or a umask above 077
            if os.fstat(fd).st_size < _SIZE:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_size < _SIZE:
                    os.ftruncate(fd, _SIZE)
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(fd, _SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def value(self) -> int:
        return struct.unpack_from(_FORMAT, self._map, 0)[0]

    def bump(self) -> None:
        """Increment, serialised across processes by an advisory lock on the file."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            struct.pack_into(_FORMAT, self._map, 0, self.value() + 1)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            self._map.close()
            os.close(self._fd)
            self._fd = -1
