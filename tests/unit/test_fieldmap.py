"""The mapping file: a mapping the daemon cannot use is refused, one line per gap."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.fieldmap import CategoryMap, LevelMap, MappingFileError, SeverityMap, TrackerMapping


def usable() -> TrackerMapping:
    return TrackerMapping(
        tracker="jira", base_url="https://x.atlassian.net", projects=["OPS"],
        severity=SeverityMap(field="customfield_10000", values={1: "1", 2: "2", 3: "3", 4: "4"}),
        category=CategoryMap(field="customfield_10001", values={"1": "10", "1.1": "11"}),
        escalation_level=LevelMap(field="customfield_10002", values={0: "20", 1: "21", 2: "22", 3: "23"}),
        states={1: ["1"], 3: ["3"], 6: ["5"], 7: ["6"]},
    )


def test_a_complete_mapping_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    usable().save(path)
    assert TrackerMapping.load(path) == usable()


def test_a_mapping_without_fields_is_refused_with_every_gap(tmp_path: Path) -> None:
    bare = usable().model_copy(update={
        "severity": SeverityMap(field=None, values={}),
        "category": CategoryMap(field="", values={}),
        "states": {s: [] for s in range(1, 8)},
    })
    path = tmp_path / "mapping.yaml"
    bare.save(path)
    with pytest.raises(MappingFileError) as err:
        TrackerMapping.load(path)
    lines = str(err.value).splitlines()
    assert [line.split(": ", 1)[1].split(" (")[0] for line in lines] == [
        "severity: mapped to no field", "severity 1: mapped to no option", "severity 2: mapped to no option",
        "severity 3: mapped to no option", "severity 4: mapped to no option", "category: mapped to no field",
        "states: no procedure state is mapped to a status"]
    assert all(line.startswith(str(path)) for line in lines)


def test_severity_on_priorities_needs_no_field() -> None:
    on_priorities = usable().model_copy(update={
        "severity": SeverityMap(source="priority", field=None, values={1: "1", 2: "2", 3: "3", 4: "4"})})
    assert on_priorities.gaps() == []


def test_a_missing_mapping_file_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(MappingFileError, match="no mapping file yet: run `escalator mapping apply`"):
        TrackerMapping.load(tmp_path / "mapping.yaml")
