"""Log lines carry their structured fields, so an operator sees which ticket and why."""

from __future__ import annotations

import logging

from plugin.logfmt import KeyValueFormatter


def record(**extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("escalator.jira", logging.WARNING, __file__, 1, "jira.unreadable", (), None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_fields_from_extra_follow_the_event_name() -> None:
    line = KeyValueFormatter("%(levelname)s %(message)s").format(
        record(event="jira.unreadable", key="SD-1", reason="status id 10003 maps to no state"))
    assert line == 'WARNING jira.unreadable key=SD-1 reason="status id 10003 maps to no state"'


def test_a_line_without_fields_is_left_as_it_is() -> None:
    assert KeyValueFormatter("%(message)s").format(record()) == "jira.unreadable"


def test_the_daemons_own_fields_are_not_repeated() -> None:
    line = KeyValueFormatter("%(message)s").format(record(event="daemon.escalated", fields={"ticket": "SD-1"}))
    assert line == "jira.unreadable"
