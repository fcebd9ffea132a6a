"""A real PostgreSQL server for the shared journal's tests: one throwaway cluster per test
session (`sandbox.postgres.TempCluster`: initdb in a temporary folder, a free loopback
port). Skipped, saying why, only where the server binaries are absent; CI installs
Debian's `postgresql` (.ci/run), so there they run.

`pg_url` is one journal database for the session, emptied before each test (creating a
database costs a second or more on a busy machine); `fresh_pg_url` is a new, empty one,
for the tests of the schema itself."""

from __future__ import annotations

import psycopg
import pytest

from plugin.journal_pg import MIGRATIONS, Link, migrate
from sandbox.postgres import PASSWORD, ClusterUnavailable, TempCluster

#: the variable the configs of these tests name as daemon.journal_password's source
PASSWORD_ENV = "ESCALATOR_TEST_PG_PASSWORD"
TABLES = ("cursor", "schedule", "actions", "duties", "meta", "leases")


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = TempCluster()
    except ClusterUnavailable as exc:
        pytest.skip(str(exc))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def _shared_database(pg_cluster) -> str:
    url = pg_cluster.create_database("shared")
    link = Link(url, PASSWORD)
    assert migrate(link) == max(v for v, _ in MIGRATIONS)
    link.close()
    return url


@pytest.fixture
def running_cluster(pg_cluster, monkeypatch):
    if not pg_cluster.running:
        pg_cluster.start_again()  # a test that stopped it failed before starting it again
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return pg_cluster


@pytest.fixture
def pg_url(running_cluster, _shared_database) -> str:
    """The session's journal database, emptied; the password in $ESCALATOR_TEST_PG_PASSWORD."""
    with psycopg.connect(_shared_database, password=PASSWORD, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
    return _shared_database


@pytest.fixture
def fresh_pg_url(running_cluster) -> str:
    """A new database, without even the journal's schema."""
    return running_cluster.create_database()
