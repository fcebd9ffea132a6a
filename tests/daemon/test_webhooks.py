"""The webhook receiver over loopback: Jira sha256 and Zammad sha1 signatures, good, bad, missing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading

import pytest
import requests

from connectors.factory import webhook_for
from plugin.webhooks import WebhookReceiver
from tests.daemon.conftest import incident

SECRET = "s3cret-webhook-key"


def sign(secret: str, body: bytes, tracker: str) -> str:
    """What the tracker sends as `X-Hub-Signature` (its connector's webhook format)."""
    return webhook_for(tracker).sign(secret, body)


@pytest.fixture
def receiver():
    got: list[tuple[str, str]] = []
    r = WebhookReceiver(SECRET, lambda tracker, ticket: got.append((tracker, ticket)))
    r.start()
    r.got = got
    yield r
    r.stop()


def post(r, path, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    return requests.post(f"{r.url}{path}", data=body, headers=headers, timeout=5)


JIRA_BODY = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "10042", "key": "OPS-7"}}).encode()
ZAMMAD_BODY = json.dumps({"ticket": {"id": 31, "number": "31001"}, "article": {"id": 7}}).encode()


def test_signatures_are_the_trackers_formats():
    # computed independently of the module under test
    assert sign(SECRET, JIRA_BODY, "jira") == "sha256=" + hmac.new(SECRET.encode(), JIRA_BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, ZAMMAD_BODY, "zammad") == "sha1=" + hmac.new(SECRET.encode(), ZAMMAD_BODY, hashlib.sha1).hexdigest()


def test_jira_webhook_with_a_good_signature_is_accepted(receiver):
    resp = post(receiver, "/webhooks/jira", JIRA_BODY, sign(SECRET, JIRA_BODY, "jira"))
    assert resp.status_code == 202
    assert receiver.got == [("jira", "10042")]


def test_zammad_webhook_with_a_good_signature_is_accepted(receiver):
    resp = post(receiver, "/webhooks/zammad", ZAMMAD_BODY, sign(SECRET, ZAMMAD_BODY, "zammad"))
    assert resp.status_code == 202
    assert receiver.got == [("zammad", "31")]


@pytest.mark.parametrize("path,body,signature,status,reason", [
    ("/webhooks/jira", JIRA_BODY, None, 401, "unsigned"),
    ("/webhooks/jira", JIRA_BODY, "sha256=" + "0" * 64, 403, "bad signature"),
    ("/webhooks/jira", JIRA_BODY, sign("another-secret", JIRA_BODY, "jira"), 403, "bad signature"),
    # the right digest for the wrong tracker: Jira signs with sha256, not sha1
    ("/webhooks/jira", JIRA_BODY, sign(SECRET, JIRA_BODY, "zammad"), 403, "bad signature"),
    ("/webhooks/zammad", ZAMMAD_BODY, None, 401, "unsigned"),
    ("/webhooks/zammad", ZAMMAD_BODY, sign(SECRET, ZAMMAD_BODY + b" ", "zammad"), 403, "bad signature"),
    ("/webhooks/zammad", ZAMMAD_BODY, sign(SECRET, ZAMMAD_BODY, "jira"), 403, "bad signature"),
])
def test_unsigned_or_badly_signed_calls_are_rejected_and_logged(receiver, caplog, path, body, signature, status,
                                                                 reason):
    caplog.set_level(logging.INFO, "escalator.webhooks")
    resp = post(receiver, path, body, signature)
    assert resp.status_code == status
    assert receiver.got == []
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "webhooks.rejected"]
    assert record.fields["reason"] == reason and record.fields["path"] == path
    assert SECRET not in caplog.text


