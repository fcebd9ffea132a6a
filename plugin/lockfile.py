"""One daemon per journal: an exclusive `flock` on `<journal>.lock`, held for the daemon's lifetime.

Two `escalator run` (or `once`) processes on one config would both look for an action's
marker on a ticket, both find none, and both write the note: the marker check and the
write are two requests, not one atomic step. The lock makes the second process exit at
once, naming the first one's pid (written into the lock file).

The kernel drops an flock when its process ends, however it ends (SIGKILL included), so
a lock file left behind never blocks a restart. The file is never removed: unlinking it
would let a third process lock a fresh file while the second still holds the old one.

Known limit: this is a lock on one host's file system. A second daemon on another host,
with a journal of its own, is not stopped by it; the markers on the tracker still keep
a restart or a crash from doubling a note, but that check-then-write race remains
between two hosts. Run one escalator per tracker on an SQLite journal; for more than one,
on any hosts, put the journal on PostgreSQL, where one leads and the others stand by
(`plugin.leader`).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from mapping.errors import UserError
from plugin.private import private_file


class AlreadyRunning(UserError):
    """Another process holds the journal's lock; the message is the one line to show."""


class JournalLock:
    """The lock beside `journal`; `acquire` raises `AlreadyRunning`, or OSError when it cannot be made."""

    def __init__(self, journal: Path):
        self.journal = journal
        self.path = journal.with_name(journal.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        # 0600: nothing for other users (plugin/private.py); no O_TRUNC: the pid of the holder
        # must survive a loser's open
        private_file(self.path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(f"another escalator is running with journal {self.journal} (pid {holder})") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> JournalLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
