"""The `duties:` config: the sample in docs/ loads, and a bad duties section is one line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "config.example.yaml"


def test_the_sample_config_loads():
    config = load_config(EXAMPLE)
    assert config.duties.enabled and config.duties.delivery == "tracker"
    assert config.duties.problems.issue_type == "Problem" and config.duties.problems.link_type is None
    assert config.duties.callbacks_task.enabled and config.duties.callbacks_task.project == "OPS"
    assert config.roles.people("service_desk") == ["5b10ac8d82e05b22cc7d4ef8"]
    assert config.smtp is not None and config.smtp.security == "starttls"


def test_duties_are_off_unless_enabled(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("tracker: {kind: zammad, url: http://z, token: {env: T}}\n", encoding="utf-8")
    assert load_config(path).duties.enabled is False


def test_bad_duties_keys_are_reported_at_once(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("tracker: {kind: zammad, url: http://z, token: {env: T}}\n"
                    "duties: {enabled: true, delivery: fax, problems: {grup: Problems}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    lines = str(err.value).splitlines()
    assert f"{path}:2: duties.problems.grup: unknown key" in lines
    assert any(line.startswith(f"{path}:2: duties.delivery: Input should be 'tracker' or 'email'") for line in lines)


def test_email_delivery_needs_an_smtp_section(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("tracker: {kind: zammad, url: http://z, token: {env: T}}\n"
                    "duties: {enabled: true, delivery: email}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duties.delivery is email but there is no smtp: section"):
        load_config(path)
