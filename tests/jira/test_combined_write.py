"""`read_fresh` and `write` against the sandbox Jira (Cloud and Data Center): the issue with its
comments' markers and its changelog in one call, and a note with its values in one request —
stored whole, or refused whole with nothing stored."""

from __future__ import annotations

import pytest

from connectors.base import Change
from connectors.http import TrackerError
from connectors.jira.factory import make_connector, make_provisioner
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident
from plugin.config import load_config
from tests.jira.conftest import Sleeps, config_file, dc_fields_and_mapping, transport


@pytest.fixture
def cloud_conn(sandbox, tmp_path, monkeypatch, procedure):
    config = load_config(config_file(tmp_path, sandbox, monkeypatch))
    provisioner = make_provisioner(config.tracker_settings(), procedure)
    mapping, _ = provisioner.apply(provisioner.plan())
    return make_connector(config.tracker_settings(), mapping, **transport(Sleeps())), mapping


def _issue(sb, mapping: TrackerMapping, clock, severity: int = 2) -> str:
    key = sb.create_issue("SD", "Incident", "Core switch down",
                          fields={str(mapping.severity.field): {"id": mapping.severity.values[severity]}})
    clock.tick(1)
    return key


def test_cloud_read_fresh_is_one_call_and_the_note_lands_with_its_level(sandbox, cloud_conn, clock) -> None:
    conn, mapping = cloud_conn
    key = _issue(sandbox, mapping, clock)
    before = len(sandbox.calls)
    fresh = conn.read_fresh(key)
    assert [c.method for c in sandbox.calls[before:]] == ["GET"] and len(sandbox.calls) - before == 1
    assert isinstance(fresh.item, Incident) and fresh.markers == frozenset()

    before = len(sandbox.calls)
    assert conn.write(fresh.item, Change("升级至项目经理 / escalated", "escalation-L1", level=1)) is True
    assert [(c.method, c.path) for c in sandbox.calls[before:]] == [("PUT", f"/rest/api/3/issue/{key}")]
    issue = sandbox.issue(key)
    assert issue.fields[str(mapping.escalation_level.field)] == mapping.escalation_level.values[1]
    assert len(issue.comments) == 1 and issue.comments[0].internal is True

    clock.tick(1)
    again = conn.read_fresh(key)
    assert again.markers == frozenset({"escalation-L1"}) and again.item.escalation_level == 1


def test_cloud_a_refused_combined_write_lands_neither_part_and_names_the_value(sandbox, cloud_conn, clock) -> None:
    conn, mapping = cloud_conn
    key = _issue(sandbox, mapping, clock, severity=3)
    fresh = conn.read_fresh(key).item
    field = str(mapping.severity.field)
    sandbox.remove_field_from_screen("SD", field)
    with pytest.raises(TrackerError) as err:
        conn.write(fresh, Change("严重度恢复 / severity restored", "severity-restore-1", severity=1))
    assert err.value.status == 400 and err.value.part == "severity"
    assert "\n" not in str(err.value)
    issue = sandbox.issue(key)
    assert issue.comments == [] and issue.fields[field] == mapping.severity.values[3]  # neither part stored
    assert conn.read_fresh(key).markers == frozenset()


def test_cloud_a_put_back_is_the_transition_with_its_comment(sandbox, cloud_conn, clock) -> None:
    conn, mapping = cloud_conn
    key = _issue(sandbox, mapping, clock)
    fresh = conn.read_fresh(key).item
    assert fresh.state == 1
    before = len(sandbox.calls)
    assert conn.write(fresh, Change("状态已改回 / put back", "transition-1-2-1", state=2)) is True
    # the issue's transitions are listed, then ONE request moves it with the comment
    assert [(c.method, c.path) for c in sandbox.calls[before:]] == [
        ("GET", f"/rest/api/3/issue/{key}/transitions"), ("POST", f"/rest/api/3/issue/{key}/transitions")]
    clock.tick(1)
    again = conn.read_fresh(key)
    assert again.item.state == 2 and again.markers == frozenset({"transition-1-2-1"})
    # no transition from here to the state asked for: nothing written, False
    assert conn.write(again.item, Change("状态已改回", "transition-2-7-1", state=7)) is False
    assert len(sandbox.issue(key).comments) == 1


def test_data_center_read_fresh_and_one_write(dc_sandbox, clock, procedure, monkeypatch, tmp_path) -> None:
    sb = dc_sandbox
    mapping, sev_field, sev = dc_fields_and_mapping(sb)
    config = load_config(config_file(tmp_path, sb, monkeypatch))
    conn = make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))
    key = sb.create_issue("SD", "Incident", "Disk full", fields={sev_field: {"id": sev[1]}})
    clock.tick(1)

    before = len(sb.calls)
    fresh = conn.read_fresh(key)
    assert len(sb.calls) - before == 1 and fresh.markers == frozenset()
    before = len(sb.calls)
    assert conn.write(fresh.item, Change("Escalated to the division director", "escalation-L2", level=2)) is True
    assert [(c.method, c.path) for c in sb.calls[before:]] == [("PUT", f"/rest/api/2/issue/{key}")]
    clock.tick(1)
    again = conn.read_fresh(key)
    assert again.markers == frozenset({"escalation-L2"}) and again.item.escalation_level == 2
    assert isinstance(sb.issue(key).comments[0].body, str)  # wiki markup on Data Center
