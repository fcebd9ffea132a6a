"""`escalator deadlines` and the daemon compute the same instant, in every zone, across DST changes.

The admin checks a contract with `escalator deadlines`; the daemon enforces what
`mapping.escalation.evaluate` answers. For a report time near a daylight-saving change,
the CLI's table (run as a command, its printed times parsed back) must name the very
instants the daemon's evaluation gives for each level — on a 24x7 calendar and on a
working-hours calendar that works through the night hours where the clocks change.
"""

from __future__ import annotations

import functools
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapping.escalation import evaluate
from mapping.incident import Incident, StateChange
from mapping.loader import load_procedure
from plugin.cli.main import main

#: zones with daylight saving: both hemispheres, a change at midnight (Havana, Santiago),
#: a half-hour change (Lord Howe), a change at 01:00 UTC for all of Europe
ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "America/Havana", "America/Santiago",
         "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Auckland", "America/St_Johns")
NIGHT_AND_DAY = {day: ["00:00-04:00", "09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
_DIR = Path(tempfile.mkdtemp(prefix="deadlines-agree-"))
_DUE = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) \S+ \S+ ([+-]\d{4})$")


@functools.cache
def procedure_file(zone: str) -> Path:
    """A procedure whose two contracts run on 24x7 and on night-and-day hours in `zone`."""
    path = _DIR / f"{zone.replace('/', '_')}.yaml"
    path.write_text(yaml.safe_dump({
        "calendars": {"always": {"always": True, "timezone": zone},
                      "hours": {"timezone": zone, "hours": NIGHT_AND_DAY}},
        "contracts": {"always": {"calendar": "always"}, "hours": {"calendar": "hours"}},
    }), encoding="utf-8")
    return path


@functools.cache
def procedure(zone: str):
    return load_procedure(procedure_file(zone))


@functools.cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The UTC instants of the zone's offset changes in 2026-2028, to the minute."""
    tz = ZoneInfo(zone)
    found = []
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment.year < 2029:
        step = moment + timedelta(hours=1)
        if moment.astimezone(tz).utcoffset() != step.astimezone(tz).utcoffset():
            # the first minute of the new offset, within this hour
            found.append(next(moment + timedelta(minutes=m) for m in range(1, 61)
                              if (moment + timedelta(minutes=m)).astimezone(tz).utcoffset()
                              != moment.astimezone(tz).utcoffset()))
        moment = step
    return tuple(found)


def cli_deadlines(zone: str, contract: str, severity: int, reported: datetime) -> list[datetime]:
    """The CLI's table, given the report time as an admin types it: local time without an offset,
    unless the clocks pass that local time twice (then with the offset that names it)."""
    tz = ZoneInfo(zone)
    local = reported.astimezone(tz)
    naive = local.replace(tzinfo=None)
    twice = naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset()
    local = local.isoformat(timespec="minutes") if twice else naive.isoformat(timespec="minutes")
    result = CliRunner().invoke(main, ["deadlines", "--severity", str(severity), "--reported", local,
                                       "--contract", contract, "--config", str(procedure_file(zone))])
    assert result.exit_code == 0, result.output
    out = []
    for line in result.output.splitlines()[1:]:
        found = _DUE.search(line.rstrip())  # the rows of the table; not its header or rule
        if found:
            out.append(datetime.strptime(" ".join(found.groups()), "%Y-%m-%d %H:%M %z"))
    assert len(out) == 3, result.output
    return out


def daemon_deadlines(zone: str, contract: str, severity: int, reported: datetime) -> list[datetime]:
    """Each level's deadline as the daemon sees it: `evaluate` on an open incident at its report
    time, with the levels below already done (so the level asked is the next one)."""
    proc = procedure(zone)
    out = []
    for done in range(len(proc.escalation.targets)):
        incident = Incident(tracker="jira", id="1", ref="T-1", contract=contract, reported_at=reported,
                            updated_at=reported, severity=severity, state=3, escalation_level=done,
                            state_history=(StateChange(at=reported, state=3),))
        outcome = evaluate(incident, proc, reported)
        out.append(outcome.due[0].deadline if outcome.due else outcome.next_deadline)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), contract=st.sampled_from(["always", "hours"]),
       severity=st.integers(1, 4), index=st.integers(0, 5), minutes=st.integers(-48 * 60, 6 * 60))
def test_the_cli_and_the_daemon_name_the_same_instants(zone: str, contract: str, severity: int, index: int,
                                                       minutes: int) -> None:
    changes = transitions(zone)
    reported = changes[index % len(changes)] + timedelta(minutes=minutes)
    assert cli_deadlines(zone, contract, severity, reported) == daemon_deadlines(zone, contract, severity,
                                                                                 reported)


def test_a_24x7_deadline_across_the_spring_change_is_elapsed_time() -> None:
    # Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST. Reported 23:00 the evening before,
    # 4 h later is 04:00 CEST (3 h of wall clock), not 03:00 CEST
    reported = datetime(2026, 3, 28, 23, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    first = cli_deadlines("Europe/Berlin", "always", 2, reported)[0]
    assert first == datetime(2026, 3, 29, 4, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert first - reported == timedelta(hours=4)
    assert daemon_deadlines("Europe/Berlin", "always", 2, reported)[0] == first


def test_transitions_are_found() -> None:
    assert len(transitions("Europe/Berlin")) == 6
    assert transitions("Europe/Berlin")[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
