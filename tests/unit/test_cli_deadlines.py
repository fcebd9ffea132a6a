"""`escalator deadlines`: the table an admin reads to check a contract, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import main


def run(*args: str):
    return CliRunner().invoke(main, ["deadlines", *args])


def table(output: str) -> list[list[str]]:
    """The rows under the header and its rule, as words (a duration like '4 h' is two)."""
    return [line.split() for line in output.splitlines()[3:]]


@pytest.mark.parametrize(("args", "rows"), [
    # the default contract works cn-business hours: Friday 09:00 + 4/6/8 working hours, lunch 12-13
    (["--severity", "2", "--reported", "2026-11-20T09:00"], [
        ["1", "项目经理", "project", "manager", "4", "h", "2026-11-20", "14:00", "Fri", "周五", "+0800"],
        ["2", "事业部总监", "division", "director", "6", "h", "2026-11-20", "16:00", "Fri", "周五", "+0800"],
        ["3", "公司管理层", "company", "management", "8", "h", "2026-11-20", "18:00", "Fri", "周五", "+0800"]]),
    # severity 4 across National Day and the make-up Saturday 10-10
    (["--severity", "4", "--reported", "2026-09-30T16:00"], [
        ["1", "项目经理", "project", "manager", "12", "h", "2026-10-09", "11:00", "Fri", "周五", "+0800"],
        ["2", "事业部总监", "division", "director", "24", "h", "2026-10-10", "16:00", "Sat", "周六", "+0800"],
        ["3", "公司管理层", "company", "management", "48", "h", "2026-10-14", "16:00", "Wed", "周三", "+0800"]]),
    # 24x7, and a report time given in UTC is shown in the calendar's zone
    (["--severity", "3", "--reported", "2026-11-20T01:00+00:00", "--contract", "24x7"], [
        ["1", "项目经理", "project", "manager", "6", "h", "2026-11-20", "15:00", "Fri", "周五", "+0800"],
        ["2", "事业部总监", "division", "director", "8", "h", "2026-11-20", "17:00", "Fri", "周五", "+0800"],
        ["3", "公司管理层", "company", "management", "12", "h", "2026-11-20", "21:00", "Fri", "周五", "+0800"]]),
])
def test_prints_each_level_with_role_offset_and_local_due_time(args: list[str], rows: list[list[str]]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split() == ["level", "role", "offset", "due"]
    assert set(result.output.splitlines()[2]) == {"-", " "}
    assert table(result.output) == rows


def test_the_header_names_contract_calendar_and_report_time() -> None:
    result = run("--severity", "1", "--reported", "2026-11-21T10:00")
    assert result.output.splitlines()[0] == (
        "Contract default (default contract), calendar cn-business (Asia/Shanghai), severity 1, "
        "reported 2026-11-21 10:00 Sat 周六 +0800")
    assert [row[5:7] for row in table(result.output)] == [["2026-11-21", "10:00"]] * 3
    assert [row[4] for row in table(result.output)] == ["immediately"] * 3


PROCEDURE_OVERRIDE = """\
calendars:
  berlin:
    timezone: Europe/Berlin
    hours: {mon: ["08:00-16:00"], tue: ["08:00-16:00"]}
contracts:
  acme:
    calendar: berlin
    timetable:
      2: {project_manager: 2h, division_director: 10h, company_management: 1d}
"""


def _expected_acme(output: str) -> None:
    # Monday 2026-11-23 15:00 Berlin, 8 h on Mondays and Tuesdays: 1 h Monday, 8 h Tuesday (9 h),
    # 10 h = next Monday 09:00; 1d = 24 h = 1 + 8 + 8 + 7 h = Tuesday 12-01 15:00
    assert [row[4:10] for row in table(output)] == [
        ["2", "h", "2026-11-24", "09:00", "Tue", "周二"],
        ["10", "h", "2026-11-30", "09:00", "Mon", "周一"],
        ["24", "h", "2026-12-01", "15:00", "Tue", "周二"]]


def test_a_procedure_override_file_and_a_naive_time_in_the_contract_zone(tmp_path: Path) -> None:
    override = tmp_path / "procedure.yaml"
    override.write_text(PROCEDURE_OVERRIDE, encoding="utf-8")
    result = run("--severity", "2", "--reported", "2026-11-23T15:00", "--contract", "acme", "--config", str(override))
    assert result.exit_code == 0, result.output
    _expected_acme(result.output)


def test_the_escalator_config_file_names_the_procedure(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "procedure.yaml").write_text(PROCEDURE_OVERRIDE, encoding="utf-8")
    config = tmp_path / "escalator.yaml"
    config.write_text("tracker:\n  kind: zammad\n  url: https://zammad.example\n  token: {env: ZAMMAD_TOKEN}\n"
                      "procedure: rules/procedure.yaml\n", encoding="utf-8")
    result = run("--severity", "2", "--reported", "2026-11-23T15:00", "--contract", "acme", "--config", str(config))
    assert result.exit_code == 0, result.output
    _expected_acme(result.output)


@pytest.mark.parametrize(("args", "message"), [
    (["--severity", "2", "--reported", "2026-11-20T09:00", "--contract", "nope"],
     "--contract: unknown contract 'nope' (known: 24x7, default)"),
    (["--severity", "2", "--reported", "next friday"],
     "--reported: 'next friday' is not a date and time like 2026-11-20T09:00"),
    (["--severity", "5", "--reported", "2026-11-20T09:00"], "'--severity': 5 is not in the range 1<=x<=4"),
    (["--severity", "2", "--reported", "2026-11-20T09:00", "--config", "/nonexistent/procedure.yaml"],
     "/nonexistent/procedure.yaml: cannot read"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_broken_procedure_file_is_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "procedure.yaml"
    bad.write_text("calendars:\n  x: {timezone: Mars/Olympus, always: true}\n", encoding="utf-8")
    result = run("--severity", "2", "--reported", "2026-11-20T09:00", "--config", str(bad))
    assert result.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in result.output
    assert "Traceback" not in result.output
