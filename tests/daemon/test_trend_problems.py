"""Trend problems (§6.1.3) filed by the daemon's duties on the fake tracker: one per pattern, linked, once."""

from __future__ import annotations

import logging
from datetime import timedelta

from mapping.trends import TrendRule
from plugin.journal import Journal
from tests.daemon.conftest import T0, incident
from tests.daemon.test_duty_runner import duties_world, events, settle  # noqa: F401 - the fixture

H = timedelta(hours=1)


def with_rule(world, **rule) -> None:
    problems = world.config.duties.problems.model_copy(update={"trends": [TrendRule(name="net", **rule)]})
    world.config = world.config.model_copy(update={"duties": world.config.duties.model_copy(
        update={"problems": problems})})


def seed(world, n: int, category: str = "1.2") -> None:
    # T0 is Monday 2026-03-02 09:00 in Shanghai: n incidents of one category that week, an hour apart
    for i in range(n):
        world.tracker.add(incident(str(i + 1), severity=3, contract="24x7", category=category,
                                   reported_at=T0 + i * H))


def test_a_pattern_files_one_linked_problem_listing_its_incidents(duties_world, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    with_rule(w, by="category", count=3, window="week")
    seed(w, 3)
    w.tracker.add(incident("9", severity=3, contract="24x7", category="1.3", reported_at=T0))  # not of it
    w.at(3 * H)
    settle(w)
    w.daemon().cycle()
    (problem,) = w.tracker.filed
    assert problem.label.startswith("incident-escalator-trend-net-24x7-2026-W10-")
    assert problem.spec.issue_type == "Problem" and sorted(problem.linked_to) == ["1", "2", "3"]
    assert problem.title == "【问题·趋势】分类 网络 (1.2)：2026-W10 共 3 起事件（7×24 合同）"
    assert "依据§6.1.3" in problem.text and "- OPS-1 incident 1" in problem.text and "OPS-9" not in problem.text
    for ticket in ("1", "2", "3"):
        (note,) = w.tracker.notes_with(ticket, problem.label)
        assert f"本事件属于趋势问题 {problem.ref}（§6.1.3）" in note.text
    assert w.tracker.notes_with("9", problem.label) == []
    assert len(events(caplog, "daemon.trend-problem-created")) == 1
    # later passes, and a restart without its journal: the pattern is filed and linked already
    w.at(5 * H)
    w.daemon().cycle()
    w.daemon(journal=Journal(":memory:")).cycle()
    assert len(w.tracker.filed) == 1 and sorted(problem.linked_to) == ["1", "2", "3"]
    assert all(len(w.tracker.notes_with(t, problem.label)) == 1 for t in ("1", "2", "3"))


def test_a_near_miss_files_nothing(duties_world):  # noqa: F811
    w = duties_world
    with_rule(w, by="category", count=3, window="week")
    seed(w, 2)
    w.tracker.add(incident("3", severity=3, contract="24x7", category="1.3", reported_at=T0 + H))
    w.at(3 * H)
    settle(w)
    w.daemon().cycle()
    assert w.tracker.filed == []


def test_a_crash_while_linking_links_the_rest_on_the_next_pass(duties_world):  # noqa: F811
    import pytest

    from tests.daemon.fake import SimulatedCrash
    w = duties_world
    with_rule(w, by="all", count=2, window="day")
    seed(w, 2)
    w.at(2 * H)
    settle(w)
    w.tracker.crash_on["link"] = 2  # the second incident's link
    with pytest.raises(SimulatedCrash):
        w.daemon().cycle()
    w.daemon().cycle()
    (problem,) = w.tracker.filed
    assert sorted(problem.linked_to) == ["1", "2"]
    assert [len(w.tracker.notes_with(t, problem.label)) for t in ("1", "2")] == [1, 1]


def test_a_dry_run_says_what_it_would_file(duties_world, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    with_rule(w, by="configuration_item", count=2, window="day")
    seed(w, 2)  # the fixture's incidents share the CI core-switch-1
    w.at(2 * H)
    settle(w)
    w.daemon(dry_run=True).cycle()
    assert w.tracker.filed == []
    (would,) = events(caplog, "daemon.would-create-trend-problem")
    assert would.fields["key"] == "trend:net:24x7:configuration_item=core-switch-1:2026-03-02"
