"""End to end over loopback: `escalator mapping plan|apply|check` and the connector against the sandbox Jira."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from connectors.base import Cursor
from connectors.http import AuthError
from connectors.jira.factory import make_connector, make_provisioner
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident
from plugin.cli.mapping import mapping as mapping_cli
from plugin.config import load_config
from sandbox.jira import Workflow, WorkflowTransition
from sandbox.jira.permissions import BotProfile
from sandbox.server import Fault
from tests.jira.conftest import (
    ENV,
    STATES,
    Sleeps,
    config_file,
    dc_fields_and_mapping,
    procedure_workflow,
    transport,
)

pytestmark = pytest.mark.e2e

def _run(*args: str):
    # the `mapping` group as `escalator` mounts it (plugin/cli.py adds it unchanged)
    assert args[0] == "mapping"
    return CliRunner().invoke(mapping_cli, list(args[1:]), catch_exceptions=False)


def _cols(output: str) -> str:
    """A plan's table with every gap between columns two spaces wide (widths follow the longest term)."""
    return re.sub(r"(?<=\S) {2,}(?=\S)", "  ", output)


def test_plan_apply_again_then_check_and_drift(sandbox, tmp_path, monkeypatch) -> None:
    config = config_file(tmp_path, sandbox, monkeypatch)

    bare = _run("mapping", "plan", "--tracker", "jira", "--config", str(config))
    assert bare.exit_code == 0, bare.output
    assert "create  severity" in bare.output and "6 change(s) to make, 0 for the admin" in bare.output
    # the new fields go on SD's own edit screen, found through its screen schemes
    assert ("update  screen:SD:severity  put the new field 'Incident severity 事件级别' on the edit screen of "
            "project SD: 'SD: Jira Service Management Edit/View Issue Screen' (") in _cols(bare.output)
    assert sandbox.calls_to("/field$", "POST") == 0  # plan writes nothing
    assert sandbox.calls_to("/fields$", "POST") == 0

    applied = _run("mapping", "apply", "--config", str(config), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "changed: severity: created field 'Incident severity 事件级别'" in applied.output
    assert "; created 21 cascading option(s) in 'Incident category 事件分类'" in applied.output
    # one line per step of the plan: the field, its options and their cascade are one change
    assert "6 change(s) made" in applied.output and applied.output.count("changed: ") == 6
    assert "changed: screen:SD:escalation_level: put 'Escalation level 升级级别' (customfield_" in applied.output
    mapping = TrackerMapping.load(tmp_path / "mapping.yaml")
    with sandbox.lock:
        sd = sandbox.model.project("SD")
        edit = sandbox.model.screen_for(sd.id, "10001")
        default_screen = sandbox.model.screens[1].fields()
    assert {mapping.severity.field, mapping.category.field, mapping.escalation_level.field} <= set(edit.fields())
    assert mapping.severity.field not in default_screen  # not the site's Default Screen: SD does not use it
    assert sorted(mapping.severity.values) == [1, 2, 3, 4] and len(mapping.category.values) == 26
    assert mapping.states[2] and mapping.issue_types == ["10001"]
    # as the module says: the options go into the global default context Jira gives a new
    # field, not into a second, project-scoped one (the JQL limits what is read)
    for field_id in (mapping.severity.field, mapping.category.field, mapping.escalation_level.field):
        with sandbox.lock:
            [context] = sandbox.model.custom_field(str(field_id)).contexts
        assert (context.project_ids, context.issue_type_ids) == ([], [])
        assert context.options
    assert sandbox.calls_to("/context$", "POST") == 0

    again = _run("mapping", "apply", "--config", str(config), "--yes")
    assert again.exit_code == 0, again.output
    assert "0 change(s) to make" in again.output and "0 change(s) made" in again.output
    assert "ok  screen:SD  severity, category, escalation_level on the edit screen of project SD" \
        in _cols(again.output)
    assert TrackerMapping.load(tmp_path / "mapping.yaml") == mapping

    clean = _run("mapping", "check", "--config", str(config))
    assert clean.exit_code == 0 and "The mapping matches the tracker." in clean.output

    # someone deletes an option on the tracker: check names it
    gone = mapping.severity.values[2]
    with sandbox.lock:
        context = sandbox.model.custom_field(str(mapping.severity.field)).contexts[0]
        context.options = [o for o in context.options if o.id != gone]
    with sandbox.lock:
        sandbox.model.statuses["5"].name = "Fixed"  # and renames a status
    sandbox.remove_field_from_screen("SD", str(mapping.escalation_level.field))  # and takes a field off the screen
    drift = _run("mapping", "check", "--config", str(config))
    assert drift.exit_code == 1
    assert f"drift: severity 2: option id {gone} no longer exists" in drift.output
    assert "drift: state 6: status 5 is named 'Fixed', not '待审核' / 'pending review' / 'Resolved'" in drift.output
    assert (f"drift: screen:SD:escalation_level: field 'Escalation level 升级级别' ({mapping.escalation_level.field}) "
            "is not on the edit screen of project SD: 'SD: Jira Service Management Edit/View Issue Screen'") \
        in drift.output
    assert "3 difference(s)" in drift.output


def test_missing_status_is_a_manual_step_and_nothing_changes_in_the_workflow(sandbox, tmp_path, monkeypatch) -> None:
    config = config_file(tmp_path, sandbox, monkeypatch, states={k: v for k, v in STATES.items() if k != 1})
    with sandbox.lock:
        sandbox.model.statuses = {k: s for k, s in sandbox.model.statuses.items() if s.name != "已派单"}
    sandbox.set_workflow("SD", Workflow("Open", [WorkflowTransition("11", "Start", "In Progress", ("Open",))]))
    result = _run("mapping", "plan", "--config", str(config))
    assert "MANUAL  state:2" in result.output and "add one to the workflow" in result.output
    applied = _run("mapping", "apply", "--config", str(config), "--yes")
    assert applied.exit_code == 1 and "still need the admin" in applied.output


def test_wrong_token_is_one_line_without_the_token(sandbox, tmp_path, monkeypatch) -> None:
    config = config_file(tmp_path, sandbox, monkeypatch)
    monkeypatch.setenv(ENV, "wrong-token-123456")
    result = CliRunner().invoke(mapping_cli, ["plan", "--config", str(config)])
    # `escalator` prints a TrackerError as `error: <message>` and exits 2 (plugin/cli.py)
    assert isinstance(result.exception, AuthError) and result.exception.status == 401
    message = str(result.exception)
    assert "\n" not in message and "tracker.email" in message and "wrong-token-123456" not in message


@pytest.fixture
def mapped(sandbox, tmp_path, monkeypatch, procedure):
    config = load_config(config_file(tmp_path, sandbox, monkeypatch))
    provisioner = make_provisioner(config.tracker_settings(), procedure)
    mapping, _ = provisioner.apply(provisioner.plan())
    return config, mapping


def test_read_write_round_trip(sandbox, mapped, clock, procedure) -> None:
    config, mapping = mapped
    sleeps = Sleeps()
    conn = make_connector(config.tracker_settings(), mapping, **transport(sleeps))
    engineer = sandbox.add_user("Wang Fang", "wangfang@example.com")
    sev = mapping.severity
    key = sandbox.create_issue("SD", "Incident", "Core switch down", reporter=engineer,
                               fields={str(sev.field): {"id": sev.values[2]}})
    clock.tick(5)
    sandbox.move_issue(key, "已派单", author=engineer)
    clock.tick(5)
    sandbox.edit_issue(key, {str(sev.field): {"id": sev.values[3]}}, author=engineer)  # lowered by a person
    clock.tick(1)
    sandbox.edit_issue(key, update={"labels": [{"add": "escalate"}]}, author=engineer)
    other = sandbox.create_issue("SD", "Incident", "No severity yet", reporter=engineer)

    cursor = Cursor()
    results = {r.ref: r for r in conn.read_changed(cursor)}
    one = results[key]
    assert isinstance(one, Incident)
    assert [c.state for c in one.state_history] == [1, 2]
    assert [c.severity for c in one.severity_history] == [2, 3]
    assert one.severity_history[1].by == engineer and one.manual_requests[0].by == engineer
    assert one.facts["contact"] == "wangfang@example.com"
    # no severity yet: read as Zammad reads it (None: no escalation; the record check names it)
    assert isinstance(results[other], Incident) and results[other].severity is None

    # an incremental read with nothing changed: one search call, nothing else
    before = len(sandbox.calls)
    assert list(conn.read_changed(cursor)) == []
    assert [c.path for c in sandbox.calls[before:]] == ["/rest/api/3/search/jql"]

    # writes (a minute later: the frozen clock would otherwise stamp the same `updated`)
    clock.tick(1)
    conn.set_severity(one, 2)
    conn.set_escalation_level(one, 1)
    assert conn.set_state(one, 3) is True
    assert conn.set_state(one, 7) is False  # no transition from 已派单 to Closed: nothing forced
    assert conn.add_note(one, "升级至项目经理 / escalated to the project manager", marker="escalation-L1") is True
    assert conn.add_note(one, "again", marker="escalation-L1") is False
    comments = sandbox.issue(key).comments
    assert len(comments) == 1 and comments[0].internal is True
    conn.notify(one, [engineer], f"{key} escalated", "Please act")
    assert sandbox.notifications[-1].recipients == [engineer] and engineer not in sandbox.issue(key).watchers

    # the daemon's own writes come back as changes, with history
    again = {r.ref: r for r in conn.read_changed(cursor)}
    assert again[key].state == 3 and again[key].severity == 2 and again[key].escalation_level == 1
    assert [e.level for e in again[key].escalations] == [1]


def test_daemon_writes_need_the_fields_on_the_edit_screen(sandbox, mapped, procedure, clock) -> None:
    """Real Jira refuses PUT /issue for a field off the edit screen; apply put them there."""
    from connectors.http import TrackerError
    config, mapping = mapped
    conn = make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))
    key = sandbox.create_issue("SD", "Incident", "Core switch down",
                               fields={str(mapping.severity.field): {"id": mapping.severity.values[3]}})
    (one,) = list(conn.read_changed(Cursor()))
    clock.tick(1)
    conn.set_severity(one, 1)  # the severity restore and the escalation level, as the daemon writes them
    conn.set_escalation_level(one, 1)
    fields = sandbox.issue(key).fields
    assert (fields[str(mapping.severity.field)], fields[str(mapping.escalation_level.field)]) == (
        mapping.severity.values[1], mapping.escalation_level.values[1])

    for term, write in (("escalation_level", lambda: conn.set_escalation_level(one, 2)),
                        ("severity", lambda: conn.set_severity(one, 2))):
        field = str(getattr(mapping, term).field)
        sandbox.remove_field_from_screen("SD", field)
        with pytest.raises(TrackerError) as err:
            write()
        message = str(err.value)
        assert err.value.status == 400 and "\n" not in message
        assert message.startswith(f"jira: {key}: cannot set the {term} field {field}: it is not on the edit screen")
    assert fields[str(mapping.escalation_level.field)] == mapping.escalation_level.values[1]  # nothing written


