"""connectors/paging.py: one paginator for every paged read, one behaviour when a server loops."""

from __future__ import annotations

import pytest

from connectors.http import TrackerError
from connectors.paging import PagingLoop, by_number, by_offset, by_token


class Server:
    """Answers pages from a table and records what was asked."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.asked: list = []

    def __call__(self, position):
        self.asked.append(position)
        return self.answers[position]


def test_offset_paging_reads_to_the_total_and_asks_from_where_it_stands() -> None:
    server = Server({0: {"comments": [1, 2], "total": 5}, 2: {"comments": [3, 4], "total": 5},
                     4: {"comments": [5], "total": 5}})
    assert list(by_offset("jira", "GET", "/c", server, key="comments")) == [1, 2, 3, 4, 5]
    assert server.asked == [0, 2, 4]


def test_offset_paging_of_a_page_bean_stops_at_is_last_and_on_an_empty_page() -> None:
    bean = Server({0: {"values": ["a"], "isLast": False}, 1: {"values": ["b"], "isLast": True}})
    assert list(by_offset("jira", "GET", "/s", bean, key="values", total=None, last="isLast")) == ["a", "b"]
    # an answer without isLast is the whole resource (Jira leaves it out on a single page)
    single = Server({0: {"values": ["a"]}})
    assert list(by_offset("jira", "GET", "/s", single, key="values", total=None, last="isLast")) == ["a"]
    empty = Server({0: {"comments": [], "total": 9}})
    assert list(by_offset("jira", "GET", "/c", empty, key="comments")) == [] and empty.asked == [0]


def test_numbered_paging_stops_on_a_short_page_or_at_the_total() -> None:
    server = Server({1: [1, 2], 2: [3, 4], 3: [5]})
    assert list(by_number("zammad", "GET", "/groups", server, size=2)) == [1, 2, 3, 4, 5]
    assert server.asked == [1, 2, 3]
    exact = Server({1: {"options": [1, 2], "total": 4}, 2: {"options": [3, 4], "total": 4}})
    assert list(by_number("jira", "GET", "/o", exact, size=2, key="options", total="total")) == [1, 2, 3, 4]
    assert exact.asked == [1, 2]  # no third call for an empty page: the total said it was all


def test_token_paging_asks_first_without_a_token_and_follows_each_one() -> None:
    server = Server({None: {"issues": [1], "nextPageToken": "t1", "isLast": False},
                     "t1": {"issues": [2], "nextPageToken": "t2", "isLast": False},
                     "t2": {"issues": [3], "isLast": True, "nextPageToken": "ignored"}})
    assert list(by_token("jira", "POST", "/search/jql", server, key="issues")) == [1, 2, 3]
    assert server.asked == [None, "t1", "t2"]
    no_last = Server({None: {"issueChangeLogs": [1], "nextPageToken": "t1"}, "t1": {"issueChangeLogs": [2]}})
    assert list(by_token("jira", "POST", "/changelog/bulkfetch", no_last, key="issueChangeLogs", last=None)) == [1, 2]


def test_pages_are_read_only_as_far_as_the_caller_goes() -> None:
    server = Server({0: {"comments": ["a"], "total": 3}, 1: {"comments": ["b"], "total": 3}})
    assert "a" in iter(by_offset("jira", "GET", "/c", server, key="comments"))
    assert server.asked == [0]


def test_pages_come_whole_with_their_items() -> None:
    server = Server({None: {"issues": [1], "names": {"f": "F"}, "nextPageToken": "t"}, "t": {"issues": [2]}})
    pages = list(by_token("jira", "POST", "/s", server, key="issues").pages())
    assert [(answer.get("names"), items) for answer, items in pages] == [({"f": "F"}, [1]), (None, [2])]


def test_a_token_handed_back_twice_is_a_typed_error_naming_the_endpoint() -> None:
    server = Server({None: {"issues": [1], "nextPageToken": "A"}, "A": {"issues": [2], "nextPageToken": "B"},
                     "B": {"issues": [3], "nextPageToken": "A"}})
    read: list = []
    with pytest.raises(PagingLoop) as err:
        read.extend(by_token("jira", "POST", "/rest/api/3/search/jql", server, key="issues"))
    assert read == [1, 2, 3] and server.asked == [None, "A", "B"]  # stops at once, asks nothing twice
    assert str(err.value).startswith("jira: POST /rest/api/3/search/jql: page 4 would start where an earlier")
    assert isinstance(err.value, TrackerError) and (err.value.method, err.value.path) == \
        ("POST", "/rest/api/3/search/jql")


@pytest.mark.parametrize("make", [
    lambda server: by_number("zammad", "GET", "/api/v1/tickets/search", server, size=2),
    lambda server: by_offset("zammad", "GET", "/api/v1/tickets/search", server, key=None, total=None),
])
def test_a_server_ignoring_the_paging_is_the_same_error(make) -> None:
    class Deaf(Server):
        def __call__(self, position):
            self.asked.append(position)
            return [{"id": 5}, {"id": 6}]  # whatever page is asked for

    server = Deaf({})
    read: list = []
    with pytest.raises(PagingLoop, match=r"^zammad: GET /api/v1/tickets/search: page 2 came back the same as "
                                         r"page 1: the server ignores paging"):
        read.extend(make(server))
    assert read == [{"id": 5}, {"id": 6}] and len(server.asked) == 2

