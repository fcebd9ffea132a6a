"""Log lines carry their structured fields, so an operator sees which ticket and why; times are UTC."""

from __future__ import annotations

import json
import logging
import sys

from click.testing import CliRunner

from plugin.logfmt import JsonFormatter, KeyValueFormatter

CREATED = 1772413200.25  # 2026-03-02T01:00:00.250Z


def record(msg: str = "jira.unreadable", args: tuple = (), level: int = logging.WARNING,
           **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("escalator.jira", level, __file__, 1, msg, args, None)
    rec.created = CREATED
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_fields_from_extra_follow_the_event_name_after_a_utc_time() -> None:
    line = KeyValueFormatter().format(
        record(event="jira.unreadable", key="SD-1", reason="status id 10003 maps to no state"))
    assert line == '2026-03-02T01:00:00.250Z WARNING jira.unreadable key=SD-1 reason="status id 10003 maps to no state"'


def test_the_daemons_fields_are_the_line_not_its_message() -> None:
    line = KeyValueFormatter().format(record("daemon.escalated tracker=jira ticket=SD-1", level=logging.INFO,
                                             event="daemon.escalated", fields={"tracker": "jira", "ticket": "SD-1"}))
    assert line == "2026-03-02T01:00:00.250Z INFO daemon.escalated tracker=jira ticket=SD-1"


def test_positional_text_is_not_what_the_line_says_the_fields_are() -> None:
    # `webhooks.accepted %s %s` used to read "webhooks.accepted jira 10002"
    line = KeyValueFormatter().format(record("webhooks.accepted %s %s", ("jira", "10002"), level=logging.INFO,
                                             event="webhooks.accepted",
                                             fields={"tracker": "jira", "ticket": "10002"}))
    assert line.endswith(" INFO webhooks.accepted tracker=jira ticket=10002")


def test_a_library_line_without_an_event_keeps_its_message_under_the_loggers_name() -> None:
    line = KeyValueFormatter().format(record("Connection pool is full, discarding connection: %s", ("x",)))
    assert line == ('2026-03-02T01:00:00.250Z WARNING escalator.jira '
                    'msg="Connection pool is full, discarding connection: x"')


def test_values_that_would_break_the_line_are_quoted() -> None:
    line = KeyValueFormatter().format(record(event="e.x", a='say "hi"', b="k=v", c="", d=None, e=True,
                                             f=["OPS", "NOC"], g="line\nbreak"))
    assert line.split(" ", 3)[3] == r'a="say \"hi\"" b="k=v" c="" d=null e=true f=OPS,NOC g="line\nbreak"'


def test_json_lines_parse_and_keep_their_types() -> None:
    line = JsonFormatter().format(record(event="daemon.pass", level=logging.INFO,
                                         fields={"tracker": "jira", "read": 3, "level": 2, "next": None}))
    data = json.loads(line)
    assert data == {"time": "2026-03-02T01:00:00.250Z", "level": "INFO", "event": "daemon.pass",
                    "logger": "escalator.jira", "tracker": "jira", "read": 3, "field_level": 2, "next": None}


def test_an_exception_is_kept_whole() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        rec = record(event="daemon.pass-failed", level=logging.ERROR)
        rec.exc_info = sys.exc_info()
    assert "RuntimeError: boom" in json.loads(JsonFormatter().format(rec))["exception"]
    text = KeyValueFormatter().format(rec)
    assert text.splitlines()[0].endswith("ERROR daemon.pass-failed") and text.endswith("RuntimeError: boom")


def test_the_cli_logs_in_json_when_asked(tmp_path) -> None:
    from plugin.cli.main import main

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = []  # as in a real process: no handler of pytest's
    try:
        path = tmp_path / "escalator.yaml"
        path.write_text("tracker: {kind: zammad, url: 'http://127.0.0.1:9', token: {env: T}}\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["--log-format", "json", "run", "--config", str(path)])
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        root.handlers[:] = saved
    # a failed start is a log event too (under a service manager the log is what is read)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines] == ["daemon.start-failed"], result.stderr
    assert lines[0]["time"].endswith("Z") and "no mapping file yet" in lines[0]["error"]
    assert result.exit_code == 2
