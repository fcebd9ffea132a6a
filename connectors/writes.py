"""A write whose answer never came: look on the ticket before anything is written again.

A POST that timed out after it was sent, whose connection was reset, or that drew a 5xx
may still have been stored. The transport never sends such a write twice
(`HttpClient.request(idempotent=False)`); the connector asks the ticket at once whether
it landed (a note by its marker) and so knows what happened, instead of leaving it to a
later pass. Both connectors treat every non-idempotent note this way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from connectors.http import ServerError, Unreachable

log = logging.getLogger("escalator.writes")

#: What leaves a write's outcome unknown: no answer (timeout, reset, refused) or a 5xx
#: after the request went out. Any other error is an answer: the write was refused.
AMBIGUOUS = (ServerError, Unreachable)

T = TypeVar("T")


def write_once(write: Callable[[], T], landed: Callable[[], bool], *, tracker: str,
               **fields: Any) -> T | None:
    """`write()`'s answer; None when the answer was lost but `landed()` finds the write on the
    ticket (logged as `<tracker>.answer-lost`); the error itself when it is not there."""
    try:
        return write()
    except AMBIGUOUS as err:
        if not landed():
            raise
        event = f"{tracker}.answer-lost"
        log.info(event, extra={"event": event, "error": str(err), "landed": True, **fields})
        return None