def test_rate_limit_and_server_error_are_retried(sandbox, mapped, procedure, clock) -> None:
    config, mapping = mapped
    sleeps = Sleeps()
    conn = make_connector(config.tracker_settings(), mapping, **transport(sleeps))
    sandbox.add_fault(Fault(path="/search/jql", status=429, retry_after=3))
    sandbox.add_fault(Fault(path="/changelog/bulkfetch", status=502))
    key = sandbox.create_issue("SD", "Incident", "x",
                               fields={str(mapping.severity.field): {"id": mapping.severity.values[1]}})
    clock.tick(1)
    sandbox.move_issue(key, "已派单")  # a change, so that there is a changelog to fetch
    assert len(list(conn.read_changed(Cursor()))) == 1
    assert sleeps[0] == 3.0 and len(sleeps) == 2


def test_wrong_token_on_the_connector(sandbox, mapped, procedure, monkeypatch) -> None:
    config, mapping = mapped
    monkeypatch.setenv(ENV, "not-the-token-xyz")
    conn = make_connector(config.tracker_settings(), mapping)
    with pytest.raises(AuthError) as err:
        list(conn.read_changed(Cursor()))
    assert "not-the-token-xyz" not in str(err.value) and "\n" not in str(err.value)


def test_data_center_plan_asks_the_admin_for_fields_and_options(dc_sandbox, tmp_path, monkeypatch) -> None:
    config = config_file(tmp_path, dc_sandbox, monkeypatch, states={**STATES, 2: ["Open"]})
    result = _run("mapping", "plan", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "create  severity" in result.output and "then add its 4 options by hand" in result.output
    assert "Jira Data Center's REST API cannot create options" in result.output
    assert "MANUAL  state:2" in result.output and "would mean two states" in result.output
    assert "3 change(s) to make" in result.output


def test_data_center_apply_creates_the_fields_and_leaves_the_options_to_the_admin(
        dc_sandbox, tmp_path, monkeypatch, procedure) -> None:
    from connectors.jira.provision import FIELD_NAMES
    from connectors.provisioning import option_names
    sb, names = dc_sandbox, option_names(procedure)
    sb.add_status("已派单", "indeterminate", id="10100")
    sb.set_workflow("SD", procedure_workflow())
    config = config_file(tmp_path, sb, monkeypatch)

    bare = _run("mapping", "plan", "--config", str(config))
    assert bare.exit_code == 0, bare.output
    # DC's REST API cannot put a field on a project's screen: that is the admin's, one step per field
    assert "3 change(s) to make, 3 for the admin" in bare.output
    assert ("MANUAL  screen:SD:severity  once created, put 'Incident severity 事件级别' on the edit screen of "
            "project SD (Project settings → Screens of SD") in _cols(bare.output)
    assert ("create  severity  create select field 'Incident severity 事件级别' (searcher "
            "multiselectsearcher); then add its 4 options by hand: '1 ") in _cols(bare.output)
    assert "each 'n.m' option goes under its parent 'n'" in bare.output  # the category's cascade
    assert sb.calls_to("/field$", "POST") == 0

    first = _run("mapping", "apply", "--config", str(config), "--yes")
    assert first.exit_code == 1, first.output  # no options yet: no usable mapping
    assert "changed: severity: created field 'Incident severity 事件级别' (customfield_" in first.output
    assert "3 change(s) made; mapping NOT written" in first.output
    assert not (tmp_path / "mapping.yaml").exists()
    with sb.lock:
        created = {cf.name: cf for cf in sb.model.custom_fields.values()}
    assert {n: (created[n].type, created[n].searcher) for n in FIELD_NAMES.values()} == {
        "Incident severity 事件级别": ("select", "com.atlassian.jira.plugin.system.customfieldtypes:multiselectsearcher"),
        "Incident category 事件分类": ("cascadingselect",
                                   "com.atlassian.jira.plugin.system.customfieldtypes:cascadingselectsearcher"),
        "Escalation level 升级级别": ("select", "com.atlassian.jira.plugin.system.customfieldtypes:multiselectsearcher"),
    }

    todo = _run("mapping", "plan", "--config", str(config))
    sev = created[FIELD_NAMES["severity"]].id
    assert f"MANUAL  severity  add to select field 'Incident severity 事件级别' ({sev}) the options: " \
           f"{names['severity'][1]!r}" in _cols(todo.output)
    assert "0 change(s) to make, 3 for the admin" in todo.output

    # with no issue in SD yet, its edit screen cannot be read on DC: the plan says so
    assert "not checked: project SD has no issue yet to read its edit screen from" in todo.output

    # the admin adds the options in the UI, then applies again: nothing more is created
    for term in ("severity", "category", "escalation_level"):
        field = created[FIELD_NAMES[term]].id
        top = [v for k, v in names[term].items() if "." not in str(k)]
        parents = dict(zip(top, sb.add_options(field, top), strict=True))
        for k, v in names[term].items():
            if "." in str(k):
                sb.add_options(field, [v], parent=parents[names[term][str(k).split(".")[0]]])
    # once SD has an issue, its editmeta shows the fields POST /field left on no screen
    sb.create_issue("SD", "Incident", "First incident")
    off = _run("mapping", "plan", "--config", str(config))
    assert "0 change(s) to make, 3 for the admin" in off.output
    assert (f"MANUAL  screen:SD:severity  put field 'Incident severity 事件级别' ({sev}) on the edit screen "
            "of project SD (not in the editmeta of SD-1)") in _cols(off.output)
    for term in ("severity", "category", "escalation_level"):  # the admin puts them on SD's screen
        sb.add_field_to_screen("SD", created[FIELD_NAMES[term]].id)
    done = _run("mapping", "apply", "--config", str(config), "--yes")
    assert done.exit_code == 0, done.output
    assert "0 change(s) to make, 0 for the admin" in done.output
    assert sb.calls_to("/field$", "POST") == 3
    mapping = TrackerMapping.load(tmp_path / "mapping.yaml")
    assert mapping.severity.field == sev and sorted(mapping.severity.values) == [1, 2, 3, 4]
    assert len(mapping.category.values) == 26
    assert _run("mapping", "check", "--config", str(config)).exit_code == 0
    sb.remove_field_from_screen("SD", sev)  # someone takes the severity off SD's screen: check names it
    drift = _run("mapping", "check", "--config", str(config))
    assert drift.exit_code == 1 and (f"drift: screen:SD:severity: field 'Incident severity 事件级别' ({sev}) is not on "
                                     "the edit screen of project SD (not in the editmeta of SD-1)") in drift.output


def test_data_center_read_and_write_round_trip(dc_sandbox, clock, procedure, monkeypatch, tmp_path) -> None:
    sb = dc_sandbox
    mapping, sev_field, sev = dc_fields_and_mapping(sb)
    config = load_config(config_file(tmp_path, sb, monkeypatch))
    conn = make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))
    engineer = sb.add_user("Wang Fang", "wangfang@example.com")
    key = sb.create_issue("SD", "Incident", "Disk full", reporter=engineer, fields={sev_field: {"id": sev[1]}})
    clock.tick(3)
    sb.move_issue(key, "In Progress", author=engineer)
    clock.tick(3)
    sb.edit_issue(key, {sev_field: {"id": sev[3]}}, author=engineer)

    cursor = Cursor()
    (one,) = list(conn.read_changed(cursor))
    assert isinstance(one, Incident) and one.ref == key
    assert [c.state for c in one.state_history] == [1, 3] and [c.severity for c in one.severity_history] == [2, 4]
    assert one.state_history[1].by == engineer  # DC names users by user name
    assert [c.path for c in sb.calls if "/issue/" in c.path] == []  # the inline changelog was complete

    clock.tick(1)
    conn.set_severity(one, 2)
    assert conn.set_state(one, 4) is True
    assert conn.add_note(one, "Restored severity 2 [no approval]", marker="severity-restore-1") is True
    assert conn.add_note(one, "again", marker="severity-restore-1") is False
    comment = sb.issue(key).comments[0]
    assert isinstance(comment.body, str) and comment.internal is True
    conn.notify(one, [engineer], "subject", "text")
    assert sb.notifications[-1].recipients == [engineer]
    (again,) = list(conn.read_changed(cursor))
    assert again.severity == 2 and again.state == 4


