"""A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` in a temporary folder,
`pg_ctl start` on a free loopback port (its socket in that folder too), removed at the end.

It uses the server binaries of Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`,
newest version first) or those on PATH. `initdb` refuses to run as root ("initdb: error:
cannot be run as root"), and so does the server: run as root (CI is), every server command
goes through `runuser -u postgres` and the folder is handed to that user.

Password authentication is on for TCP (`scram-sha-256`), as on a real server, so the
escalator's `daemon.journal_password` is exercised for real; the superuser's password is
`PASSWORD`. Nothing is forced to disk (`fsync = off`): that only matters when the
machine itself crashes, and a throwaway cluster does not outlive one. A restart of the
server (`restart()`, a fast shutdown that cuts every connection, then a start) still
loses nothing committed: what the tests of a restart mid-run rely on.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

USER = "escalator"
PASSWORD = "throwaway-test-password"


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (the message says what to install)."""


def server_bin() -> Path:
    """The folder of `initdb` and `pg_ctl`; ClusterUnavailable when there are none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    raise ClusterUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin "
                             "or on PATH: install Debian's `postgresql` package")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempCluster:
    """One PostgreSQL server of our own; `start()`, `url(db)`, `create_database()`, `restart()`, `stop()`."""

    def __init__(self) -> None:
        self.bin = server_bin()
        self.root_run = os.geteuid() == 0
        if self.root_run:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterUnavailable("running as root and there is no `postgres` user to run the server "
                                         "as (Debian's postgresql package creates it)") from None
        self.folder = Path(tempfile.mkdtemp(prefix="escalator-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = _free_port()
        self.running = False

    # -- running the server's programs as the right user -------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.root_run:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                               f"\n{self._log_tail()}")
        return result

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def start(self) -> TempCluster:
        pwfile = self.folder / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self.root_run:
            for path in (self.folder, pwfile):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-instructions",
                  "--no-sync")  # a throwaway cluster: no need to wait for the disk
        pwfile.unlink()
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.folder}'\nmax_connections = 200\n"
                       "shared_buffers = 16MB\nlog_min_messages = warning\nfsync = off\nfull_page_writes = off\n")
        self._pg_ctl("start")
        self.running = True
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", action, *extra)

    def stop(self) -> None:
        """Stop the server (fast: connections are cut) and keep the folder for a `start_again`."""
        if self.running:
            self._pg_ctl("stop", "-m", "fast")
            self.running = False

    def start_again(self) -> None:
        self._pg_ctl("start")
        self.running = True

    def restart(self) -> None:
        """A fast restart: every connection is cut, the data stays."""
        self._pg_ctl("restart", "-m", "fast")
        self.running = True

    def destroy(self) -> None:
        """Stop at once (no checkpoint: the data goes) and remove the folder."""
        try:
            if self.running:
                self._pg_ctl("stop", "-m", "immediate")
                self.running = False
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        """A URL without the password (it comes apart, like `daemon.journal_password`)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "journal") -> str:
        """A new, empty database; returns its URL."""
        import psycopg
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), password=PASSWORD, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> TempCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.destroy()
