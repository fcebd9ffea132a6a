"""The config checked whole at load: each mistake that used to pass in silence is a one-line error
naming the file, the line and the key; every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import main
from plugin.config import ConfigError
from plugin.preflight import load_setup

MAPPING = """\
tracker: jira
base_url: https://jira.example.com
flavour: cloud
projects: [OPS, NOC]
severity: {field: customfield_10100, values: {1: "1", 2: "2", 3: "3", 4: "4"}}
category: {field: customfield_10101, values: {"1.2": "12"}}
escalation_level: {field: customfield_10102, values: {0: "0", 1: "1", 2: "2", 3: "3"}}
states: {1: ["1"], 2: ["2"], 3: ["3"], 4: ["4"], 5: ["5"], 6: ["6"], 7: ["7"]}
"""

CONFIG = """\
tracker:
  kind: jira
  url: https://jira.example.com
  email: bot@example.com
  token: {env: PREFLIGHT_TOKEN}
  projects: [OPS, NOC]
contracts:
  by_project: {NOC: 24x7}
roles:
  default:
    project_manager: [pm]
    division_director: [dd]
"""


def setup_files(tmp_path: Path, config: str = CONFIG, mapping: str = MAPPING) -> Path:
    (tmp_path / "mapping.yaml").write_text(mapping, encoding="utf-8")
    path = tmp_path / "escalator.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def problems(path: Path, **kw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_setup(path, **kw)
    return str(caught.value).splitlines()


def test_a_consistent_setup_loads(tmp_path):
    setup = load_setup(setup_files(tmp_path))
    assert setup.mapping is not None and setup.mapping.projects == ["OPS", "NOC"]
    assert setup.procedure.default_contract == "default"


def test_a_project_the_mapping_maps_but_the_config_leaves_out_is_an_error(tmp_path):
    # the daemon watches the mapping's projects: it would act on NOC-1 although the config says [OPS]
    path = setup_files(tmp_path, CONFIG.replace("projects: [OPS, NOC]", "projects: [OPS]")
                       .replace("by_project: {NOC: 24x7}", "by_project: {}"))
    assert problems(path) == [f"{path}:6: tracker.projects: mapping.yaml maps project(s) NOC that are not "
                              "listed here: the daemon would act on them; list them, or run `escalator "
                              "mapping apply` again"]


def test_a_typo_in_the_projects_is_an_error_naming_the_unmapped_project(tmp_path):
    path = setup_files(tmp_path, CONFIG.replace("projects: [OPS, NOC]", "projects: [OPS, NCO]"))
    lines = problems(path)
    assert f"{path}:6: tracker.projects: project 'NCO' is not in mapping.yaml (OPS, NOC) - did you mean " \
           "'NOC'?; if it exists on the tracker, run `escalator mapping apply` again" in lines
    # every problem at once: NOC is mapped but not listed, and the contract rule names an unwatched NOC
    assert any("maps project(s) NOC that are not listed" in line for line in lines)
    assert f"{path}:8: contracts.by_project.NOC: project 'NOC' is not in tracker.projects (did you mean " \
           "'NCO'? known: NCO, OPS)" in lines


def test_a_role_key_typo_is_an_error_with_a_suggestion(tmp_path):
    path = setup_files(tmp_path, CONFIG.replace("    project_manager: [pm]", "    project_manger: [pm]"))
    assert problems(path) == [f"{path}:11: roles.default.project_manger: unknown role (did you mean "
                              "'project_manager'? known: company_management, division_director, engineer, "
                              "project_manager, service_desk)"]


def test_role_keys_are_checked_in_every_table(tmp_path):
    path = setup_files(tmp_path, CONFIG + "  by_contract:\n    24x7: {divison_director: [x]}\n"
                                          "    premium: {project_manager: [y]}\n"
                                          "  by_project:\n    OPS: {service_desk: [z]}\n    OOPS: {engineer: [w]}\n")
    lines = problems(path)
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{path}:14: roles.by_contract.24x7.divison_director: unknown role (did you mean "
                               "'division_director'?")
    assert lines[1].startswith(f"{path}:15: roles.by_contract.premium: unknown contract (known: 24x7, default)")
    assert lines[2].startswith(f"{path}:18: roles.by_project.OOPS: project 'OOPS' is not in tracker.projects "
                               "(did you mean 'OPS'?")


def test_an_unknown_contract_in_the_rules_is_an_error_not_an_unreadable_ticket_each(tmp_path):
    path = setup_files(tmp_path, CONFIG.replace("{NOC: 24x7}", "{NOC: 24x7x}"))
    assert problems(path) == [f"{path}:8: contracts.by_project.NOC: unknown contract '24x7x' (did you mean "
                              "'24x7'? known: 24x7, default)"]
    # an organisation cannot be checked offline; the contract it is given can
    path = setup_files(tmp_path, CONFIG.replace("  by_project: {NOC: 24x7}",
                                                "  by_organisation:\n    Acme: premium"))
    assert problems(path) == [f"{path}:9: contracts.by_organisation.Acme: unknown contract 'premium' "
                              "(known: 24x7, default)"]


def test_a_mapping_for_another_tracker_is_an_error(tmp_path):
    path = setup_files(tmp_path, mapping=MAPPING.replace("https://jira.example.com", "https://old.example.com"))
    assert problems(path) == [f"{path}:3: tracker.url: https://jira.example.com, but mapping.yaml was written for "
                              "https://old.example.com: run `escalator mapping apply` for this tracker"]


def test_every_problem_at_once_with_the_procedures_and_the_mapping_files(tmp_path):
    procedure = tmp_path / "procedure.yaml"
    procedure.write_text("contracts:\n  default: {calendar: nowhere}\n", encoding="utf-8")
    path = setup_files(tmp_path, CONFIG.replace("    project_manager: [pm]", "    project_manger: [pm]")
                       + "procedure: procedure.yaml\n", mapping="tracker: jira\n")
    lines = problems(path)
    assert any("procedure.yaml:2: contracts.default.calendar" in line for line in lines), lines
    assert any("mapping.yaml: base_url: Field required" in line for line in lines), lines
    # the roles need the procedure, which did not load: not judged rather than judged wrongly
    assert not any("project_manger" in line for line in lines)


def test_manual_steps_left_refuse_run_and_once_unless_allowed(tmp_path):
    mapping = MAPPING + "manual:\n- 'state:5: status 暂停 is missing from the workflow of OPS'\n"
    path = setup_files(tmp_path, mapping=mapping)
    lines = problems(path, allow_incomplete=False)
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'mapping.yaml'}: 1 step(s) of `mapping apply` are still left to do "
                               "by hand: state:5: status 暂停 is missing")
    assert lines[0].endswith("(or pass --allow-incomplete to run with the tickets they concern unreadable)")
    assert load_setup(path, allow_incomplete=True).mapping.manual  # the reports and `status` read on

    for command in (["once", "--dry-run"], ["run"]):
        result = CliRunner().invoke(main, [*command, "--config", str(path)])
        assert result.exit_code == 2, result.output
        assert "still left to do by hand" in result.output and "Traceback" not in result.output


def test_the_yaml_error_names_its_line(tmp_path):
    path = setup_files(tmp_path, "tracker:\n  kind: jira\n  url: [unclosed\n")
    result = CliRunner().invoke(main, ["once", "--config", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}:4: not valid YAML:"), result.output
