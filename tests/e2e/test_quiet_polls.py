"""After a burst of changes, a quiet tracker's polls cost one search page again once the overlap
window has passed (`connectors.base.Cursor.read_at`, reckoned by the tracker's `Date`), and
nothing is missed for it: a later change, and a ticket the search index shows late, are read.

The connector reads the sandbox over HTTP; the sandbox's clock stands still between steps, so
each read's `Date` is exactly the clock the test set.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from connectors.base import Cursor

pytestmark = pytest.mark.e2e

BURST = 25
PAGE = 10  # a burst of 25 is three pages
SEARCH = {"jira": r"/search/jql$", "jira-dc": r"/rest/api/2/search$", "zammad": r"/tickets/search$"}


def poll(site, reader, cursor: Cursor) -> tuple[list[str], int]:
    """(refs read, search pages asked for) of one incremental read."""
    search = SEARCH["jira-dc" if getattr(site.sandbox, "flavour", None) == "datacenter" else site.kind]
    before = site.sandbox.calls_to(search)
    refs = [item.ref for item in reader.read_changed(cursor)]
    return refs, site.sandbox.calls_to(search) - before


@pytest.mark.parametrize("site", ["jira", "jira-dc", "zammad"], indirect=True)
def test_quiet_polls_after_a_burst_cost_one_page_once_the_overlap_has_passed(site, clock):
    reader = site.reader()
    reader.page_size = PAGE
    cursor = Cursor()
    list(reader.read_changed(cursor))  # the first, full read
    # the sandbox's Date (its clock, whole seconds) less the round trip
    assert clock.now() - timedelta(seconds=5) < cursor.read_at <= clock.now()

    clock.advance(45)  # off the minute: JQL floors its dates to the minute
    burst = [site.create(f"burst {i}", 3, "24x7").ref for i in range(BURST)]
    clock.advance(30)
    refs, pages = poll(site, reader, cursor)
    assert sorted(refs) == sorted(burst) and pages == 3

    # polls a minute apart: the first two still page through the burst (it is within two minutes
    # of the read before them), every later one is a single page with nothing in it
    costs = []
    for _ in range(5):
        clock.advance(60)
        refs, pages = poll(site, reader, cursor)
        assert refs == []
        costs.append(pages)
    assert costs == [3, 3, 1, 1, 1]

    # quiet for an hour, then a person's change: read, on one page
    clock.advance(3600)
    site.lower_severity(site.seeded[3], 4)
    clock.advance(5)
    refs, pages = poll(site, reader, cursor)
    assert refs == [burst[3]] and pages == 1


@pytest.mark.parametrize("site", ["jira"], indirect=True)
def test_a_ticket_the_search_shows_late_is_read_by_the_next_poll_however_late(site, clock):
    # Jira Cloud's search shows an issue created over REST some seconds after (sandbox: 5 s); a
    # poll in that gap misses it, and the next poll, an hour later, still asks from before it
    reader = site.reader()
    cursor = Cursor()
    list(reader.read_changed(cursor))
    clock.advance(600)
    site.sandbox.add_user("Ada Admin", "ada@example.com", token="ada-token", name="ada")
    answer = requests.post(f"{site.sandbox.base_url}/rest/api/3/issue", auth=("ada@example.com", "ada-token"),
                           json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Incident"},
                                            "summary": "filed by REST"}}, timeout=30)
    assert answer.status_code == 201, answer.text
    clock.advance(1)
    refs, _ = poll(site, reader, cursor)
    assert answer.json()["key"] not in refs  # not in the search index yet
    clock.advance(timedelta(hours=1))
    refs, pages = poll(site, reader, cursor)
    assert refs == [answer.json()["key"]] and pages == 1
