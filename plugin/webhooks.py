"""The webhook receiver: a tracker tells the daemon a ticket changed, the daemon reads it at once.

Optional (`webhooks.enabled`), on `http.server` in a thread, one path per tracker:
`POST /webhooks/jira`, `POST /webhooks/zammad`. How a tracker signs its webhook and where
the body names the ticket is the connector's (`connectors.factory.webhook_for`: Jira
HMAC-SHA256, Zammad HMAC-SHA1, both as `X-Hub-Signature`); this module is HTTP only.

No signature → 401, a wrong one → 403, each logged as `webhooks.rejected` (reason, path,
peer; never the secret nor the signature). The receiver does no tracker work itself: it
hands the ticket id to the daemon (`on_ticket`), which re-reads the ticket before acting
— a webhook body is a hint, never trusted as the ticket's state.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connectors.factory import webhook_for

log = logging.getLogger("escalator.webhooks")

#: path -> tracker kind
ROUTES = {"/webhooks/jira": "jira", "/webhooks/zammad": "zammad"}
MAX_BODY = 1 << 20  # a webhook larger than 1 MiB is not one we need


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
        if route is None or route not in self.trackers:
            return 404, {"error": f"no webhook at {path}"}
        tracker, webhook = route, webhook_for(route)
        problem = webhook.verify(self._secret, body, h.headers.get(webhook.header))
        if problem == "unsigned":
            return self._reject(401, problem, path, peer)
        if problem:
            return self._reject(403, problem, path, peer)
        try:
            payload = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            return self._reject(400, "body is not JSON", path, peer)
        ticket = webhook.ticket_of(payload)
        if ticket is None:
            log.info("webhooks.ignored", extra={"event": "webhooks.ignored",
                                                "fields": {"tracker": tracker, "why": "names no ticket"}})
            return 202, {"accepted": False}
        self.accepted += 1
        log.info("webhooks.accepted %s %s", tracker, ticket,
                 extra={"event": "webhooks.accepted", "fields": {"tracker": tracker, "ticket": ticket}})
        self.on_ticket(tracker, ticket)
        return 202, {"accepted": True, "ticket": ticket}