def test_severity_on_existing_priorities(sandbox, tmp_path, monkeypatch, procedure, clock) -> None:
    chosen = {1: "Highest", 2: "High", 3: "Medium", 4: "Low"}
    path = config_file(tmp_path, sandbox, monkeypatch, severity_source="priority", severity_priorities=chosen)
    plan = _run("mapping", "plan", "--config", str(path))
    assert "ok  severity  on priorities 1=Highest, 2=High, 3=Medium, 4=Low" in _cols(plan.output)
    # category and level only (each created, then put on SD's edit screen): no severity field
    assert "4 change(s) to make" in plan.output and "screen:SD:severity" not in plan.output

    config = load_config(path)
    provisioner = make_provisioner(config.tracker_settings(), procedure)
    mapping, _ = provisioner.apply(provisioner.plan())
    assert mapping.severity.source == "priority" and mapping.severity.values == {1: "1", 2: "2", 3: "3", 4: "4"}
    conn = make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))
    key = sandbox.create_issue("SD", "Incident", "Medium by default")
    (one,) = list(conn.read_changed(Cursor()))
    assert one.severity == 3
    clock.tick(1)
    conn.set_severity(one, 1)
    assert sandbox.issue(key).fields["priority"] == "1"

    wrong = config_file(tmp_path, sandbox, monkeypatch, severity_source="priority",
                        severity_priorities={**chosen, 1: "Blocker"})
    missing = _run("mapping", "plan", "--config", str(wrong))
    assert "MANUAL  severity" in missing.output and "1: 'Blocker'" in missing.output


