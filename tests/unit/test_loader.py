"""Loading the admin's procedure YAML: merging, and every problem at once with its line."""

from __future__ import annotations

import tempfile
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.loader import ProcedureError, default_profile_data, load_procedure, merge


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ProcedureError) as info:
        load_procedure(path)
    return [line.replace(f"{path}", path.name, 1) for line in info.value.problems]


# -- merging -----------------------------------------------------------------------------------

def test_override_restates_only_what_it_changes(tmp_path: Path) -> None:
    proc = load_procedure(write(tmp_path, """
        categories:
          - code: "1"
            children:
              - {code: "1.2", group: wan}
        escalation:
          timetable:
            3: {project_manager: 5h}
        contracts:
          acme: {calendar: 24x7, language: en, enforce_transitions: true}
        downgrade_exception:
          roles: [division_director]
    """))
    contract_service = proc.category("1")
    assert [c.code for c in contract_service.children] == [f"1.{i}" for i in range(1, 9)]
    assert proc.category("1.2").group == "wan"
    assert proc.category("1.2").name.zh == "网络"
    assert proc.escalation.timetable[3] == {"project_manager": timedelta(hours=5),
                                            "division_director": timedelta(hours=8),
                                            "company_management": timedelta(hours=12)}
    assert proc.contracts["acme"].enforce_transitions is True
    assert set(proc.contracts) == {"default", "24x7", "acme"}
    # a list of plain values is replaced, not appended to
    assert proc.downgrade_exception.roles == ("division_director",)


def test_null_removes_a_default_key(tmp_path: Path) -> None:
    proc = load_procedure(write(tmp_path, """
        contracts:
          "24x7": ~
    """))
    assert set(proc.contracts) == {"default"}


def test_merge_keyed_lists_by_identity() -> None:
    base = {"roles": [{"key": "a", "name": 1}, {"key": "b", "name": 2}]}
    assert merge(base, {"roles": [{"key": "b", "name": 3}, {"key": "c", "name": 4}]}) == {
        "roles": [{"key": "a", "name": 1}, {"key": "b", "name": 3}, {"key": "c", "name": 4}]}
    assert default_profile_data()["roles"][0]["key"] == "engineer"  # untouched


def test_empty_file_is_the_default_profile(tmp_path: Path) -> None:
    assert load_procedure(write(tmp_path, "# nothing yet\n")) == load_procedure()


# -- one kind of problem at a time, each with its line -----------------------------------------

