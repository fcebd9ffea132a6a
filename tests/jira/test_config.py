"""The Jira keys of the config's `tracker` section: severity on priorities, state aliases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plugin.config import TrackerConfig

BASE = {"kind": "jira", "url": "https://x.atlassian.net", "email": "a@example.com", "token": {"env": "T"},
        "projects": ["OPS"]}


def test_priority_source_needs_all_four_severities() -> None:
    with pytest.raises(ValidationError) as err:
        TrackerConfig.model_validate({**BASE, "severity_source": "priority", "severity_priorities": {1: "Highest"}})
    assert "severity_priorities for severities 1, 2, 3 and 4" in str(err.value)


def test_state_aliases_name_procedure_states() -> None:
    with pytest.raises(ValidationError) as err:
        TrackerConfig.model_validate({**BASE, "states": {9: ["Limbo"]}})
    assert "unknown procedure state 9" in str(err.value)
    ok = TrackerConfig.model_validate({**BASE, "states": {1: ["Open", "待处理"]}})
    assert ok.states == {1: ["Open", "待处理"]} and ok.severity_source == "field"