def test_data_center_maps_fields_the_admin_created_by_hand(dc_sandbox, tmp_path, monkeypatch, procedure) -> None:
    from connectors.jira.provision import FIELD_NAMES
    from connectors.provisioning import option_names
    sb, names = dc_sandbox, option_names(procedure)
    for term, type_ in (("severity", "select"), ("category", "cascadingselect"), ("escalation_level", "select")):
        field = sb.create_custom_field(FIELD_NAMES[term], type_)
        top = [v for k, v in names[term].items() if "." not in str(k)]
        parents = dict(zip(top, sb.add_options(field, top), strict=True))
        for k, v in names[term].items():
            if "." in str(k):
                sb.add_options(field, [v], parent=parents[names[term][str(k).split(".")[0]]])
    sb.add_status("已派单", "indeterminate", id="10100")
    sb.set_workflow("SD", procedure_workflow())
    config = config_file(tmp_path, sb, monkeypatch)

    applied = _run("mapping", "apply", "--config", str(config), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "0 change(s) to make, 0 for the admin" in applied.output
    mapping = TrackerMapping.load(tmp_path / "mapping.yaml")
    assert mapping.flavour == "datacenter" and len(mapping.category.values) == 26
    assert _run("mapping", "check", "--config", str(config)).exit_code == 0


def test_a_same_named_field_of_another_type_is_left_to_the_admin(sandbox, tmp_path, monkeypatch) -> None:
    sandbox.create_custom_field("Escalation level 升级级别", "textfield", searcher="textsearcher")
    result = _run("mapping", "plan", "--config", str(config_file(tmp_path, sandbox, monkeypatch)))
    assert "MANUAL  escalation_level" in result.output and "textfield, not a select" in result.output


def test_optional_record_fields_are_found_by_name(sandbox, tmp_path, monkeypatch, procedure) -> None:
    occurred = sandbox.create_custom_field("Occurred at 发生时间", "datetime", searcher="datetimerange")
    ci = sandbox.create_custom_field("Affected CI 受影响配置项", "textfield", searcher="textsearcher")
    config = load_config(config_file(tmp_path, sandbox, monkeypatch))
    provisioner = make_provisioner(config.tracker_settings(), procedure)
    plan = provisioner.plan()
    assert {s.term: s.status for s in plan.steps}["occurred_at"] == "ok"
    mapping, _ = provisioner.apply(plan)
    assert (mapping.occurred_at.field, mapping.affected_ci.field, mapping.contract.field) == (occurred, ci, None)

    conn = make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))
    sandbox.create_issue("SD", "Incident", "UPS alarm", fields={
        str(mapping.severity.field): {"id": mapping.severity.values[3]},
        occurred: "2026-03-02T00:40:00.000+0000", ci: "UPS-2F-01"})
    (one,) = list(conn.read_changed(Cursor()))
    assert one.facts["affected_ci"] == "UPS-2F-01" and one.facts["occurred_at"].startswith("2026-03-02")


