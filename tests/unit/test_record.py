"""Routing every default category to its support group, and the §4.1.4 record's missing facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mapping.incident import Incident
from mapping.loader import load_procedure
from mapping.procedure import Category
from mapping.procedure_schema import validated
from mapping.record import missing_facts, route

PROC = load_procedure()
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

# the default profile's routing, written out: category code -> support group
ROUTES = {
    "1": "service_desk", "1.1": "video", "1.2": "network", "1.3": "desktop", "1.4": "server",
    "1.5": "minicomputer", "1.6": "storage", "1.7": "application", "1.8": "infrastructure",
    "2": "service_desk", "2.1": "video", "2.2": "video", "2.3": "network", "2.4": "desktop", "2.5": "server",
    "2.6": "minicomputer", "2.7": "storage", "2.8": "application", "2.9": "infrastructure",
    "3": "asset", "3.1": "asset", "3.2": "asset", "3.3": "network",
    "4": "application", "4.1": "application",
    "5": "service_desk",
}


def test_the_table_lists_every_default_category() -> None:
    assert sorted(ROUTES) == sorted(c.code for c in PROC.all_categories())


@pytest.mark.parametrize("code,group", ROUTES.items())
def test_route(code: str, group: str) -> None:
    assert route(PROC, code) == group


def test_a_child_without_a_group_goes_to_its_parents() -> None:
    orphan = validated(Category, {"code": "3.9", "name": {"zh": "其他", "en": "other"}})
    cats = tuple(replace(c, children=(*c.children, orphan)) if c.code == "3" else c
                 for c in PROC.categories)
    proc = replace(PROC, categories=cats)
    assert route(proc, "3.9") == "asset"


def test_unknown_category_routes_nowhere() -> None:
    assert route(PROC, "9.9") is None
    assert route(PROC, "") is None


FULL = {"recorded_by": "desk-wang", "reporter": "Zhang San", "contact": "+86 10 5555 0100",
        "occurred_at": "2026-11-20T08:40+08:00", "affected_ci": "core-sw-01", "symptom": "link down, error 0x1F"}


def incident(facts: dict[str, str | None], severity: int | None = 2) -> Incident:
    return Incident(tracker="jira", id="1", ref="OPS-1", reported_at=T0, updated_at=T0, state=1,
                    severity=severity, facts=facts)


def test_a_complete_record_lacks_nothing() -> None:
    assert missing_facts(incident(FULL), PROC) == []


@pytest.mark.parametrize("key", sorted(FULL))
@pytest.mark.parametrize("absent", ["drop", None, "", "   \t"])
def test_each_fact_missing(key: str, absent: str | None) -> None:
    facts = {k: v for k, v in FULL.items() if k != key}
    if absent != "drop":
        facts[key] = absent
    assert missing_facts(incident(facts), PROC) == [key]


def test_impact_comes_from_the_severity_and_order_follows_the_procedure() -> None:
    assert missing_facts(incident({}, severity=None), PROC) == [
        "recorded_by", "reporter", "contact", "occurred_at", "affected_ci", "symptom", "impact"]
