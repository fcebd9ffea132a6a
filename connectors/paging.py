"""One way to read a paged resource: ask for a page, take its items, find the next, stop.

Jira and Zammad page three ways: an offset (`startAt`, Jira), a page number (`page`,
Zammad and Jira Data Center's field options) and an opaque token (`nextPageToken`,
Jira Cloud's search and bulk changelog). A `Paginator` is told how to ask for a page at
a position, how to take its items and how to find the next position (None after the
last page); the three constructors below build it for each way.

A server can send a client round in circles: hand back a page token it already gave,
or ignore the paging parameters and answer every page like the first. Every paged read
guards against both the same way: it raises `PagingLoop`, naming the endpoint, instead
of looping for ever or stopping quietly with part of the data.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

from connectors.http import TrackerError

Fetch = Callable[[Any], Any]  # position -> the page's answer


class PagingLoop(TrackerError):
    """A server answered a page with one it had already given: following it would never end."""


class Paginator:
    """One paged read of one endpoint.

    `fetch(position)` asks for the page at `position`; `items(answer)` takes the page's
    items; `following(answer, position, items)` is where the next page starts, or None
    after the last. Positions must be hashable: one already visited, or a non-empty page
    equal to the page before it, raises `PagingLoop`.
    """

    def __init__(self, tracker: str, method: str, path: str, fetch: Fetch, *, start: Hashable,
                 items: Callable[[Any], list], following: Callable[[Any, Any, list], Hashable | None]):
        self.tracker, self.method, self.path = tracker, method, path
        self.fetch = fetch
        self.start = start
        self.items = items
        self.following = following

    def pages(self) -> Iterator[tuple[Any, list]]:
        """(answer, items) per page, in order, until the last."""
        position: Hashable = self.start
        visited = {position}
        previous: list | None = None
        number = 1
        while True:
            answer = self.fetch(position)
            items = self.items(answer)
            if items and items == previous:
                raise self._loop(f"page {number} came back the same as page {number - 1}: the server ignores paging")
            yield answer, items
            position = self.following(answer, position, items)
            if position is None:
                return
            if position in visited:
                raise self._loop(f"page {number + 1} would start where an earlier page did: the server handed "
                                 "back a page token it had already given")
            visited.add(position)
            previous, number = items, number + 1

    def __iter__(self) -> Iterator[Any]:
        """Every item of every page."""
        for _, items in self.pages():
            yield from items

    def _loop(self, what: str) -> PagingLoop:
        return PagingLoop(f"{self.tracker}: {self.method} {self.path}: {what}; stopped rather than loop for ever",
                          method=self.method, path=self.path)


def _answer_list(key: str | None) -> Callable[[Any], list]:
    """Items under `key` of a JSON object answer, or the answer itself when it is a bare array."""
    if key is None:
        return lambda answer: list(answer or [])
    return lambda answer: list((answer or {}).get(key) or [])


def by_offset(tracker: str, method: str, path: str, fetch: Callable[[int], Any], *, key: str,
              total: str | None = "total", last: str | None = None) -> Paginator:
    """Jira's `startAt`: the next page starts after the items read so far. Stops on an empty
    page, when `answer[last]` is true, or when the offset reaches `answer[total]`."""

    def following(answer: Any, start: int, items: list) -> int | None:
        answer = answer or {}
        nxt = start + len(items)
        if not items or (last and answer.get(last, True)) or (total and nxt >= int(answer.get(total) or 0)):
            return None
        return nxt

    return Paginator(tracker, method, path, fetch, start=0, items=_answer_list(key), following=following)


def by_number(tracker: str, method: str, path: str, fetch: Callable[[int], Any], *, size: int,
              key: str | None = None, total: str | None = None, first: int = 1) -> Paginator:
    """A page number from `first`: stops on a page shorter than `size` (the last one, as Zammad's
    index and search answers are), or once `answer[total]` items have been read."""

    def following(answer: Any, page: int, items: list) -> int | None:
        if len(items) < size:
            return None
        if total and (page - first + 1) * size >= int((answer or {}).get(total) or 0):
            return None
        return page + 1

    return Paginator(tracker, method, path, fetch, start=first, items=_answer_list(key), following=following)


def by_token(tracker: str, method: str, path: str, fetch: Callable[[str | None], Any], *, key: str,
             token: str = "nextPageToken", last: str | None = "isLast") -> Paginator:
    """Jira Cloud's opaque `nextPageToken`: the first page is asked without one; stops when an
    answer carries none or says `answer[last]`."""

    def following(answer: Any, _: Any, items: list) -> str | None:
        answer = answer or {}
        if last and answer.get(last):
            return None
        return answer.get(token) or None

    return Paginator(tracker, method, path, fetch, start=None, items=_answer_list(key), following=following)
