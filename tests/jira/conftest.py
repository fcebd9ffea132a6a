"""Shared set-up of the Jira tests: fixture payloads, a mapping file, configs per flavour."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.http import RetryPolicy
from connectors.jira.factory import make_connector
from mapping.fieldmap import TrackerMapping
from mapping.loader import load_procedure
from plugin.config import Config
from sandbox.jira import JiraSandbox, Workflow, WorkflowTransition

FIXTURES = Path(__file__).parent / "fixtures"
CLOUD = "https://your-domain.atlassian.net"
DC = "https://jira.example.com"
TOKEN = "tok-5f2b9c1e-never-shown"
TOKEN_ENV = "ESCALATOR_TEST_JIRA_TOKEN"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def mapping_data(flavour: str = "cloud", base_url: str = CLOUD) -> dict:
    return {
        "tracker": "jira", "base_url": base_url, "flavour": flavour,
        "projects": ["OPS"], "issue_types": ["10010"],
        "severity": {"source": "field", "field": "customfield_10050",
                     "values": {1: "10100", 2: "10101", 3: "10102", 4: "10103"}},
        "category": {"field": "customfield_10051", "values": {"1": "10200", "1.1": "10201", "1.2": "10202"}},
        "escalation_level": {"field": "customfield_10052",
                             "values": {0: "10300", 1: "10301", 2: "10302", 3: "10303"}},
        "states": {1: ["10001"], 2: ["10002"], 3: ["3"], 4: ["10004"], 5: ["10005"], 6: ["10006"], 7: ["10007"]},
    }


def make_mapping(flavour: str = "cloud", **override: Any) -> TrackerMapping:
    data = mapping_data(flavour, CLOUD if flavour == "cloud" else DC)
    data.update(override)
    return TrackerMapping.model_validate(data)


def make_config(flavour: str = "cloud", url: str | None = None, **tracker: Any) -> Config:
    section: dict[str, Any] = {"kind": "jira", "flavour": flavour, "url": url or (CLOUD if flavour == "cloud" else DC),
                               "token": {"env": TOKEN_ENV}, "projects": ["OPS"], "page_size": 2}
    if flavour == "cloud":
        section["email"] = "bot@example.com"
    section.update(tracker)
    return Config.model_validate({"tracker": section})


class Sleeps(list):
    """Stands in for time.sleep: records the delays asked for, waits for none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def procedure():
    return load_procedure()


def transport(sleeps: Sleeps) -> dict:
    return {"sleep": sleeps, "rng": random.Random(7), "retry": RetryPolicy(attempts=3, base=0.5)}


@pytest.fixture
def cloud(sleeps: Sleeps, procedure):
    return make_connector(make_config("cloud").tracker_settings(), make_mapping("cloud"), **transport(sleeps))


@pytest.fixture
def dc(sleeps: Sleeps, procedure):
    return make_connector(make_config("datacenter").tracker_settings(), make_mapping("datacenter"), **transport(sleeps))


# -- the sandbox Jira, for end-to-end tests -------------------------------------------------
SANDBOX_TOKEN = "sandbox-token"
ENV = "ESCALATOR_E2E_JIRA_TOKEN"
STATES = {1: ["Open"], 3: ["In Progress"], 4: ["Waiting for vendor"], 5: ["Waiting for customer"],
          6: ["Resolved"], 7: ["Closed"]}


class Clock:
    """The sandbox's clock: fixed, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: float = 1) -> None:
        self.now += timedelta(minutes=minutes)


def procedure_workflow() -> Workflow:
    return Workflow("Open", [
        WorkflowTransition("11", "Dispatch", "已派单", ("Open",)),
        WorkflowTransition("21", "Start", "In Progress", ("已派单",)),
        WorkflowTransition("31", "Wait for vendor", "Waiting for vendor", ("In Progress",)),
        WorkflowTransition("41", "Wait for customer", "Waiting for customer", ("In Progress",)),
        WorkflowTransition("51", "Resolve", "Resolved", ("In Progress", "Waiting for vendor", "Waiting for customer")),
        WorkflowTransition("61", "Archive", "Closed", ("Resolved",)),
        WorkflowTransition("71", "Back to desk", "Open", ("已派单", "In Progress")),
    ])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock):
    sb = JiraSandbox("cloud", token=SANDBOX_TOKEN, clock=clock, time_zone="Asia/Shanghai")
    sb.add_status("已派单", "indeterminate", id="10100")  # an explicit id: see the report on id clashes
    sb.set_workflow("SD", procedure_workflow())
    with sb:
        yield sb


def config_file(tmp_path: Path, sb: JiraSandbox, monkeypatch, **extra) -> Path:
    monkeypatch.setenv(ENV, SANDBOX_TOKEN)
    tracker = {"kind": "jira", "flavour": sb.flavour, "url": sb.base_url, "token": {"env": ENV},
               "projects": ["SD"], "issue_types": ["Incident"], "states": STATES, "page_size": 2}
    if sb.flavour == "cloud":
        tracker["email"] = "bot@example.com"
    tracker.update(extra)
    path = tmp_path / "escalator.yaml"
    path.write_text(yaml.safe_dump({"tracker": tracker, "mapping_file": "mapping.yaml"}), encoding="utf-8")
    return path


def dc_fields_and_mapping(sb: JiraSandbox) -> tuple[TrackerMapping, str, list[str]]:
    """The three fields on a Data Center sandbox, made by hand as an admin would (REST cannot
    make their options there), and the mapping onto them: (mapping, severity field, its option ids)."""
    sev_field = sb.create_custom_field("Incident severity 事件级别", "select", searcher="multiselectsearcher")
    cat_field = sb.create_custom_field("Incident category 事件分类", "cascadingselect")
    lvl_field = sb.create_custom_field("Escalation level 升级级别", "select", searcher="multiselectsearcher")
    sev = sb.add_options(sev_field, ["1", "2", "3", "4"])
    lvl = sb.add_options(lvl_field, ["0", "1", "2", "3"])
    cat = sb.add_options(cat_field, ["1"])
    mapping = TrackerMapping(
        tracker="jira", base_url=sb.base_url, flavour="datacenter", projects=["SD"], issue_types=["10001"],
        severity={"field": sev_field, "values": dict(enumerate(sev, start=1))},
        category={"field": cat_field, "values": {"1": cat[0]}},
        escalation_level={"field": lvl_field, "values": dict(enumerate(lvl))},
        states={1: ["1"], 2: [], 3: ["3"], 4: ["10001"], 5: ["10000"], 6: ["5"], 7: ["6"]})
    return mapping, sev_field, sev


@pytest.fixture
def dc_sandbox(clock):
    sb = JiraSandbox("datacenter", token=SANDBOX_TOKEN, clock=clock, time_zone="Asia/Shanghai")
    with sb:
        yield sb
