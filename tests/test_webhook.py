"""The shared webhook signature check (connectors/webhook.py) and each tracker's webhook format."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from connectors.factory import webhook_for
from connectors.jira.webhook import issue_of
from connectors.webhook import check_hub_signature, hub_signature
from connectors.zammad.webhook import ticket_of

SECRET = "s3cret-webhook-key"
BODY = b'{"issue": {"id": "10042"}}'


def test_the_signature_is_the_hmac_of_the_body_under_the_algorithm_prefix() -> None:
    # computed independently of the module under test
    assert hub_signature(SECRET, BODY, "sha256") == "sha256=" + hmac.new(SECRET.encode(), BODY,
                                                                         hashlib.sha256).hexdigest()
    assert hub_signature(SECRET, BODY, "sha1") == "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()


@pytest.mark.parametrize("header,reason", [
    (None, "unsigned"),
    ("", "unsigned"),
    ("sha256=" + "0" * 64, "bad signature"),
    (hub_signature("another-secret", BODY, "sha256"), "bad signature"),
    (hub_signature(SECRET, BODY + b" ", "sha256"), "bad signature"),
    (hub_signature(SECRET, BODY, "sha1"), "bad signature"),  # right secret, wrong algorithm
    ("sha256=\u00e9\u00e9", "bad signature"),  # not ASCII: refused, never an exception
])
def test_a_missing_or_wrong_signature_says_why(header, reason) -> None:
    assert check_hub_signature(SECRET, BODY, header, "sha256") == reason


def test_a_right_signature_passes_even_with_surrounding_blanks() -> None:
    assert check_hub_signature(SECRET, BODY, f" {hub_signature(SECRET, BODY, 'sha256')}\n", "sha256") is None


def test_each_tracker_signs_with_its_own_algorithm() -> None:
    """Jira admin webhooks: HMAC-SHA256; Zammad: HMAC-SHA1 (see the connectors' webhook modules)."""
    jira, zammad = webhook_for("jira"), webhook_for("zammad")
    assert jira.sign(SECRET, BODY).startswith("sha256=") and zammad.sign(SECRET, BODY).startswith("sha1=")
    assert jira.verify(SECRET, BODY, jira.sign(SECRET, BODY)) is None
    assert jira.verify(SECRET, BODY, zammad.sign(SECRET, BODY)) == "bad signature"
    assert jira.header == zammad.header == "X-Hub-Signature"


@pytest.mark.parametrize("payload,ticket", [
    ({"webhookEvent": "jira:issue_updated", "issue": {"id": "10042", "key": "OPS-7"}}, "10042"),
    ({"issue": {"key": "OPS-7"}}, "OPS-7"),  # no id: the key
    ({"issue": {"id": 10042}}, "10042"),
    ({"webhookEvent": "project_created", "project": {"id": 1}}, None),
    ({"issue": "OPS-7"}, None),
    ({"issue": {}}, None),
    (["issue"], None),
    (None, None),
])
def test_the_jira_webhook_names_the_issue(payload, ticket) -> None:
    assert issue_of(payload) == ticket
    assert webhook_for("jira").ticket_of(payload) == ticket


@pytest.mark.parametrize("payload,ticket", [
    ({"ticket": {"id": 31, "number": "31001"}, "article": {"id": 7}}, "31"),
    ({"ticket": {"id": 0}}, "0"),
    ({"ticket": {"number": "31001"}}, None),  # the number alone is not the id the daemon reads by
    ({"ticket": 31}, None),
    ({"article": {"id": 7}}, None),
    ("ticket", None),
])
def test_the_zammad_webhook_names_the_ticket(payload, ticket) -> None:
    assert ticket_of(payload) == ticket
    assert webhook_for("zammad").ticket_of(payload) == ticket


def test_an_unknown_tracker_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown tracker kind 'redmine'"):
        webhook_for("redmine")
