"""Files only the escalator's own user may read: what the daemon writes, and the secrets it reads.

The journal holds ticket references, people's names and what was done about each incident,
and the lock file the daemon's pid: nothing for the other users of the host. So the
daemon's files are created 0600 and the directories it creates for them 0700, whatever
the umask (SQLite gives the journal's -wal and -shm files the journal's own mode:
https://www.sqlite.org/tempfiles.html and os_unix.c `findCreateFileMode`). A journal an
earlier version created world-readable is made private when the daemon opens it, and says so.

A secret file (`{file: PATH}` in the config) that its group or others may read has
already leaked as far as the host goes; it is refused, naming the file and the fix, as
ssh refuses a private key others can read.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from mapping.errors import UserError

log = logging.getLogger("escalator.files")

FILE_MODE = 0o600
DIR_MODE = 0o700


class ExposedSecret(UserError):
    """A secret file others can read; the message is the one line to show."""


def private_dir(path: Path) -> None:
    """Create `path` and any missing parents 0700 (existing directories are left as they are:
    they may be shared on purpose, e.g. /var/lib)."""
    missing = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs
        os.chmod(directory, DIR_MODE)  # mkdir's mode passes through the umask: say it outright


def private_file(path: Path) -> None:
    """Make sure `path` exists and only its owner may read or write it."""
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, FILE_MODE)
            log.warning("files.made-private %s was mode %s, now 0600", path, oct(mode),
                        extra={"event": "files.made-private", "fields": {"path": str(path), "was": oct(mode)}})
    finally:
        os.close(fd)


def check_secret_file(path: Path, what: str) -> None:
    """Refuse (ExposedSecret) a secret file its group or others may read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # reading it will say what is wrong
    if mode & 0o077:
        raise ExposedSecret(f"{what}: secret file {path} may be read by others (mode {mode:04o}): "
                            f"run `chmod 600 {path}`")