CASES = {
    "unknown key": ("""
        escalation:
          ladder: [engineer, project_manager, division_director, company_management]
          timetabel:
            2: {project_manager: 4h}
        """, ["acme.yaml:3: escalation.timetabel: unknown key 'timetabel' (did you mean 'timetable'?)"]),
    "unknown top-level key": ("""
        contract:
          acme: {calendar: 24x7}
        """, ["acme.yaml:1: contract: unknown key 'contract' (did you mean 'contracts'?)"]),
    "unknown state in a contract's clock rules": ("""
        contracts:
          acme:
            calendar: 24x7
            clock: {suspend: paused}
        """, ["acme.yaml:4: contracts.acme.clock.suspend: unknown state 'suspend' (known: archived, dispatched, "
              "in_progress, paused, pending, pending_review, suspended)"]),
    "unknown key with no close match": ("""
        contracts:
          acme:
            calendar: 24x7
            colour: blue
        """, ["acme.yaml:4: contracts.acme.colour: unknown key 'colour' (known: name, calendar, language, "
              "timetable, clock, enforce_transitions, customer_updates, warnings, acknowledge)"]),
    "severity without a timetable row": ("""
        escalation:
          timetable:
            4: ~
        """, ["acme.yaml:3: escalation.timetable.4: severity 4 has no timetable row"]),
    "ladder offsets decrease": ("""
        # acme's timetable
        escalation:
          timetable:
            2:
              project_manager: 4h
              division_director: 3h
              company_management: 8h
        """, ["acme.yaml:6: escalation.timetable.2.division_director: 3 h is earlier than project_manager's 4 h "
              "(ladder offsets must not decrease)"]),
    "category code used twice": ("""
        categories:
          - code: "6"
            name: {zh: 其他, en: other}
          - code: "5"
            children:
              - code: "1.3"
                name: {zh: 杂项, en: misc}
        """, ["acme.yaml:6: categories[code=5].children[code=1.3].code: category code '1.3' used twice "
              "(first under category '1')"]),
    "unknown time zone": ("""
        calendars:
          acme-hours:
            timezone: Europe/Atlantis
            hours: {mon: ["09:00-17:00"]}
        """, ["acme.yaml:3: calendars.acme-hours.timezone: unknown time zone 'Europe/Atlantis' "
              "(use an IANA name such as Asia/Shanghai)"]),
    "unknown role in the ladder": ("""
        escalation:
          ladder:
            - engineer
            - project_manager
            - divison_director
            - company_management
        """, ["acme.yaml:5: escalation.ladder[2]: unknown role 'divison_director' (known: company_management, "
              "division_director, engineer, project_manager, service_desk)"]),
    "unknown role in a timetable row": ("""
        contracts:
          acme:
            calendar: 24x7
            timetable:
              3: {project_manager: 6h, division_director: 8h, company_management: 12h, ceo: 24h}
        """, ["acme.yaml:5: contracts.acme.timetable.3.ceo: unknown role 'ceo' (the ladder escalates to "
              "project_manager, division_director, company_management)"]),
    "unknown calendar": ("""
        contracts:
          acme:
            calendar: acme-hourz
        """, ["acme.yaml:3: contracts.acme.calendar: unknown calendar 'acme-hourz'"]),
    "a name with a dot in it": ("""
        contracts:
          acme.cn:
            calendar: acme
        """, ["acme.yaml:3: contracts.acme.cn.calendar: unknown calendar 'acme'"]),
    "bad duration": ("""
        escalation:
          timetable:
            3: {project_manager: 6 hours}
        """, ["acme.yaml:3: escalation.timetable.3.project_manager: not a duration: '6 hours' "
              "(write e.g. '4h', '30m', '1d 2h' or 0)"]),
    "bad value of a closed set": ("""
        states:
          - {code: 4, clock: stoped}
        """, ["acme.yaml:2: states[code=4].clock: should be 'running', 'paused' or 'stopped' (got 'stoped')"]),
    "a required key missing on a new item": ("""
        roles:
          - key: ceo
        """, ["acme.yaml:2: roles[key=ceo].name: required, but missing"]),
    "top level is not a mapping": ("""
        - escalation
        """, ["acme.yaml:1: expected a mapping of keys at the top level"]),
    "a key given twice": ("""
        contracts:
          acme: {calendar: 24x7}
        contracts:
          other: {calendar: nowhere}
        """, ["acme.yaml:3: contracts: key given twice (only the last one counts)",
              "acme.yaml:4: contracts.other.calendar: unknown calendar 'nowhere'"]),
    "not YAML": ("""
        escalation:
          timetable:
            2: {project_manager: 4h
        calendars: {}
        """, ["acme.yaml:4: not valid YAML: expected ',' or '}', but got ':'"]),
}


@pytest.mark.parametrize("text,expected", list(CASES.values()), ids=list(CASES))
def test_each_problem_is_one_line_with_path_and_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems(write(tmp_path, text)) == expected


def test_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nowhere.yaml") == ["nowhere.yaml: cannot read: No such file or directory"]


def test_problem_in_the_default_part_names_the_path_only(tmp_path: Path) -> None:
    # removing the default contract breaks `default_contract`, which the file never mentions
    assert problems(write(tmp_path, """
        contracts:
          default: ~
    """)) == ["acme.yaml: default_contract: unknown contract 'default'"]


def test_nearest_parent_in_the_file_gives_the_line(tmp_path: Path) -> None:
    # a new ladder role leaves every default timetable row without its offset;
    # the rows are not in the file, `escalation` is
    lines = problems(write(tmp_path, """
        roles:
          - {key: ceo, name: {zh: 总裁, en: CEO}}
        escalation:
          ladder: [engineer, project_manager, division_director, company_management, ceo]
    """))
    assert lines == [f"acme.yaml:3: escalation.timetable.{sev}: no offset for ceo" for sev in (1, 2, 3, 4)]


def test_every_problem_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, """
        # acme's procedure
        escalation:
          timetable:
            2: {project_manager: 4h, division_director: 3h, company_management: 8h}
            3: {project_manager: 6x, division_director: 8h, company_management: 12h}
        calendars:
          acme-hours:
            timezone: Mars/Olympus
            hours:
              mon: ["09:00-17:00"]
        contracts:
          acme:
            calendar: acme-hourz
            langauge: en
        categories:
          - code: "6"
            name: {zh: 其他, en: other}
          - code: "6"
            name: {zh: 其他, en: other}
        downgrade_exception:
          roles: [ceo]
    """)
    assert problems(path) == [
        "acme.yaml:4: escalation.timetable.2.division_director: 3 h is earlier than project_manager's 4 h "
        "(ladder offsets must not decrease)",
        "acme.yaml:5: escalation.timetable.3.project_manager: not a duration: '6x' (write e.g. '4h', '30m', '1d 2h' or 0)",
        "acme.yaml:8: calendars.acme-hours.timezone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name such as Asia/Shanghai)",
        "acme.yaml:13: contracts.acme.calendar: unknown calendar 'acme-hourz'",
        "acme.yaml:14: contracts.acme.langauge: unknown key 'langauge' (did you mean 'language'?)",
        "acme.yaml:18: categories[code=6].code: category code '6' used twice (first at the top level)",
        "acme.yaml:21: downgrade_exception.roles[0]: unknown role 'ceo' (known: company_management, "
        "division_director, engineer, project_manager, service_desk)",
    ]


