"""The escalator's config file: every problem reported at once, one line each, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "escalator.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_url_without_a_scheme_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "tracker: {kind: jira, url: jira.example.com, email: a@example.com,"
                           " token: {env: T}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    lines = str(err.value).splitlines()
    assert any("tracker.url" in line and "not an http(s) URL" in line for line in lines), lines
    assert all(line.startswith(str(path)) for line in lines)


def test_jira_needs_projects_and_cloud_needs_email(tmp_path: Path) -> None:
    path = write(tmp_path, "tracker: {kind: jira, url: 'https://x.atlassian.net', token: {env: T}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "set tracker.email" in text and "set tracker.projects" in text


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "tracker: {kind: zammad, url: 'https://z.example.com', token: {env: T}}\n"
                           "deamon: {poll_interval: 5}\n")
    with pytest.raises(ConfigError, match=r"escalator.yaml: deamon: unknown key"):
        load_config(path)


def test_a_zammad_config_loads_and_resolves_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAMMAD_TOKEN_FOR_TEST", "s3cret-token")
    path = write(tmp_path, "tracker: {kind: zammad, url: 'https://z.example.com/', token: {env: ZAMMAD_TOKEN_FOR_TEST}}\n"
                           "mapping_file: maps/zammad.yaml\n")
    config = load_config(path)
    assert config.tracker.url == "https://z.example.com"
    assert config.token() == "s3cret-token"
    assert config.path(config.mapping_file) == tmp_path.resolve() / "maps" / "zammad.yaml"


def test_a_missing_secret_names_the_variable_not_a_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    config = load_config(write(tmp_path, "tracker: {kind: zammad, url: 'https://z.example.com',"
                                         " token: {env: NOT_SET_ANYWHERE}}\n"))
    with pytest.raises(ConfigError, match="escalator.yaml: tracker.token: environment variable NOT_SET_ANYWHERE is not set"):
        config.token()


def test_a_token_written_into_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, "tracker: {kind: zammad, url: 'https://z.example.com', token: abcd-secret-1234}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "tracker.token: write where the secret comes from" in str(err.value)
    assert "abcd-secret-1234" not in str(err.value)
