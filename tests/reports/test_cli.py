"""`escalator report ...` end to end over an in-memory connector put in place of the factory's."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner

from connectors import factory
from mapping.incident import Unreadable
from plugin.cli.report import report
from tests.duties import at, incident, month
from tests.reports import FakeConnector

MAPPING = """\
tracker: jira
base_url: https://jira.example.com
flavour: datacenter
projects: [OPS]
severity: {field: customfield_10100, values: {1: "1", 2: "2", 3: "3", 4: "4"}}
category: {field: customfield_10101, values: {"1.2": "12"}}
escalation_level: {field: customfield_10102, values: {0: "0", 1: "1", 2: "2", 3: "3"}}
states: {1: ["1"], 2: ["2"], 3: ["3"], 4: ["4"], 5: ["5"], 6: ["6"], 7: ["7"]}
"""


@pytest.fixture
def tracker(tmp_path, monkeypatch):
    """A config + mapping file, and the fake connector the factory now returns."""
    monkeypatch.setenv("JIRA_TOKEN", "never-sent")  # the settings resolve it; the fake sends nothing
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    (tmp_path / "escalator.yaml").write_text(
        "tracker: {kind: jira, url: 'https://jira.example.com', flavour: datacenter, token: {env: JIRA_TOKEN},\n"
        "          projects: [OPS]}\n"
        "reports: {first_line_groups: [service_desk, onsite]}\n")
    broken = Unreadable(tracker="jira", id="999", ref="K-99", reason="severity option 10777 maps to nothing",
                        updated_at=at("2026-11-20 10:00"))
    odd = month()[0].model_copy(update={"id": "998", "ref": "K-98", "contract": "gone"})
    # last updated before November: not even read for a November report (else: a warning)
    old = odd.model_copy(update={"id": "997", "ref": "K-97", "reported_at": at("2026-10-01 09:00"),
                                 "updated_at": at("2026-10-02 09:00"), "state_history": ()})
    fake = FakeConnector([*month(), broken, odd, old])
    calls = []

    def make_connector(settings, mapping, **transport):
        calls.append((settings.kind, mapping.base_url))
        return fake

    monkeypatch.setattr(factory, "make_connector", make_connector)
    fake.calls = calls
    return tmp_path, fake


def _run(tmp_path, *args):
    result = CliRunner().invoke(report, [*args, "--config", str(tmp_path / "escalator.yaml")], catch_exceptions=False)
    return result


def test_kpi_json_from_the_tracker(tracker):
    tmp_path, fake = tracker
    result = _run(tmp_path, "kpi", "--from", "2026-11-01", "--to", "2026-12-01", "--format", "json",
                  "--as-of", "2026-12-10T12:00")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 16  # K-98 (unknown contract) and K-99 (unreadable) left out
    # config's groups; Jira without a support-group field records none: not computable
    assert data["first_line"]["computable"] is False and data["first_line"]["share"] is None
    assert "warning: skipped K-99: severity option 10777 maps to nothing" in result.stderr
    assert "warning: skipped K-98: unknown contract 'gone'" in result.stderr
    assert "K-97" not in result.stderr
    assert "Reading incidents" in result.stderr  # the progress bar, on stderr
    assert fake.calls == [("jira", "https://jira.example.com")] and fake.closed
    # read from the period's start (less the cursor's overlap), not the whole history
    assert fake.read_from == at("2026-11-01 00:00") - timedelta(minutes=2)


def test_kpi_table_for_one_contract_and_bad_input(tracker):
    tmp_path, _ = tracker
    result = _run(tmp_path, "kpi", "--from", "2026-11-01", "--to", "2026-12-01", "--contract", "24x7",
                  "--as-of", "2026-12-10T12:00", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Total incidents: 1" in result.stdout
    bad = _run(tmp_path, "kpi", "--from", "2026-11-01", "--to", "2026-12-01", "--contract", "nope")
    assert bad.exit_code == 2
    assert "unknown contract 'nope' (known: 24x7, default)" in bad.stderr
    bad = _run(tmp_path, "kpi", "--from", "2026-11-31", "--to", "2026-12-01")
    assert bad.exit_code == 2 and "'2026-11-31' is not a date" in bad.stderr
    bad = _run(tmp_path, "kpi", "--from", "2026-12-01", "--to", "2026-11-01")
    assert bad.exit_code == 2 and "must be after --from" in bad.stderr


def test_monthly_writes_one_html_file(tracker):
    tmp_path, _ = tracker
    out = tmp_path / "report.html"
    result = _run(tmp_path, "monthly", "--month", "2026-11", "--out", str(out), "--as-of", "2026-12-10T12:00")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "2026年11月服务月报" in html and html.count("<svg ") == 4
    assert f"wrote {out}" in result.stderr
    bad = _run(tmp_path, "monthly", "--month", "2026-13")
    assert bad.exit_code == 2 and "not a month: '2026-13'" in bad.stderr


def test_callbacks_and_record(tracker):
    tmp_path, _ = tracker
    result = _run(tmp_path, "callbacks", "--week", "2026-W47", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert [line.split(",")[0] for line in result.stdout.splitlines()] == ["ref", "K-09", "K-10", "K-08", "K-11",
                                                                           "K-17"]
    result = _run(tmp_path, "record", "K-11", "--as-of", "2026-12-10T12:00")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("事件记录表 · K-11")
    assert re.search(r"2026-11-19 20:30:00\s+级别设为 一级事件", result.stdout)
    unreadable = _run(tmp_path, "record", "K-99")
    assert unreadable.exit_code == 1
    assert "K-99: cannot be read as an incident: severity option 10777 maps to nothing" in unreadable.stderr


def test_user_errors_are_one_line_through_the_escalator_command(tmp_path):
    from plugin.cli.main import main

    missing = tmp_path / "nope.yaml"
    result = CliRunner().invoke(main, ["report", "monthly", "--month", "2026-11", "--config", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {missing}: cannot read: No such file or directory\n"


def test_reports_resolve_the_contract_by_the_config_rules_as_the_daemon_does(tmp_path, monkeypatch):
    """`contracts.by_project: {NOC: 24x7}`: an incident of NOC naming no contract is a 24x7 one in every report.

    Reported Saturday 11-21 10:00, resolved Monday 10:00: 48 h on the 24x7 calendar (every level
    missed for severity 2), 1 h on the default's office hours (none missed).
    """
    monkeypatch.setenv("JIRA_TOKEN", "never-sent")
    (tmp_path / "mapping.yaml").write_text(MAPPING.replace("projects: [OPS]", "projects: [NOC]"))
    (tmp_path / "escalator.yaml").write_text(
        "tracker: {kind: jira, url: 'https://jira.example.com', flavour: datacenter, token: {env: JIRA_TOKEN},\n"
        "          projects: [NOC]}\n"
        "contracts: {by_project: {NOC: 24x7}}\n")
    states = [("2026-11-21 10:10", 2), ("2026-11-21 10:20", 3), ("2026-11-23 10:00", 6)]
    by_rule = incident("NOC-2", "2026-11-21 10:00", states, severity=2, project="NOC")
    named = by_rule.model_copy(update={"contract": "24x7"})
    fakes = iter([FakeConnector([by_rule]), FakeConnector([named])])
    monkeypatch.setattr(factory, "make_connector", lambda *a, **kw: next(fakes))
    args = ("kpi", "--from", "2026-11-01", "--to", "2026-12-01", "--format", "json", "--as-of", "2026-12-10T12:00")
    figures = [json.loads(_run(tmp_path, *args, "--contract", "24x7").stdout) for _ in range(2)]
    assert figures[0] == figures[1]  # exactly as if the ticket named the contract
    assert figures[0]["total"] == 1 and [row["missed"] for row in figures[0]["missed_timetable"]] == [1, 1, 1]
    assert figures[0]["mean_time_spent"][0]["total_hours"] == 48.0

    monkeypatch.setattr(factory, "make_connector", lambda *a, **kw: FakeConnector([by_rule]))
    assert json.loads(_run(tmp_path, *args, "--contract", "default").stdout)["total"] == 0
    sheet = _run(tmp_path, "record", "NOC-2", "--lang", "en", "--as-of", "2026-12-10T12:00").stdout
    assert re.search(r"Contract\s+24x7", sheet), sheet


def test_workorder_writes_one_html_file(tracker, monkeypatch):
    tmp_path, _ = tracker
    monkeypatch.chdir(tmp_path)
    result = _run(tmp_path, "workorder", "K-11", "--as-of", "2026-12-10T12:00", "--lang", "en")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "workorder-K-11.html").read_text(encoding="utf-8")  # the default name
    assert "<title>Customer service work order · K-11</title>" in html
    assert "wrote workorder-K-11.html" in result.stderr
    unreadable = _run(tmp_path, "workorder", "K-99")
    assert unreadable.exit_code == 1
    assert "K-99: cannot be read as an incident" in unreadable.stderr
