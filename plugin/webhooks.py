"""The webhook receiver: a tracker tells the daemon a ticket changed, the daemon reads it at once.

Optional (`webhooks.enabled`), on `http.server` in a thread. Two paths:

- `POST /webhooks/jira`: a Jira admin webhook registered with a secret. Jira signs the
  raw body with HMAC-SHA256 and sends `X-Hub-Signature: sha256=<hex>` (WebSub style;
  https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks).
  The issue is `issue.id` (`issue.key` as a fallback) in the JSON body.
- `POST /webhooks/zammad`: a Zammad webhook with an "HMAC SHA1 Signature Token".
  Zammad sends `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>`
  (https://admin-docs.zammad.org/en/latest/manage/webhook/add.html). The ticket is
  `ticket.id` in its default payload.

Signatures are compared with `hmac.compare_digest`. No signature → 401, a wrong one
→ 403, each logged as `webhooks.rejected` (reason, path, peer; never the secret nor
the signature). The receiver does no tracker work itself: it hands the ticket id to
the daemon (`on_ticket`), which re-reads the ticket before acting — a webhook body is
a hint, never trusted as the ticket's state.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("escalator.webhooks")

#: path -> (tracker, digest, signature prefix)
ROUTES = {
    "/webhooks/jira": ("jira", hashlib.sha256, "sha256="),
    "/webhooks/zammad": ("zammad", hashlib.sha1, "sha1="),
}
MAX_BODY = 1 << 20  # a webhook larger than 1 MiB is not one we need


def sign(secret: str, body: bytes, tracker: str) -> str:
    """The `X-Hub-Signature` value the tracker sends for `body` (used by tests and the demo)."""
    for name, digest, prefix in ROUTES.values():
        if name == tracker:
            return prefix + hmac.new(secret.encode("utf-8"), body, digest).hexdigest()
    raise ValueError(f"unknown tracker {tracker!r}")


def verify(secret: str, body: bytes, header: str | None, tracker: str) -> str | None:
    """None when the signature is right; otherwise the reason ('unsigned', 'bad signature')."""
    if not header:
        return "unsigned"
    expected = sign(secret, body, tracker)
    if not hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii", "replace")):
        return "bad signature"
    return None


def ticket_of(tracker: str, payload: Any) -> str | None:
    """The ticket a webhook body names, or None."""
    if not isinstance(payload, dict):
        return None
    if tracker == "jira":
        issue = payload.get("issue")
        if isinstance(issue, dict):
            value = issue.get("id") or issue.get("key")
            return str(value) if value else None
        return None
    ticket = payload.get("ticket")
    if isinstance(ticket, dict) and ticket.get("id") is not None:
        return str(ticket["id"])
    return None


class WebhookReceiver:
    """Listens on `host:port`; calls `on_ticket(tracker, ticket_id)` for each accepted event."""

    def __init__(self, secret: str, on_ticket: Callable[[str, str], None], *, host: str = "127.0.0.1",
                 port: int = 0, trackers: tuple[str, ...] = ("jira", "zammad")):
        if not secret:
            raise ValueError("a webhook receiver needs a secret")
        self._secret = secret
        self.on_ticket = on_ticket
        self.trackers = trackers
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.accepted = 0
        self.rejected = 0

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("webhook receiver not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> int:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                status, answer = receiver._handle(self)
                payload = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # our own events instead
                return

        self._httpd = ThreadingHTTPServer((self._host, self._port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="webhooks", daemon=True)
        self._thread.start()
        log.info("webhooks.listening", extra={"event": "webhooks.listening",
                                              "fields": {"host": self._host, "port": self.port}})
        return self.port

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def _reject(self, status: int, reason: str, path: str, peer: str) -> tuple[int, dict]:
        self.rejected += 1
        log.warning("webhooks.rejected %s path=%s peer=%s", reason, path, peer,
                    extra={"event": "webhooks.rejected", "fields": {"reason": reason, "path": path, "peer": peer}})
        return status, {"error": reason}

    def _handle(self, h: BaseHTTPRequestHandler) -> tuple[int, dict]:
        path = h.path.split("?", 1)[0]
        peer = h.client_address[0]
        route = ROUTES.get(path)
        try:
            length = int(h.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            # never read on a length we cannot trust: a negative read blocks until the peer closes
            h.close_connection = True
            return self._reject(400, "bad Content-Length", path, peer)
        if length > MAX_BODY:
            h.close_connection = True
            return self._reject(413, "body too large", path, peer)
        body = h.rfile.read(length) if length else b""
        if route is None or route[0] not in self.trackers:
            return 404, {"error": f"no webhook at {path}"}
        tracker = route[0]
        problem = verify(self._secret, body, h.headers.get("X-Hub-Signature"), tracker)
        if problem == "unsigned":
            return self._reject(401, problem, path, peer)
        if problem:
            return self._reject(403, problem, path, peer)
        try:
            payload = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            return self._reject(400, "body is not JSON", path, peer)
        ticket = ticket_of(tracker, payload)
        if ticket is None:
            log.info("webhooks.ignored", extra={"event": "webhooks.ignored",
                                                "fields": {"tracker": tracker, "why": "names no ticket"}})
            return 202, {"accepted": False}
        self.accepted += 1
        log.info("webhooks.accepted %s %s", tracker, ticket,
                 extra={"event": "webhooks.accepted", "fields": {"tracker": tracker, "ticket": ticket}})
        self.on_ticket(tracker, ticket)
        return 202, {"accepted": True, "ticket": ticket}
