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
    with pytest.raises(ConfigError, match=r"escalator.yaml:2: deamon: unknown key"):
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


def test_a_token_pasted_as_the_variable_name_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, "tracker: {kind: zammad, url: 'https://z.example.com', token: {env: 'Ab3-x9/secret=='}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "tracker.token: env: not an environment variable's name" in str(err.value)
    assert "Ab3-x9/secret==" not in str(err.value)


def test_an_unreachable_tracker_is_one_line_pointing_at_tracker_url(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from connectors.http import Unreachable
    from plugin.cli import mapping as cli_mapping
    from plugin.cli.main import main

    class Down:
        def plan(self):
            raise Unreachable("zammad: GET /api/v1/users/me: connection refused at http://127.0.0.1:9 after 5 attempts")

    monkeypatch.setattr(cli_mapping, "make_provisioner", lambda config, procedure, **kw: Down())
    monkeypatch.setenv("ZT_FOR_TEST", "t0ken-value")
    path = write(tmp_path, "tracker: {kind: zammad, url: 'http://127.0.0.1:9', token: {env: ZT_FOR_TEST}}\n")
    result = CliRunner().invoke(main, ["mapping", "plan", "--config", str(path)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: zammad: GET") and "check tracker.url" in line


def test_the_connectors_get_plain_settings_with_the_token_resolved_and_never_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZT", "zammad-token-never-shown")
    path = write(tmp_path, "tracker: {kind: zammad, url: 'https://z.example.com/', token: {env: ZT}, auth: oauth2,\n"
                           "          projects: [Users, Network], timeout: 3, states: {6: [solved]}}\n")
    settings = load_config(path).tracker_settings()
    assert (settings.kind, settings.url, settings.token, settings.auth) == \
        ("zammad", "https://z.example.com", "zammad-token-never-shown", "oauth2")
    assert settings.projects == ("Users", "Network") and settings.state_aliases == {6: ("solved",)}
    assert settings.timeouts == (3.0, 3.0)
    assert settings.page_size is None  # unset: the connector's own (Zammad serves 200 a page)
    assert "zammad-token-never-shown" not in repr(settings)


def test_a_page_size_the_admin_chose_reaches_the_connector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JT", "t")
    path = write(tmp_path, "tracker: {kind: jira, url: 'https://x.atlassian.net', email: a@example.com,\n"
                           "          token: {env: JT}, projects: [OPS], page_size: 50, timeout: 60}\n")
    settings = load_config(path).tracker_settings()
    assert settings.page_size == 50 and settings.timeouts == (5.0, 60.0)


def test_settings_without_a_resolvable_token_are_a_config_error(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    path = write(tmp_path, "tracker: {kind: zammad, url: 'https://z.example.com', token: {env: NOPE}}\n")
    with pytest.raises(ConfigError, match="environment variable NOPE is not set"):
        load_config(path).tracker_settings()


ZAMMAD = "tracker: {kind: zammad, url: 'https://z.example.com', token: {env: T}}\n"


def test_the_public_url_is_where_the_tracker_posts(tmp_path: Path) -> None:
    path = write(tmp_path, ZAMMAD + "webhooks: {enabled: true, public_url: 'https://esc.example.com/hooks/',"
                                    " secret: {env: HOOK}}\n")
    config = load_config(path)
    assert config.webhooks.endpoint("zammad") == "https://esc.example.com/hooks/webhooks/zammad"
    assert load_config(write(tmp_path, ZAMMAD)).webhooks.endpoint("zammad") is None


@pytest.mark.parametrize(("hooks", "expected"), [
    ("{public_url: 'https://esc.example.com', secret: {env: HOOK}}", "webhooks: public_url is set but webhooks are "
                                                                    "not enabled"),
    ("{enabled: true, public_url: 'https://esc.example.com'}", "webhooks: public_url is set but there is no secret"),
    ("{enabled: true, public_url: 'esc.example.com', secret: {env: HOOK}}", "webhooks.public_url: 'esc.example.com' "
                                                                            "is not an http(s) URL"),
    ("{enabled: true, public_url: 'https://esc.example.com/?k=1', secret: {env: HOOK}}", "no query or fragment"),
])
def test_a_public_url_that_cannot_work_is_one_line(tmp_path: Path, hooks: str, expected: str) -> None:
    path = write(tmp_path, ZAMMAD + f"webhooks: {hooks}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    [line] = str(err.value).splitlines()
    assert line.startswith(f"{path}:2: ") and expected in line, line  # the file, the line of `webhooks:`


def test_mapping_plan_without_the_webhook_secret_is_one_line(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import main
    monkeypatch.setenv("T", "a-token-1234")
    monkeypatch.delenv("HOOK_SECRET_UNSET", raising=False)
    path = write(tmp_path, ZAMMAD + "webhooks: {enabled: true, public_url: 'https://esc.example.com',"
                                    " secret: {env: HOOK_SECRET_UNSET}}\n")
    result = CliRunner().invoke(main, ["mapping", "plan", "--config", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {path}: webhooks.secret: environment variable HOOK_SECRET_UNSET "
                                     "is not set")
