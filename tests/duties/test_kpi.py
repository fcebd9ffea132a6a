"""KPIs of a hand-built month (tests/duties/__init__.py), worked out by hand and checked number by number."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mapping.kpi import compute_kpis, iso_week, month_bounds, weeks_between
from mapping.loader import load_procedure
from tests.duties import CST, FIRST_LINE, NOW, at, month

H = timedelta(hours=1)


@pytest.fixture(scope="module")
def procedure():
    return load_procedure()


@pytest.fixture(scope="module")
def report(procedure):
    start, end = month_bounds("2026-11", CST)
    return compute_kpis(month(), procedure, start, end, NOW, first_line_groups=FIRST_LINE)


def test_period(report):
    assert (report.start, report.end) == (at("2026-11-01 00:00"), at("2026-12-01 00:00"))
    assert report.timezone == "Asia/Shanghai"
    assert report.as_of == NOW


def test_total_and_business_impact(report):
    # reported in November: K-01..K-14, K-17 and K-18 (K-15 is October's, K-16 December's)
    assert report.total == 16
    # severity 1: K-03, K-11, K-18 | 2: K-02, K-07, K-10, K-14, K-17 | 3: K-01, K-05, K-06, K-09, K-13
    # | 4: K-04, K-08 | none: K-12          3 + 5 + 5 + 2 + 1 = 16
    assert report.by_severity == {"1": 3, "2": 5, "3": 5, "4": 2, "unset": 1}
    # 1.2: K-01, K-02, K-05, K-09, K-13, K-14, K-18 (7) | 1.4: K-11 | 1.6: K-17 | 1.8: K-03, K-10
    # | 2.3: K-06, K-07 | 3.2: K-04 | 4.1: K-08 | none: K-12     7+1+1+2+2+1+1+1 = 16
    assert report.by_category == {"1.2": 7, "1.4": 1, "1.6": 1, "1.8": 2, "2.3": 2, "3.2": 1, "4.1": 1,
                                  "unset": 1}
    assert list(report.by_category) == ["1.2", "1.4", "1.6", "1.8", "2.3", "3.2", "4.1", "unset"]


def test_timetable_misses_per_level(report):
    # base: the 15 with a severity (all but K-12). A cell that allows time is missed when the SLA
    # time as of NOW reached it (not resolved when the report fell due):
    #        sev  SLA    L1 L2 L3 (offsets)
    # K-01    3   4 h    6/8/12  -  -  -
    # K-02    2   7 h    4/6/8   x  x  -
    # K-04    4  12 h   12/24/48 x  -  -   (12 h reached exactly: the report fell due as it was resolved)
    # K-05    3  11 h    6/8/12  x  x  -
    # K-06    3  open    6/8/12  x  x  x
    # K-07    2   5 h    4/6/8   x  -  -   (2 h, reopened, +3 h)
    # K-08    4  25 h   12/24/48 x  x  -
    # K-09    3   5 h    6/8/12  -  -  -
    # K-10    2 3.5 h    4/6/8   -  -  -
    # K-13    3   1 h    6/8/12  -  -  -   (paused since)
    # K-14    2  17 h    4/6/8   x  x  x
    # K-17    2   7 h    4/6/8   x  x  -   (24x7)
    # Severity 1 is due immediately: missed when the report was not recorded within 15 min of the
    # incident becoming severity 1:
    # K-03    reported 10:00, levels 1-3 at 10:01                       -  -  -
    # K-11    raised to 1 at 20:30, no report recorded                  x  x  x
    # K-18    reported 10:00, level 1 at 10:05, level 2 at 10:40, no 3  -  x  x
    # L1: K-02 04 05 06 07 08 11 14 17 = 9; L2: K-02 05 06 08 11 14 17 18 = 8; L3: K-06 11 14 18 = 4
    assert [(m.level, m.role, m.base, m.missed) for m in report.misses] == [
        (1, "project_manager", 15, 9), (2, "division_director", 15, 8), (3, "company_management", 15, 4)]
    assert report.misses[0].share == pytest.approx(9 / 15)
    # per severity, with what a miss means for the cell
    assert [(c.severity, c.rule, c.allowed, c.base, c.missed) for c in report.misses[0].by_severity] == [
        (1, "report", timedelta(0), 3, 1), (2, "resolution", 4 * H, 5, 4), (3, "resolution", 6 * H, 5, 2),
        (4, "resolution", 12 * H, 2, 2)]
    assert [(c.severity, c.missed) for c in report.misses[1].by_severity] == [(1, 2), (2, 3), (3, 2), (4, 1)]
    assert [(c.severity, c.missed) for c in report.misses[2].by_severity] == [(1, 2), (2, 1), (3, 1), (4, 0)]
    assert report.immediate_within == timedelta(minutes=15)


def test_mean_time_spent_per_category(report):
    # SLA time as of NOW of the incidents resolved then (the clock stands still while resolved),
    # work after a reopen included:
    # 1.2: K-01 4 h, K-02 7 h, K-05 11 h, K-09 5 h, K-14 17 h, K-18 5 h (3 h + 2 h after the
    #      reopen) -> 49 h / 6 = 8 h 10 min
    # 1.4: K-11 2 h | 1.6: K-17 7 h | 1.8: K-03 5 h, K-10 3.5 h -> 8.5 h / 2 = 4 h 15 min
    # 2.3: K-07 5 h (2 h, reopened, 3 h more; K-06 is open) | 3.2: K-04 12 h | 4.1: K-08 25 h
    rows = {r.category: (r.resolved, r.total, r.mean) for r in report.resolve_time}
    assert rows == {
        "1.2": (6, 49 * H, timedelta(hours=8, minutes=10)),
        "1.4": (1, 2 * H, 2 * H),
        "1.6": (1, 7 * H, 7 * H),
        "1.8": (2, 8.5 * H, timedelta(hours=4, minutes=15)),
        "2.3": (1, 5 * H, 5 * H),
        "3.2": (1, 12 * H, 12 * H),
        "4.1": (1, 25 * H, 25 * H),
    }


def test_time_spent_agrees_with_the_record_sheet(report, procedure):
    from plugin.reports.record import record_view

    k07 = next(i for i in month() if i.ref == "K-07")
    sheet = dict(record_view(k07, procedure, NOW, "en")["other"])
    assert sheet["SLA time"] == "5 h"
    assert next(r.total for r in report.resolve_time if r.category == "2.3") == 5 * H


def test_first_line_resolution(report, procedure):
    # base: resolved now (待审核 or 已归档): K-01 02 03 04 05 07 08 09 10 11 14 17 18 = 13
    # only first-line groups (service_desk, onsite): K-01 03 04 07 09 10 14 17 = 8
    # left them: K-02 (network), K-05 (network), K-08 (application), K-11 (server), K-18 (network)
    assert (report.first_line.base, report.first_line.first_line, report.first_line.unknown) == (13, 8, 0)
    assert report.first_line.share == pytest.approx(8 / 13)
    assert report.first_line_groups == ("onsite", "service_desk")
    # without a list: never changed group. One group only: K-04 07 08 09 10 14 17 = 7
    start, end = month_bounds("2026-11", CST)
    plain = compute_kpis(month(), procedure, start, end, NOW)
    assert (plain.first_line.base, plain.first_line.first_line) == (13, 7)
    assert plain.first_line_groups is None


def test_first_line_cannot_be_computed_where_no_group_is_recorded(procedure):
    # Jira without a mapped support-group field: no incident carries a group, and the share
    # is not 100 % but unknown
    start, end = month_bounds("2026-11", CST)
    bare = [i.model_copy(update={"group": None, "group_history": ()}) for i in month()]
    report = compute_kpis(bare, procedure, start, end, NOW, first_line_groups=FIRST_LINE, groups_recorded=False)
    assert report.first_line.computable is False
    assert report.first_line.share is None
    assert (report.first_line.base, report.first_line.unknown) == (0, 13)
    # recorded, but not on every incident: those without one are left out of the base, and counted
    some = [i.model_copy(update={"group": None, "group_history": ()}) if i.ref in ("K-01", "K-02") else i
            for i in month()]
    report = compute_kpis(some, procedure, start, end, NOW, first_line_groups=FIRST_LINE)
    assert (report.first_line.base, report.first_line.first_line, report.first_line.unknown) == (11, 7, 2)


def test_weekly_trend_of_the_incidents_reported_in_the_period(report):
    # ISO weeks overlapping November: W44 (10-26..11-01) .. W49 (11-30..12-06)
    # opened  W45: K-01 02 03 04 | W46: K-05 06 07 08 09 (Sat 11-14) | W47: K-10 11 17
    #         W48: K-12 13 18    | W49: K-14                  4+5+3+3+1 = 16
    # resolved (resolved now; the week of the last resolution, before December):
    #         W45: K-01 (11-02), K-02 (11-03), K-03 (11-04)
    #         W46: K-04 (11-09), K-05 (11-10), K-07 (11-13: resolved 11-12, reopened, resolved again)
    #         W47: K-09 (11-16), K-10 (11-17), K-08 (11-18), K-11 (11-20), K-17 (11-21)
    #         W48: K-18 (11-26: resolved 11-25, reopened, resolved again)
    #         K-14 is resolved 12-02, after the period; K-15 (October's) is not of the population
    assert [(w.week, w.opened, w.resolved) for w in report.trend] == [
        ("2026-W44", 0, 0), ("2026-W45", 4, 3), ("2026-W46", 5, 3), ("2026-W47", 3, 5), ("2026-W48", 3, 1),
        ("2026-W49", 1, 0)]
    # the columns add up: 12 in the weeks + 1 after = 13 resolved; + 3 open (K-06 12 13) = 16
    assert (report.resolved, report.resolved_after, report.unresolved) == (13, 1, 3)
    assert sum(w.opened for w in report.trend) == report.total
    assert sum(w.resolved for w in report.trend) + report.resolved_after == report.resolved
    assert report.resolved + report.unresolved == report.total


def test_major_incidents_with_timelines(report):
    assert [m.ref for m in report.majors] == ["K-03", "K-11", "K-18"]
    k11 = report.majors[1]
    assert (k11.severity, k11.state, k11.reported_at, k11.resolved_at) == (1, 6, at("2026-11-19 20:00"),
                                                                           at("2026-11-20 11:00"))
    assert [(e.at, e.kind, e.value) for e in k11.timeline] == [
        (at("2026-11-19 20:00"), "reported", "K-11"),
        (at("2026-11-19 20:00"), "state", "1"),
        (at("2026-11-19 20:00"), "severity", "2"),
        (at("2026-11-19 20:00"), "group", "service_desk"),
        (at("2026-11-19 20:10"), "state", "2"),
        (at("2026-11-19 20:20"), "state", "3"),
        (at("2026-11-19 20:30"), "severity", "1"),
        (at("2026-11-19 20:40"), "group", "server"),
        (at("2026-11-20 11:00"), "state", "6"),
    ]
    assert [e.kind for e in report.majors[0].timeline].count("escalation") == 3


def test_contract_filter(procedure):
    start, end = month_bounds("2026-11", CST)
    only = compute_kpis(month(), procedure, start, end, NOW, contract="24x7", first_line_groups=FIRST_LINE)
    assert (only.total, only.by_severity, only.contract) == (1, {"2": 1}, "24x7")
    assert [(m.level, m.missed) for m in only.misses] == [(1, 1), (2, 1), (3, 0)]
    default = compute_kpis(month(), procedure, start, end, NOW, contract="default")
    assert default.total == 15
    # the trend is of the contract's incidents: K-17 leaves week 47
    assert [w.resolved for w in default.trend] == [0, 3, 3, 4, 1, 0]


def test_as_of_an_earlier_moment(procedure):
    # at 11-10 12:00 only what happened before counts: K-05 not yet resolved (11-10 12:30)
    start, end = month_bounds("2026-11", CST)
    early = compute_kpis(month(), procedure, start, end, at("2026-11-10 12:00"))
    rows = {r.category: r.resolved for r in early.resolve_time}
    assert rows["1.2"] == 2  # K-01, K-02
    assert [w.resolved for w in early.trend][:3] == [0, 3, 1]  # W46: K-04 only


def test_weeks_and_months():
    assert weeks_between(at("2026-12-28 00:00"), at("2027-01-05 00:00"), CST) == ["2026-W53", "2027-W01"]
    assert weeks_between(at("2026-11-02 00:00"), at("2026-11-02 00:00"), CST) == []
    assert iso_week(at("2026-11-22 23:59")) == "2026-W47"
    assert month_bounds("2026-12", CST) == (at("2026-12-01 00:00"), at("2027-01-01 00:00"))
    with pytest.raises(ValueError, match="not a month"):
        month_bounds("2026-13", CST)


def test_an_immediate_report_is_judged_from_when_the_incident_became_severity_1(procedure):
    from mapping.incident import EscalationRecord
    from mapping.kpi import became_severity, reported_late
    from tests.duties import incident

    k = incident("K-90", "2026-11-02 09:00", [("2026-11-02 09:05", 3)],
                 severities=[("2026-11-02 09:00", 2), ("2026-11-02 11:00", 1)],
                 escalations=(EscalationRecord(at=at("2026-11-02 11:10"), level=3),))
    assert became_severity(k, 1) == at("2026-11-02 11:00")
    within = timedelta(minutes=15)
    # level 3 recorded 11:10 covers levels 1-3: within 15 min of the raise
    assert [reported_late(k, lv, 1, within, NOW) for lv in (1, 2, 3)] == [False, False, False]
    bare = k.model_copy(update={"escalations": ()})
    assert reported_late(bare, 1, 1, within, at("2026-11-02 11:10")) is None  # not yet judged
    assert reported_late(bare, 1, 1, within, at("2026-11-02 11:15")) is True
    # a level set with the ticket and never changed: taken as reported at the report time
    assert reported_late(bare.model_copy(update={"escalation_level": 2}), 2, 1, within, NOW) is False


def test_time_to_acknowledge_per_level(report):
    # escalations of the population: K-03 to levels 1-3 at 10:01; K-18 to level 1 at 10:05 and
    # level 2 at 10:40. Only K-18's level 1 was acknowledged, at 10:20 (Wednesday, working time)
    assert [(a.level, a.escalated, a.acknowledged, a.mean) for a in report.acknowledgement] == [
        (1, 2, 1, timedelta(minutes=15)), (2, 2, 0, None), (3, 1, 0, None)]


def test_contracts_allowing_different_times_for_one_cell_are_counted_apart(tmp_path):
    path = tmp_path / "procedure.yaml"
    path.write_text("contracts:\n  24x7:\n    timetable:\n      2: {project_manager: 2h, division_director: 6h, "
                    "company_management: 8h}\n", encoding="utf-8")
    start, end = month_bounds("2026-11", CST)
    report = compute_kpis(month(), load_procedure(path), start, end, NOW)
    # severity 2 at level 1: K-17 (24x7, 7 h) against 2 h; K-02 07 10 14 against 4 h (K-10 in time)
    assert [(c.allowed, c.base, c.missed) for c in report.misses[0].by_severity if c.severity == 2] == [
        (2 * H, 1, 1), (4 * H, 4, 3)]