def test_check_names_each_missing_permission_with_what_it_breaks(sandbox, tmp_path, monkeypatch) -> None:
    config = config_file(tmp_path, sandbox, monkeypatch)
    assert _run("mapping", "apply", "--config", str(config), "--yes").exit_code == 0
    full = _run("mapping", "check", "--config", str(config))
    assert full.exit_code == 0 and "The bot holds every permission the escalator uses." in full.output

    # Manage Watchers is not asked for: the escalator adds no watchers (JiraConnector.notify)
    sandbox.set_bot_profile(BotProfile(lacks={"MANAGE_WATCHERS", "TRANSITION_ISSUES"}))
    degraded = _run("mapping", "check", "--config", str(config))
    assert degraded.exit_code == 0, degraded.output  # the escalator works around it
    lines = [line.strip() for line in degraded.output.splitlines() if line.strip().startswith("missing:")]
    assert lines == [
        "missing: TRANSITION_ISSUES missing in SD: an illegal status change cannot be put back; it is flagged "
        "in a note instead"]
    assert "1 permission(s) missing" in degraded.output
    assert sandbox.calls_to("/rest/api/3/mypermissions$", "GET") >= 1

    sandbox.set_bot_profile(BotProfile(lacks={"ADD_COMMENTS"}))
    blocked = _run("mapping", "check", "--config", str(config))
    assert blocked.exit_code == 1
    assert "MISSING: ADD_COMMENTS missing in SD: no note can be written" in blocked.output
