"""The journal's two stores keep the same contract (`plugin.journal.JournalStore`): the
embedded SQLite file and the shared PostgreSQL database, the latter against a real server.
Then what only the shared one has: fenced writes, a versioned schema, reconnection."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from connectors.base import Cursor
from plugin.journal import Journal
from plugin.journal_pg import MIGRATIONS, JournalSchemaError, Link, PgJournal, PgLeaseStore, migrate
from plugin.leader import Fenced, JournalUnreachable, Leadership, StaleEpoch
from sandbox.postgres import PASSWORD

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)


def leading(url: str, holder: str = "host-a:1", lease: float = 30.0, tracker: str = "jira") -> Leadership:
    leadership = Leadership(PgLeaseStore(url, PASSWORD), tracker, lease=lease, holder=holder)
    leadership.step()
    assert leadership.term() is not None
    return leadership


class BothTrackers:
    """The leads of two trackers' daemons, for the tests that write both into one journal."""

    def __init__(self, url: str):
        self.leads = {t: leading(url, tracker=t) for t in ("jira", "zammad")}

    def credentials(self, tracker: str) -> tuple[str, int]:
        return self.leads[tracker].credentials(tracker)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        journal = Journal(tmp_path / "journal.sqlite")
    else:
        url = request.getfixturevalue("pg_url")
        journal = PgJournal(url, PASSWORD, fence=BothTrackers(url))
    yield journal
    journal.close()


def test_the_cursor_round_trips_and_is_replaced(store):
    assert store.cursor("jira") == Cursor()
    first = Cursor(since=T0, seen={"1": T0.isoformat(), "2": (T0 + timedelta(seconds=1)).isoformat()})
    store.save_cursor("jira", first)
    store.save_cursor("jira", Cursor(since=T0 + timedelta(hours=1), seen={"3": T0.isoformat()}))
    back = store.cursor("jira")
    assert back.since == T0 + timedelta(hours=1) and back.seen == {"3": T0.isoformat()}
    assert store.cursor("zammad") == Cursor()


def test_watch_from_is_recorded_once_and_never_moves(store):
    assert store.watch_from("jira") is None
    assert store.start_watching("jira", T0) == T0
    assert store.start_watching("jira", T0 + timedelta(days=1)) == T0
    assert store.watch_from("jira") == T0 and store.watch_from("jira").utcoffset() == timedelta(hours=8)


def test_the_schedule_keeps_one_deadline_per_ticket_earliest_first(store):
    store.set_due("jira", "2", "OPS-2", T0 + timedelta(hours=4))
    store.set_due("jira", "1", "OPS-1", T0 + timedelta(hours=6))
    store.set_due("jira", "3", "OPS-3", T0 + timedelta(hours=1))
    store.set_due("jira", "1", "OPS-1", T0 + timedelta(hours=2))  # moved
    store.set_due("jira", "3", "OPS-3", None)  # nothing left due
    store.set_due("zammad", "9", "9", T0)
    assert store.schedule("jira") == [(T0 + timedelta(hours=2), "1", "OPS-1"), (T0 + timedelta(hours=4), "2", "OPS-2")]


def test_a_duty_period_only_moves_forward(store):
    store.duty_done("jira", "pm_digest:default", "pm_digest:default:2026-03-03", T0)
    store.duty_done("jira", "pm_digest:default", "pm_digest:default:2026-03-02", T0)  # an older one: ignored
    store.duty_done("jira", "callbacks:default", "callbacks:default:2026-W10", T0)
    assert store.duties_done("jira") == {"pm_digest:default": "pm_digest:default:2026-03-03",
                                         "callbacks:default": "callbacks:default:2026-W10"}
    assert store.duties_done("zammad") == {}


def test_actions_are_recorded_in_order_and_found_by_marker(store):
    store.record("jira", "1", "OPS-1", "escalation-L1", "escalate", "done", T0,
                 {"people": ["pm-李"], "deadline": T0, "lag_seconds": 1.5})
    store.record("jira", "1", "OPS-1", "escalation-L2", "escalate", "already-done", T0 + timedelta(hours=2))
    store.record("zammad", "7", "10007", "record-incomplete", "incomplete-record", "done", T0)
    assert store.done("jira", "1", "escalation-L1") and not store.done("jira", "2", "escalation-L1")
    assert not store.done("zammad", "1", "escalation-L1")
    entries = store.entries("jira")
    assert [(e.marker, e.outcome) for e in entries] == [("escalation-L1", "done"), ("escalation-L2", "already-done")]
    assert entries[0].at == T0 and entries[0].detail == {"people": ["pm-李"], "deadline": str(T0), "lag_seconds": 1.5}
    assert [e.ticket_id for e in store.entries()] == ["1", "1", "7"]
    assert [e.marker for e in store.entries(ticket_id="7")] == ["record-incomplete"]
    assert entries[0].epoch == (1 if isinstance(store, PgJournal) else None)


# -- what only the shared journal has --------------------------------------------------------------
def test_a_write_after_a_takeover_is_refused_and_writes_nothing(pg_url):
    a = leading(pg_url, "host-a:1")
    journal = PgJournal(pg_url, PASSWORD, fence=a)
    journal.record("jira", "1", "OPS-1", "escalation-L1", "escalate", "done", T0)
    _lapse(pg_url)
    b = leading(pg_url, "host-b:2")
    assert b.term() == 2
    for write in (lambda: journal.record("jira", "1", "OPS-1", "escalation-L2", "escalate", "done", T0),
                  lambda: journal.set_due("jira", "1", "OPS-1", T0),
                  lambda: journal.save_cursor("jira", Cursor(since=T0)),
                  lambda: journal.start_watching("jira", T0),
                  lambda: journal.duty_done("jira", "d", "d:1", T0)):
        with pytest.raises(StaleEpoch, match="epoch 1: another daemon has taken the lead"):
            write()
    assert [e.marker for e in journal.entries()] == ["escalation-L1"]  # reads go on
    assert journal.schedule("jira") == [] and journal.watch_from("jira") is None
    PgJournal(pg_url, PASSWORD, fence=b).record("jira", "1", "OPS-1", "escalation-L2", "escalate", "done", T0)
    assert [(e.marker, e.epoch) for e in journal.entries()] == [("escalation-L1", 1), ("escalation-L2", 2)]


