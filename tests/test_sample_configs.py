"""The sample configs in docs/ (Jira Cloud, Jira Data Center, Zammad): each loads, agrees with the
default procedure, and shows every key of the config (a new key must be documented there); the
`language:` key sets one language in one place; a bad duties section is one line per problem."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from mapping.loader import load_procedure
from plugin.config import Config, ConfigError, Secret, load_config
from plugin.preflight import config_problems, load_setup

DOCS = Path(__file__).resolve().parents[1] / "docs"
SAMPLES = {"jira-cloud": DOCS / "config.jira-cloud.yaml", "jira-dc": DOCS / "config.jira-dc.yaml",
           "zammad": DOCS / "config.zammad.yaml"}
#: keys that mean nothing on the other tracker, left out of its sample
JIRA_ONLY = {"tracker.email", "tracker.flavour", "tracker.issue_types", "tracker.severity_source",
             "tracker.severity_priorities", "duties.problems.project", "duties.problems.issue_type",
             "duties.problems.link_type", "duties.callbacks_task.project", "duties.callbacks_task.issue_type"}
ZAMMAD_ONLY = {"tracker.auth", "tracker.on_behalf_of", "tracker.pending_default", "duties.problems.group",
               "duties.callbacks_task.group"}


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key of the config, sections and their keys (a secret or a free table is one key)."""
    keys = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        keys.add(prefix + name)
        kinds = [a for a in (field.annotation, *typing.get_args(field.annotation))
                 if isinstance(a, type) and issubclass(a, BaseModel) and a is not Secret]
        if kinds:
            keys |= model_keys(kinds[0], f"{prefix}{name}.")
    return keys


def written_keys(data: dict, prefix: str = "", model: type[BaseModel] = Config) -> set[str]:
    keys = set()
    for name, value in data.items():
        keys.add(prefix + name)
        field = model.model_fields.get(name)
        kinds = [a for a in (field.annotation, *typing.get_args(field.annotation))
                 if isinstance(a, type) and issubclass(a, BaseModel) and a is not Secret] if field else []
        if kinds and isinstance(value, dict):
            keys |= written_keys(value, f"{prefix}{name}.", kinds[0])
        elif kinds and isinstance(value, list):  # a list of models, e.g. duties.problems.trends
            for item in value:
                if isinstance(item, dict):
                    keys |= written_keys(item, f"{prefix}{name}.", kinds[0])
    return keys


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_loads_agrees_with_the_procedure_and_shows_every_key(name):
    config = load_config(SAMPLES[name])
    assert config_problems(config, load_procedure(), None) == []
    other = ZAMMAD_ONLY if config.tracker.kind == "jira" else JIRA_ONLY
    data = yaml.safe_load(SAMPLES[name].read_text(encoding="utf-8"))
    written = written_keys(data)
    assert written & other == set()
    assert sorted(model_keys(Config) - other - written) == []


def test_the_samples_are_what_their_names_say():
    cloud, dc, zammad = (load_config(SAMPLES[n]) for n in ("jira-cloud", "jira-dc", "zammad"))
    assert (cloud.tracker.kind, cloud.tracker.flavour, cloud.tracker.email) == ("jira", "cloud",
                                                                                 "escalator-bot@example.com")
    assert (dc.tracker.kind, dc.tracker.flavour, dc.tracker.email) == ("jira", "datacenter", None)
    assert dc.tracker.severity_source == "priority" and sorted(dc.tracker.severity_priorities) == [1, 2, 3, 4]
    assert zammad.tracker.kind == "zammad" and zammad.duties.problems.group == "Problems"
    assert cloud.duties.enabled and cloud.duties.delivery == "tracker"
    assert cloud.duties.callbacks_task.project == "OPS" and cloud.smtp.security == "starttls"
    assert cloud.roles.people("project_manager", contract="24x7") == ["5b10ac8d82e05b22cc7d4ef9"]
    assert cloud.status_page.enabled and cloud.status_page.listen == "127.0.0.1:8090"


def test_language_sets_every_contracts_notes_in_one_place(tmp_path):
    path = tmp_path / "escalator.yaml"
    path.write_text("tracker: {kind: zammad, url: 'http://z', token: {env: T}}\nlanguage: en\n", encoding="utf-8")
    setup = load_setup(path, need_mapping=False)
    assert {c.language for c in setup.procedure.contracts.values()} == {"en"}
    # a contract's language written in the procedure as well: two places, refused
    (tmp_path / "procedure.yaml").write_text("contracts:\n  24x7:\n    language: zh\n", encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8") + "procedure: procedure.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_setup(path, need_mapping=False)
    assert str(caught.value) == (f"{tmp_path / 'procedure.yaml'}:3: contracts.24x7.language: 'zh', but the config "
                                 "sets `language: en` for every contract (set it in one place: remove one of them)")


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
