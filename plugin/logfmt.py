"""Log output: the event name, then its structured fields as `key=value`.

Modules log a stable dotted event name as the message and their facts in `extra=`
(`log.info("jira.field-set", extra={"event": ..., "key": "OPS-1", ...})`). The
standard formatter would drop those fields; this one appends them, so that a line
says which ticket and why. Values are quoted when they hold spaces.
"""

from __future__ import annotations

import logging
import sys

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# already part of the message: the event name is the message, and the daemon's
# own lines carry their fields in the text
_SKIP = {"event", "fields"}


def _value(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{k}={_value(v)}" for k, v in vars(record).items() if k not in _STANDARD and k not in _SKIP]
        return f"{line} {' '.join(extras)}" if extras else line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (click's test runner swaps it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure(level: int) -> None:
    """Log to stderr at `level`, fields included.

    Like `logging.basicConfig`, this leaves a logging set-up that someone else made
    (an embedding application, pytest's capture) alone.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _StderrHandler)]
    if root.handlers and not ours:
        return
    if not ours:
        handler = _StderrHandler()
        handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
