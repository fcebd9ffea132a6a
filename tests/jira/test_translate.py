"""Jira issue + changelog -> Incident / Unreadable, and the note bodies (ADF, wiki markup)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from connectors.base import marker_text
from connectors.jira.adf import adf_note, body_text, wiki_note
from connectors.jira.translate import Translator, parse_time
from mapping.incident import Incident, Unreadable
from tests.jira.conftest import load, make_mapping


def _issue(**fields) -> dict:
    issue = copy.deepcopy(load("cloud_search_page1.json")["issues"][0])
    issue["fields"].update(fields)
    return issue


def _translate(issue: dict, histories: list[dict] | None = None, mapping=None):
    return Translator(mapping or make_mapping(), lambda u: (u or {}).get("accountId")).translate(issue, histories or [])


def test_no_history_means_current_values_from_the_report_time() -> None:
    one = _translate(_issue())
    assert isinstance(one, Incident)
    assert [(c.state, c.at) for c in one.state_history] == [(3, datetime(2026, 3, 2, 1, tzinfo=UTC))]
    assert [c.severity for c in one.severity_history] == [3]
    assert one.escalations == () and one.manual_requests == ()  # labels alone are no request: history is


@pytest.mark.parametrize(("fields", "needle"), [
    ({"customfield_10050": {"id": "99999", "value": "P0"}}, "severity value '99999'"),
    ({"customfield_10052": {"id": "77777", "value": "L9"}}, "escalation level value '77777'"),
    ({"customfield_10051": {"id": "10200", "value": "1", "child": {"id": "55555", "value": "x"}}},
     "category value '55555'"),
    ({"status": {"id": "424242", "name": "Limbo"}}, "status id '424242'"),
])
def test_values_that_map_to_nothing_are_unreadable(fields, needle) -> None:
    result = _translate(_issue(**fields))
    assert isinstance(result, Unreadable)
    assert result.ref == "OPS-1" and result.reason.startswith("OPS-1: ") and needle in result.reason


def test_no_severity_set_reads_as_severity_none_like_zammad() -> None:
    one = _translate(_issue(customfield_10050=None))
    assert isinstance(one, Incident)
    assert one.severity is None and one.severity_history == ()
    assert one.facts["impact"] is None  # the record check lists the missing impact


def test_a_severity_set_later_starts_the_history_there() -> None:
    history = [{"id": "1", "created": "2026-03-02T01:10:00.000+0000", "author": None,
                "items": [{"fieldId": "customfield_10050", "field": "Severity", "from": None, "to": "10101"}]}]
    one = _translate(_issue(customfield_10050={"id": "10101", "value": "P2"}), history)
    assert isinstance(one, Incident)
    assert [(c.severity, c.at) for c in one.severity_history] == [(2, datetime(2026, 3, 2, 1, 10, tzinfo=UTC))]


def test_unmapped_status_in_history_is_unreadable_too() -> None:
    history = [{"id": "1", "created": "2026-03-02T01:10:00.000+0000", "author": None,
                "items": [{"fieldId": "status", "field": "status", "from": "555", "to": "3"}]}]
    result = _translate(_issue(), history)
    assert isinstance(result, Unreadable) and "'555'" in result.reason


def test_report_time_and_contract_from_mapped_fields() -> None:
    mapping = make_mapping(report_time={"field": "customfield_10060"}, contract={"field": "customfield_10061"})
    one = _translate(_issue(customfield_10060="2026-03-02T00:30:00.000+0000",
                            customfield_10061={"id": "1", "value": "24x7"}), mapping=mapping)
    assert one.reported_at == datetime(2026, 3, 2, 0, 30, tzinfo=UTC) and one.contract == "24x7"


def test_missing_record_facts_are_none() -> None:
    one = _translate(_issue(description=None, reporter=None))
    assert one.facts["symptom"] is None and one.facts["reporter"] is None and one.facts["contact"] is None


def test_cascading_parent_only_maps_to_the_level_one_code() -> None:
    one = _translate(_issue(customfield_10051={"id": "10200", "value": "1 合同服务"}))
    assert one.category == "1"


def test_parse_time_forms() -> None:
    assert parse_time("2026-03-02T09:00:00.000+0800") == datetime(2026, 3, 2, 1, tzinfo=UTC)
    assert parse_time(1492070429) == datetime(2017, 4, 13, 8, 0, 29, tzinfo=UTC)  # the spec's own example
    assert parse_time(1492070429000) == parse_time(1492070429)
    assert parse_time(None) is None


def test_adf_note_has_paragraphs_breaks_and_a_grey_marker_line() -> None:
    doc = adf_note("Line one\nline two\n\nSecond paragraph", "escalation-L2")
    assert doc["type"] == "doc" and doc["version"] == 1
    first, second, mark = doc["content"]
    assert [n["type"] for n in first["content"]] == ["text", "hardBreak", "text"]
    assert second["content"][0]["text"] == "Second paragraph"
    assert mark["content"][0]["marks"][0]["type"] == "textColor"
    assert marker_text("escalation-L2") in body_text(doc)


def test_wiki_note_escapes_formatting_characters() -> None:
    body = wiki_note("*not bold* and _not italic_", "m")
    assert body.startswith(r"\*not bold\* and \_not italic\_")
    assert body_text(body).startswith("*not bold* and _not italic_")


@pytest.mark.parametrize(("value", "unknown"), [({"id": "1", "value": "Yes"}, True), ("否", False), (None, False)])
def test_root_cause_unknown_from_its_mapped_field(value, unknown) -> None:
    mapping = make_mapping(root_cause_unknown={"field": "customfield_10070"})
    assert _translate(_issue(customfield_10070=value), mapping=mapping).root_cause_unknown is unknown


def test_acknowledgements_and_support_groups_from_the_changelog() -> None:
    mapping = make_mapping()
    mapping.support_group.field = "customfield_10060"
    pm = {"accountId": "acc-pm", "displayName": "Li PM"}
    history = [
        {"id": "1", "created": "2026-03-02T01:20:00.000+0000", "author": pm,
         "items": [{"fieldId": "labels", "field": "labels", "fromString": "vip", "toString": "escalation-acknowledged vip"}]},
        {"id": "2", "created": "2026-03-02T01:30:00.000+0000", "author": pm,
         "items": [{"fieldId": "customfield_10060", "field": "Support group 支持组", "from": "1", "fromString": "Desk",
                    "to": "2", "toString": "Network"}]},
        # removed and added again: a second acknowledgement (of a later escalation)
        {"id": "3", "created": "2026-03-02T02:00:00.000+0000", "author": pm,
         "items": [{"fieldId": "labels", "field": "labels", "fromString": "vip", "toString": "escalation-acknowledged vip"}]},
    ]
    one = _translate(_issue(customfield_10060={"id": "2", "value": "Network"}), history, mapping)
    assert isinstance(one, Incident)
    assert [(a.by, a.by_name, a.at.minute) for a in one.acknowledgements] == [("acc-pm", "Li PM", 20),
                                                                             ("acc-pm", "Li PM", 0)]
    assert one.group == "Network"
    assert [(g.group, g.at.minute) for g in one.group_history] == [("Desk", 0), ("Network", 30)]
    # without the field mapped, no group is read at all
    bare = _translate(_issue(customfield_10060={"id": "2", "value": "Network"}), history)
    assert bare.group is None and bare.group_history == ()