def test_a_daemon_that_does_not_lead_writes_nothing(pg_url):
    leading(pg_url, "host-a:1")
    b = Leadership(PgLeaseStore(pg_url, PASSWORD), "jira", lease=30, holder="host-b:2")
    b.step()
    journal = PgJournal(pg_url, PASSWORD, fence=b)
    with pytest.raises(Fenced, match="does not hold the lease"):
        journal.set_due("jira", "1", "OPS-1", T0)
    with pytest.raises(Fenced, match="leads jira, not zammad"):
        PgJournal(pg_url, PASSWORD, fence=leading(pg_url)).set_due("zammad", "1", "1", T0)
    assert journal.schedule("jira") == journal.schedule("zammad") == []


def test_a_takeover_waits_for_the_write_in_flight_which_the_new_leader_then_reads(pg_url):
    a = leading(pg_url, "host-a:1")
    journal = PgJournal(pg_url, PASSWORD, fence=a)
    b = Leadership(PgLeaseStore(pg_url, PASSWORD), "jira", lease=30, holder="host-b:2")
    _lapse(pg_url)  # a's lease has ended, but nobody took it yet: a's epoch is still the lease's
    with journal._write("jira") as (cur, epoch):
        cur.execute("INSERT INTO meta (key, value) VALUES ('in-flight', 'a')")
        taker = threading.Thread(target=b.step)
        taker.start()
        _wait_for_lock_wait(pg_url)  # b's takeover is held up by a's open write
        assert b.term() is None
    taker.join(30)
    assert b.term() == 2
    with psycopg.connect(pg_url, password=PASSWORD) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'in-flight'").fetchone() == ("a",)


def test_the_schema_is_versioned_migrated_once_and_a_newer_one_refused(fresh_pg_url):
    pg_url = fresh_pg_url
    first = PgJournal(pg_url, PASSWORD)
    assert first.version == max(v for v, _ in MIGRATIONS)
    PgJournal(pg_url, PASSWORD).close()  # opening again changes nothing
    link = Link(pg_url, PASSWORD)
    later = [*MIGRATIONS, (MIGRATIONS[-1][0] + 1, "ALTER TABLE actions ADD COLUMN note TEXT")]
    assert migrate(link, later) == later[-1][0]
    assert migrate(link, later) == later[-1][0]  # applied once: a second ADD COLUMN would fail
    with pytest.raises(JournalSchemaError, match=rf"schema version {later[-1][0]} is newer than this escalator "
                                                 rf"knows \({MIGRATIONS[-1][0]}\): upgrade the escalator"):
        PgJournal(pg_url, PASSWORD)
    first.close()


def test_two_daemons_creating_the_schema_at_once_both_succeed(fresh_pg_url):
    pg_url = fresh_pg_url
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PgJournal(pg_url, PASSWORD).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_an_unreachable_journal_is_one_line_without_the_password(running_cluster):
    pg_cluster = running_cluster
    url = f"postgresql://escalator@127.0.0.1:{_closed_port()}/journal"
    with pytest.raises(JournalUnreachable) as caught:
        PgJournal(url, "hunter2-secret")
    message = str(caught.value)
    assert message.startswith(f"journal {url}: cannot connect: ") and "\n" not in message
    assert "hunter2" not in message
    with pytest.raises(JournalUnreachable, match="password authentication failed"):
        PgJournal(pg_cluster.url(), "wrong-password")


def test_after_a_server_restart_the_journal_connects_again(pg_url, pg_cluster):
    a = leading(pg_url)
    journal = PgJournal(pg_url, PASSWORD, fence=a)
    journal.set_due("jira", "1", "OPS-1", T0)
    pg_cluster.restart()
    with pytest.raises(JournalUnreachable):
        journal.set_due("jira", "2", "OPS-2", T0)  # the old connection was cut
    journal.set_due("jira", "2", "OPS-2", T0)  # the next call connects again
    assert [t for _, t, _ in journal.schedule("jira")] == ["1", "2"]
    a.step()  # the lease store reconnects too, and the lease outlived the restart
    assert a.term() == 1


def _lapse(url: str) -> None:
    """End the current lease now, as the passing of its time would (on the database's clock)."""
    with psycopg.connect(url, password=PASSWORD, autocommit=True) as conn:
        conn.execute("UPDATE leases SET expires_at = clock_timestamp() - interval '1 second'")


def _wait_for_lock_wait(url: str) -> None:
    import time
    end = time.monotonic() + 30
    with psycopg.connect(url, password=PASSWORD, autocommit=True) as conn:
        while time.monotonic() < end:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()").fetchone()
            if row[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the takeover never waited for the write in flight")


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_times_come_back_as_the_same_instants(pg_url):
    journal = PgJournal(pg_url, PASSWORD, fence=leading(pg_url))
    journal.set_due("jira", "1", "OPS-1", T0)
    (due, _, _), = journal.schedule("jira")
    assert due == T0 and due.utcoffset() == timedelta(0) and due.astimezone(UTC) == T0.astimezone(UTC)
