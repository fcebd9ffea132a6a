"""The validated procedure kept between runs, so that a command started again reads it ready-made.

`escalator deadlines` and `escalator procedure show` would otherwise spend most of their
start parsing YAML, importing pydantic to validate it and the `holidays` package to know
the calendar's days off (issue 14: a command starts in ≤ 0.2 s; bench/bench_startup.py).
`load_procedure` here gives what `mapping.loader.load_procedure` gives, from a pickle of
`mapping.procedure`'s dataclasses when one was written for exactly the same inputs:

- the key is a SHA-256 of every byte the result depends on: the default profile, the
  admin's procedure file (the only file the loader reads besides it), the package's
  version, the Python version, the source of the modules that validate and build the procedure, and the
  `holidays` package's version file (its data decides which country a calendar may name
  and the days off kept with the procedure). A changed input is a different key: the
  entry is validated afresh and replaced, never used stale;
- one entry per procedure file (named by a hash of its resolved path), in
  `$XDG_CACHE_HOME/incident-escalator/` (else `~/.cache/incident-escalator/`), in a
  directory of mode 0700, written whole to a temporary file of mode 0600 and renamed over
  the entry (`os.replace`), so a reader never sees half of one;
- a procedure that does not validate is never written: its errors are the loader's;
- any problem with the cache (no such directory, unreadable, written by another user or
  writable by others, not a pickle, another key, a disk that is full) is no problem for
  the user: the procedure is validated afresh as without a cache, nothing said;
- `ESCALATOR_NO_CACHE=1` turns it off (neither read nor written).

The days off each country calendar asked the `holidays` package for
(`mapping.public_holidays.CountryDays`) are kept in the same entry: `remember_holidays`,
called once a command has its answer, adds the years it needed, so a run that asks for
the same years again imports neither pydantic, PyYAML nor `holidays`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from mapping import __version__, public_holidays
from mapping.procedure import Procedure

DISABLE_ENV = "ESCALATOR_NO_CACHE"
DEFAULT_PROFILE = "default_profile.yaml"
#: the modules whose code decides what a procedure file validates to, and this one (the entry's layout)
CODE = ("procedure.py", "procedure_schema.py", "loader.py", "public_holidays.py", "errors.py", "procedure_cache.py")
_HERE = Path(__file__).resolve().parent

#: the entry of the last procedure loaded in this process: (file, key, procedure)
_last: tuple[Path, str, Procedure] | None = None


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("", "0", "no", "false")


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/incident-escalator, else ~/.cache/incident-escalator (XDG Base Directory
    Specification: a relative XDG_CACHE_HOME is to be ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "incident-escalator"


def load_procedure(path: Path | None = None) -> Procedure:
    """The procedure `mapping.loader.load_procedure(path)` gives, from the cache when it holds it."""
    global _last
    if not enabled():
        return _validate(path)
    try:
        key = _key(path)
        entry = cache_dir() / f"procedure-{_name(path)}.pickle"
    except (OSError, RuntimeError):  # an input unreadable (the loader says so) or no home directory
        return _validate(path)
    found = _read(entry, key)
    if found is not None:
        procedure, holidays = found
        public_holidays.preload(holidays)
        _last = (entry, key, procedure)
        return procedure
    procedure = _validate(path)  # a ProcedureError goes up, and nothing is written
    try:
        unchanged = _key(path) == key  # not rewritten while it was read: the entry is what the key says
    except OSError:
        unchanged = False
    if unchanged:
        _write(entry, key, procedure)
    _last = (entry, key, procedure)
    return procedure


def remember_holidays() -> None:
    """Keep the years of days off asked of the `holidays` package since the procedure was loaded
    with the procedure's entry (a command calls this once it has its answer)."""
    if _last is not None and public_holidays.grown() and enabled():
        _write(*_last)


def _validate(path: Path | None) -> Procedure:
    # here, not at the top: a run that finds its procedure in the cache imports neither PyYAML nor pydantic
    from mapping.loader import load_procedure as validate

    return validate(path)


def _key(path: Path | None) -> str:
    digest = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        digest.update(f"{label}:{len(data)}:".encode())
        digest.update(data)

    part("profile", (_HERE / DEFAULT_PROFILE).read_bytes())
    part("procedure", path.read_bytes() if path is not None else b"")
    part("version", __version__.encode())  # read from `mapping`, as setup.cfg does: no metadata scan
    part("python", sys.version.encode())  # the pickle's classes and protocol are the interpreter's
    for name in CODE:
        part(name, (_HERE / name).read_bytes())
    part("holidays", _holidays_version())
    return digest.hexdigest()


def _name(path: Path | None) -> str:
    where = str(path.resolve()) if path is not None else "(default profile)"
    return hashlib.sha256(where.encode()).hexdigest()[:24]


def _holidays_version() -> bytes:
    """The `holidays` package's version file, found without importing the package."""
    try:
        spec = find_spec("holidays")
    except (ImportError, ValueError):
        return b""
    if spec is None or not spec.origin:
        return b""
    try:
        return (Path(spec.origin).parent / "version.py").read_bytes()
    except OSError:
        return b""


def _read(entry: Path, key: str) -> tuple[Procedure, public_holidays.YearTable] | None:
    try:
        with open(entry, "rb") as file:
            info = os.fstat(file.fileno())
            # unpickling runs what the file says: only a file this user wrote and no one else may change
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
            data: Any = pickle.loads(file.read())
    except Exception:  # noqa: BLE001 - missing, unreadable or corrupt: validated afresh, nothing said
        return None
    if not (isinstance(data, dict) and data.get("key") == key and isinstance(data.get("procedure"), Procedure)
            and isinstance(data.get("holidays"), dict)):
        return None
    return data["procedure"], data["holidays"]


def _write(entry: Path, key: str, procedure: Procedure) -> None:
    import tempfile  # here: a run that reads the cache writes nothing

    tmp = None
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = pickle.dumps({"key": key, "procedure": procedure, "holidays": public_holidays.years()},
                            protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".procedure-", suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, entry)
        tmp = None
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only a slower next start
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
