"""`escalator procedure show|check` through click's CliRunner."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def section(output: str, title: str) -> list[str]:
    """The lines of one table, from its title to the blank line after it."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_show_in_chinese() -> None:
    result = run("procedure", "show", "--lang", "zh")
    assert result.exit_code == 0
    out = result.stdout
    assert out.splitlines()[0] == "事件管理程序"
    assert section(out, "事件分级") == [
        "事件分级 (§1.3)",
        "  级别  名称      业务影响                  影响范围                紧急程度",
        "  ----  --------  ------------------------  ----------------------  --------------",
        "  1     一级事件  客户业务中断，无法工作    80%以上客户业务受影响   非常紧急",
        "  2     二级事件  客户业务性能严重下降      50%以上客户业务受影响   紧急",
        "  3     三级事件  客户业务性能下降          20%以上客户业务受影响   普通",
        "  4     四级事件  问题请求，业务性能无下降  客户业务可能有潜在影响  与客户协商确定",
    ]
    categories = section(out, "事件分类")
    assert "  1.2                 网络          network" in categories
    assert "  3     公司资产维护                asset" in categories
    assert len(categories) == 3 + 26  # title, header, rule, every category
    states = section(out, "事件状态")
    assert "  5     暂停    暂停计时  因客户原因暂时无法处理" in states
    assert "  resume       4 挂起, 5 暂停, 6 待审核  3 处理中  §4.3, §4.5.2  挂起、暂停或被项目经理退回的事件回到处理中" in out
    assert "垂直升级时间表 (§5.2.2) — 升级顺序: 工程师 → 项目经理 → 事业部总监 → 公司管理层" in out
    assert "  cn-business  Asia/Shanghai  mon-fri 09:00-12:00 13:00-18:00  CN" in out
    assert "  affected_ci  受影响的配置项" in out


def test_show_in_english() -> None:
    result = run("procedure", "show", "--lang", "en")
    assert result.exit_code == 0
    assert section(result.stdout, "  contract 24x7") == [
        "  contract 24x7 (24x7 contract), calendar 24x7",
        "    severity  project manager  division director  company management",
        "    --------  ---------------  -----------------  ------------------",
        "    1         immediately      immediately        immediately",
        "    2         4 h              6 h                8 h",
        "    3         6 h              8 h                12 h",
        "    4         12 h             24 h               48 h",
        "Calendars",
    ][:-1]
    assert "  6     pending review  stopped    closed by the engineer, awaiting the project manager" in result.stdout


ACME = """
    contracts:
      acme:
        name: {zh: 某某合同, en: "Acme contract"}
        calendar: 24x7
        timetable:
          2: {project_manager: 2h, division_director: 3h, company_management: 4h}
        clock: {suspended: paused}
        enforce_transitions: true
"""


@pytest.mark.parametrize("via_config", [False, True], ids=["override", "escalator-config"])
def test_show_an_override(tmp_path: Path, via_config: bool) -> None:
    target = write(tmp_path, "acme.yaml", ACME)
    if via_config:
        target = write(tmp_path, "escalator.yaml", """
            tracker: {kind: zammad, url: "https://desk.example", token: {env: ZAMMAD_TOKEN}}
            procedure: acme.yaml
        """)
    result = run("procedure", "show", "--lang", "en", "--config", str(target))
    assert result.exit_code == 0
    acme = section(result.stdout, "  contract acme")
    assert acme[:3] == ["  contract acme (Acme contract), calendar 24x7", "    SLA clock: suspended paused",
                        "    illegal state changes are put back"]
    assert acme[6] == "    2         2 h              3 h                4 h"


def test_show_a_bad_override_is_one_error_line(tmp_path: Path) -> None:
    bad = write(tmp_path, "acme.yaml", "contracts:\n  acme: {calendar: nowhere}\n")
    result = run("procedure", "show", "--config", str(bad))
    assert result.exit_code == 2
    assert result.stderr == f"error: {bad}:2: contracts.acme.calendar: unknown calendar 'nowhere'\n"


def test_check_a_good_file(tmp_path: Path) -> None:
    good = write(tmp_path, "acme.yaml", ACME)
    result = run("procedure", "check", str(good))
    assert result.exit_code == 0
    assert result.stdout == (f"{good}: OK — 3 contract(s) (24x7, acme, default), 2 calendar(s) "
                             "(24x7, cn-business), 26 categories (5 top-level).\n")


def test_check_a_bad_file_prints_every_problem(tmp_path: Path) -> None:
    bad = write(tmp_path, "acme.yaml", """
        # acme's procedure
        escalation:
          timetable:
            2: {project_manager: 4h, division_director: 3h, company_management: 8h}
        calendars:
          acme-hours: {timezone: Asia/Shangai, hours: {mon: ["09:00-17:00"]}}
        contracts:
          acme: {calendar: acme, langauge: en}
    """)
    result = run("procedure", "check", str(bad))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:4: escalation.timetable.2.division_director: 3 h is earlier than project_manager's 4 h "
        "(ladder offsets must not decrease)",
        f"{bad}:6: calendars.acme-hours.timezone: unknown time zone 'Asia/Shangai' "
        "(use an IANA name such as Asia/Shanghai)",
        f"{bad}:8: contracts.acme.calendar: unknown calendar 'acme'",
        f"{bad}:8: contracts.acme.langauge: unknown key 'langauge' (did you mean 'language'?)",
    ]
    assert result.stderr == f"4 problem(s) in {bad}.\n"
    assert "Traceback" not in result.output


def test_check_a_missing_file_and_not_yaml(tmp_path: Path) -> None:
    result = run("procedure", "check", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert result.stdout == f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory\n"
    broken = write(tmp_path, "broken.yaml", "contracts:\n  acme: [24x7\n")
    result = run("procedure", "check", str(broken))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{broken}:3: not valid YAML: ")


def test_check_through_an_escalator_config(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", "contracts:\n  acme: {calendar: nowhere}\n")
    config = write(tmp_path, "escalator.yaml", """
        tracker: {kind: zammad, url: "https://desk.example", token: {env: ZAMMAD_TOKEN}}
        procedure: acme.yaml
    """)
    result = run("procedure", "check", str(config))
    assert result.exit_code == 1
    assert result.stdout == f"{tmp_path / 'acme.yaml'}:2: contracts.acme.calendar: unknown calendar 'nowhere'\n"
