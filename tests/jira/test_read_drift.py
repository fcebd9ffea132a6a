"""An issue updated while a read pages must not make another issue slip between two pages.

Jira pages by offset over `ORDER BY updated` (`startAt` on Data Center, a `nextPageToken`
standing for an offset on Cloud): the edited issue moves to the end and every later issue
shifts left by one. End to end against the sandbox Jira, both flavours.
"""

from __future__ import annotations

import pytest

from connectors.base import Cursor
from connectors.jira.factory import make_connector, make_provisioner
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident
from plugin.config import load_config
from tests.jira.conftest import Sleeps, config_file, transport

pytestmark = pytest.mark.e2e


def _dc_mapping(sb) -> TrackerMapping:
    # Jira DC has no REST resource for field options: the admin creates them by hand
    sev = sb.create_custom_field("Incident severity 事件级别", "select", searcher="multiselectsearcher")
    cat = sb.create_custom_field("Incident category 事件分类", "cascadingselect")
    lvl = sb.create_custom_field("Escalation level 升级级别", "select", searcher="multiselectsearcher")
    sev_ids, lvl_ids, cat_ids = sb.add_options(sev, ["1", "2", "3", "4"]), sb.add_options(lvl, ["0", "1", "2", "3"]), \
        sb.add_options(cat, ["1"])
    return TrackerMapping(
        tracker="jira", base_url=sb.base_url, flavour="datacenter", projects=["SD"], issue_types=["10001"],
        severity={"field": sev, "values": dict(enumerate(sev_ids, start=1))},
        category={"field": cat, "values": {"1": cat_ids[0]}},
        escalation_level={"field": lvl, "values": dict(enumerate(lvl_ids))},
        states={1: ["1"], 2: [], 3: ["3"], 4: ["10001"], 5: ["10000"], 6: ["5"], 7: ["6"]})


@pytest.fixture(params=["cloud", "datacenter"])
def world(request, tmp_path, monkeypatch, procedure, clock):
    sb = request.getfixturevalue("sandbox" if request.param == "cloud" else "dc_sandbox")
    config = load_config(config_file(tmp_path, sb, monkeypatch))  # page size 2
    if request.param == "cloud":
        provisioner = make_provisioner(config.tracker_settings(), procedure)
        mapping, _ = provisioner.apply(provisioner.plan())
    else:
        mapping = _dc_mapping(sb)
    conn = make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))
    return sb, conn


def _edit_after_first_page(conn, action) -> None:
    """Run `action` (a person's edit) right after the first search page has been answered."""
    search, pages = conn.client.search, []

    def searching(*args, **kw):
        page = search(*args, **kw)
        pages.append(page)
        if len(pages) == 1:
            action()
        return page

    conn.client.search = searching


def test_an_issue_updated_mid_read_makes_no_other_issue_slip(world, clock) -> None:
    sb, conn = world
    keys = []
    for n in range(5):
        clock.tick(1)
        keys.append(sb.create_issue("SD", "Incident", f"Incident {n + 1}"))
    sd1, sd3 = keys[0], keys[2]

    def edit_sd1() -> None:
        clock.tick(1)
        sb.edit_issue(sd1, {"summary": "Incident 1, edited"})

    _edit_after_first_page(conn, edit_sd1)
    cursor = Cursor()
    results = list(conn.read_changed(cursor))
    refs = [r.ref for r in results]

    assert sd3 in refs  # it had slipped between page 1 and page 2
    assert sorted(set(refs)) == sorted(keys)
    # each version at most once, the edited one last; nobody else twice (Data Center yields
    # SD-1 as first read and as edited; Cloud, holding pages for one changelog call, only
    # the edited version)
    assert all(refs.count(k) == 1 for k in keys[1:])
    sd1_titles = [r.title for r in results if r.ref == sd1]
    assert sd1_titles in (["Incident 1", "Incident 1, edited"], ["Incident 1, edited"])
    assert all(isinstance(r, Incident) for r in results)
    # the cursor holds every version: nothing more to read
    assert list(conn.read_changed(cursor)) == []


def test_without_an_edit_a_read_is_a_single_pass(world, clock) -> None:
    sb, conn = world
    for n in range(5):
        clock.tick(1)
        sb.create_issue("SD", "Incident", f"Incident {n + 1}")
    before = len(sb.calls)
    assert len(list(conn.read_changed(Cursor()))) == 5
    assert len([c for c in sb.calls[before:] if "/search" in c.path]) == 3  # ⌈5 / 2⌉ pages, once