def test_an_accepted_webhook_makes_the_daemon_read_that_ticket_at_once(world):
    world.tracker.add(incident("1", severity=2))
    world.tracker.add(incident("2", severity=2))
    daemon = world.daemon(poll_interval=3600)
    daemon.cycle()
    assert daemon.seconds_to_sleep(world.clock.now()) > 3000
    woke = threading.Event()
    r = WebhookReceiver(SECRET, lambda tracker, ticket: (daemon.wake(ticket), woke.set()))
    r.start()
    try:
        body = json.dumps({"issue": {"id": "2"}}).encode()
        assert post(r, "/webhooks/jira", body, sign(SECRET, body, "jira")).status_code == 202
        assert woke.wait(5)
    finally:
        r.stop()
    assert daemon.seconds_to_sleep(world.clock.now()) == 0.0
    world.tracker.calls.clear()
    daemon.cycle()
    assert world.tracker.calls[0] == ("read_fresh", "2")
    assert world.tracker.count("search") == 0  # not a full poll: just that ticket


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_a_bad_content_length_is_rejected_not_read(receiver, caplog, length):
    import http.client
    from urllib.parse import urlsplit

    caplog.set_level(logging.WARNING)
    url = urlsplit(receiver.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    conn.putrequest("POST", "/webhooks/jira")
    conn.putheader("Content-Length", length)
    conn.endheaders()
    assert conn.getresponse().status == 400
    conn.close()
    assert receiver.got == []
    assert any(getattr(r, "event", "") == "webhooks.rejected" for r in caplog.records)


# -- bounds: a peer that connects and stalls ------------------------------------------------------------
HANG_GUARD = 30.0  # seconds: only a hung receiver gets anywhere near it


def _stall(r, announced: int = 1_000_000, sent: bytes = b"{}"):
    """A connection that announces a body of `announced` bytes and sends only `sent`."""
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(r.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=HANG_GUARD)
    sock.sendall(b"POST /webhooks/jira HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {announced}\r\n\r\n".encode() + sent)
    return sock


def _answer(sock) -> bytes:
    """All the receiver says before it closes the connection."""
    out = b""
    while chunk := sock.recv(4096):
        out += chunk
    return out


def test_a_body_that_never_comes_is_dropped_within_the_read_timeout(caplog):
    caplog.set_level(logging.WARNING, "escalator.webhooks")
    r = WebhookReceiver(SECRET, lambda tracker, ticket: None, read_timeout=0.2)
    r.start()
    try:
        with _stall(r) as sock:
            answer = _answer(sock)  # returns once the receiver closes; the hang guard if it never does
    finally:
        r.stop()
    assert answer.startswith(b"HTTP/1.1 408 ")
    [record] = [x for x in caplog.records if getattr(x, "event", None) == "webhooks.rejected"]
    assert record.fields["reason"] == "body not received in time"


def test_a_hundred_stalled_connections_do_not_keep_a_webhook_out(receiver):
    stalled = [_stall(receiver) for _ in range(100)]  # the default read timeout outlasts the test
    try:
        resp = requests.post(f"{receiver.url}/webhooks/jira", data=JIRA_BODY, timeout=HANG_GUARD,
                             headers={"X-Hub-Signature": sign(SECRET, JIRA_BODY, "jira")})
        assert resp.status_code == 202
        assert receiver.got == [("jira", "10042")]
    finally:
        for sock in stalled:
            sock.close()


def test_connections_beyond_the_bound_are_told_busy_and_the_bound_comes_back(caplog):
    import time

    caplog.set_level(logging.WARNING, "escalator.webhooks")
    got: list[tuple[str, str]] = []
    r = WebhookReceiver(SECRET, lambda tracker, ticket: got.append((tracker, ticket)), max_connections=3)
    r.start()
    try:
        stalled = [_stall(r) for _ in range(3)]
        with _stall(r) as extra:
            busy = _answer(extra)
        head, _, body = busy.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 ")
        assert f"Content-Length: {len(body)}".encode() in head.split(b"\r\n")  # a client reads it whole
        assert any(getattr(x, "event", None) == "webhooks.rejected" and x.fields["reason"] == "too many connections"
                   for x in caplog.records)
        for sock in stalled:
            sock.close()  # their handlers end and give their slots back
        give_up = time.monotonic() + HANG_GUARD
        while True:  # a condition wait: the slots come back as the handler threads notice the close
            try:
                resp = requests.post(f"{r.url}/webhooks/jira", data=JIRA_BODY, timeout=HANG_GUARD,
                                     headers={"X-Hub-Signature": sign(SECRET, JIRA_BODY, "jira")})
            except requests.ConnectionError:
                resp = None
            if resp is not None and resp.status_code == 202:
                break
            assert time.monotonic() < give_up, "the bound never came back"
        assert got == [("jira", "10042")]
    finally:
        r.stop()
