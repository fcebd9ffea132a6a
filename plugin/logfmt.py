"""Log output for people and for machines: every line an event name with its fields.

Modules log a stable dotted event name and their facts in `extra=`
(`log.info("jira.field-set", extra={"event": ..., "key": "OPS-1", ...})`; the daemon
puts its facts in one `fields` dict). A line is made of those, never of the message's
free text, so that it parses the same way whatever the module:

- `text` (the default): `2026-03-02T01:00:00.123Z INFO daemon.escalated tracker=jira
  ticket=OPS-1 level=2`; values are quoted (JSON string rules) when they hold spaces,
  quotes or `=`;
- `json`: one object per line, `{"time": ..., "level": ..., "event": ..., "logger": ...,
  <fields>}`, for a log shipper.

Times are UTC with a `Z`, to the millisecond: the values in the fields are UTC too,
and a line read on a machine in another zone means the same. A record without an
event name (from a library) keeps its message as `msg=`, under the logger's name.
An exception's traceback follows the text line, or is the `exception` field in JSON.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

Format = Literal["text", "json"]

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# the event name, and the dict that holds the daemon's fields
_SKIP = {"event", "fields"}
# keys of a JSON line itself: a field of the same name is written as `field_<name>`
_RESERVED = {"time", "level", "event", "logger", "msg", "exception"}


def timestamp(record: logging.LogRecord) -> str:
    """The record's time, UTC, ISO 8601 with a `Z` and milliseconds."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def structured(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """(event name, fields) of a record: `fields` (the daemon's) first, then other extras."""
    fields: dict[str, Any] = {}
    own = getattr(record, "fields", None)
    if isinstance(own, dict):
        fields.update(own)
    fields.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and k not in _SKIP)
    event = getattr(record, "event", None)
    if not event:
        event = record.name
        fields = {"msg": record.getMessage(), **fields}
    return str(event), fields


def _plain(value: Any) -> Any:
    """A value as it goes into a line: datetimes in ISO, sequences joined, the rest as is."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(_plain(v)) for v in value)
    return value


def _text_value(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return "null"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if not text or any(c in text for c in ' "=\n\t\\'):
        return json.dumps(text, ensure_ascii=False)
    return text


class KeyValueFormatter(logging.Formatter):
    """`time LEVEL event key=value ...`, one line (a traceback follows on its own lines)."""

    def format(self, record: logging.LogRecord) -> str:
        event, fields = structured(record)
        parts = [timestamp(record), record.levelname, event]
        parts += [f"{k}={_text_value(v)}" for k, v in fields.items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        event, fields = structured(record)
        data: dict[str, Any] = {"time": timestamp(record), "level": record.levelname, "event": event,
                                "logger": record.name}
        for key, value in fields.items():
            if key in data or (key in _RESERVED and key != "msg"):
                key = f"field_{key}"
            value = _plain(value)
            data[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": KeyValueFormatter, "json": JsonFormatter}


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (click's test runner swaps it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure(level: int, fmt: Format = "text") -> None:
    """Log to stderr at `level`, in `fmt`.

    Like `logging.basicConfig`, this leaves a logging set-up that someone else made
    (an embedding application, pytest's capture) alone.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _StderrHandler)]
    if root.handlers and not ours:
        return
    if not ours:
        ours = [_StderrHandler()]
        root.addHandler(ours[0])
    ours[0].setFormatter(FORMATTERS[fmt]())
    root.setLevel(level)
