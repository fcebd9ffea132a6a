"""connectors/factory.py and connectors/settings.py: the right connector from plain settings."""

from __future__ import annotations

import pytest

from connectors.factory import connector_class, make_connector
from connectors.jira.client import JiraCloudClient, JiraDataCenterClient
from connectors.settings import TrackerSettings
from mapping.fieldmap import TrackerMapping
from tests.jira.conftest import make_mapping


def _zammad_mapping() -> TrackerMapping:
    data = make_mapping().model_dump()
    data.update(tracker="zammad", base_url="https://z.example.com", flavour=None, issue_types=[], projects=["Users"])
    return TrackerMapping.model_validate(data)


def test_jira_cloud_uses_basic_auth_and_data_center_a_bearer_token() -> None:
    cloud = make_connector(TrackerSettings(kind="jira", url="https://x.atlassian.net", token="tok-1",
                                           email="bot@example.com"), make_mapping())
    dc = make_connector(TrackerSettings(kind="jira", url="https://jira.example.com", token="tok-2",
                                        flavour="datacenter"), make_mapping("datacenter"))
    assert isinstance(cloud.client, JiraCloudClient) and cloud.client.http.session.auth == ("bot@example.com", "tok-1")
    assert isinstance(dc.client, JiraDataCenterClient)
    assert dc.client.http.session.headers["Authorization"] == "Bearer tok-2"
    assert cloud.page_size == 100  # no size chosen: Jira's usual page


def test_zammad_takes_the_largest_page_unless_one_is_chosen_and_watches_the_settings_groups() -> None:
    settings = TrackerSettings(kind="zammad", url="https://z.example.com", token="tok-3", projects=("Network",))
    connector = make_connector(settings, _zammad_mapping())
    assert connector.page_size == 200 and connector.projects == ["Network"]
    assert connector.client.http.session.headers["Authorization"] == "Token token=tok-3"
    chosen = TrackerSettings(kind="zammad", url="https://z.example.com", token="t", page_size=25)
    assert make_connector(chosen, _zammad_mapping()).projects == ["Users"]  # none set: the mapping's
    assert make_connector(chosen, _zammad_mapping()).page_size == 25


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown tracker kind 'redmine'"):
        TrackerSettings(kind="redmine", url="https://r.example.com", token="t")


def test_each_connector_names_its_container_and_its_labels() -> None:
    jira, zammad = connector_class("jira"), connector_class("zammad")
    assert (jira.container_key, zammad.container_key) == ("project", "group")
    assert jira.label_term == {"zh": "标签", "en": "label"}
    assert zammad.label_term == {"zh": "标记（tag）", "en": "tag"}