def test_a_value_set_aside_causes_no_further_problem(tmp_path: Path) -> None:
    # the bad duration is replaced by the default's 8h while the rest is checked; that
    # 8h is earlier than the file's 10h, but the admin never wrote it: not reported
    assert problems(write(tmp_path, """
        escalation:
          timetable:
            3: {project_manager: 10h, division_director: soon, company_management: 12h}
    """)) == ["acme.yaml:3: escalation.timetable.3.division_director: not a duration: 'soon' "
              "(write e.g. '4h', '30m', '1d 2h' or 0)"]


def test_problems_behind_a_set_aside_value_are_still_found(tmp_path: Path) -> None:
    # `x` is no severity: it is set aside, and the cross-field check then finds row 5;
    # the bad range is removed, so "needs working hours" for `shop` would be its echo
    # and is not reported, while `lazy` really has no hours
    assert problems(write(tmp_path, """
        escalation:
          timetable:
            x: {project_manager: 1h}
            5: {project_manager: 1h, division_director: 2h, company_management: 3h}
        calendars:
          shop:
            hours: {mon: ["18:00-09:00"]}
          lazy:
            timezone: UTC
    """)) == [
        "acme.yaml:3: escalation.timetable.x: should be a valid integer, unable to parse string as an integer "
        "(got 'x')",
        "acme.yaml:4: escalation.timetable.5: unknown severity 5 (1-4)",
        "acme.yaml:7: calendars.shop.hours: mon: '18:00-09:00' ends before it starts",
        "acme.yaml:8: calendars.lazy: a calendar needs working `hours`, or `always: true` for 24x7",
    ]


def test_default_profile_problems_name_the_default_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    data = default_profile_data()
    data["default_contract"] = "gold"
    monkeypatch.setattr("mapping.loader.default_profile_data", lambda: data)
    with pytest.raises(ProcedureError) as info:
        load_procedure()
    assert info.value.problems == ["default profile: default_contract: unknown contract 'gold'"]


# -- whatever the admin writes: a Procedure, or one line per problem ----------------------------

IDENTS = {"roles": "key", "severities": "level", "states": "code", "transitions": "name",
          "categories": "code", "children": "code", "record_fields": "key"}


def _paths(data, at=()):
    """Every place in the default profile an override can reach: mapping keys, keyed items."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield at + (key,)
            yield from _paths(value, at + (key,))
    elif isinstance(data, list) and at and at[-1] in IDENTS and all(isinstance(i, dict) for i in data):
        ident = IDENTS[at[-1]]
        for item in data:
            yield at + ((ident, item[ident]),)
            yield from _paths(item, at + ((ident, item[ident]),))


def _nest(path, value):
    for part in reversed(path):
        value = [{part[0]: part[1], **value}] if isinstance(part, tuple) else {part: value}
    return value


PATHS = [p for p in _paths(default_profile_data()) if not isinstance(p[-1], tuple)]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 60), st.sampled_from(["", "4h", "ceo", "x" * 3, "1.2"]),
                 st.lists(st.sampled_from(["a", 1, "09:00-12:00"]), max_size=2),
                 st.dictionaries(st.sampled_from(["zh", "en", "typo", "2"]), st.sampled_from(["a", 1]), max_size=2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), JUNK), min_size=1, max_size=4))
def test_never_a_traceback(edits) -> None:
    override: dict = {}
    for path, value in edits:
        override = merge(override, _nest(path, value)) if override else _nest(path, value)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "acme.yaml"
        path.write_text(yaml.safe_dump(override, allow_unicode=True), encoding="utf-8")
        try:
            load_procedure(path)
        except ProcedureError as exc:
            assert exc.problems
            for line in exc.problems:
                assert line.startswith(f"{path}") and "\n" not in line


def test_the_default_profile_reads_the_same_with_either_parser() -> None:
    # it is parsed with libyaml where PyYAML has it (start-up time), else in pure Python: one answer
    import yaml

    from mapping.loader import DEFAULT_PROFILE
    text = (Path(__file__).resolve().parents[2] / "mapping" / DEFAULT_PROFILE).read_text(encoding="utf-8")
    assert yaml.load(text, Loader=yaml.SafeLoader) == yaml.load(text, Loader=getattr(yaml, "CSafeLoader",
                                                                                     yaml.SafeLoader))
