"""The webhook receiver: a tracker tells the daemon a ticket changed, the daemon reads it at once.

Optional (`webhooks.enabled`), on `http.server` in a thread, one path per tracker:
`POST /webhooks/jira`, `POST /webhooks/zammad`. How a tracker signs its webhook and where
the body names the ticket is the connector's (`connectors.factory.webhook_for`: Jira
HMAC-SHA256, Zammad HMAC-SHA1, both as `X-Hub-Signature`); this module is HTTP only.

No signature → 401, a wrong one → 403, each logged as `webhooks.rejected` (reason, path,
peer; never the secret nor the signature). The receiver does no tracker work itself: it
hands the ticket id to the daemon (`on_ticket`), which re-reads the ticket before acting
— a webhook body is a hint, never trusted as the ticket's state.

Bounds, so that a peer that connects and stalls cannot wear the receiver down (a request
announcing `Content-Length: 1000000` and sending 2 bytes used to hold a thread for ever):

- `read_timeout`: the whole request (line, headers and body) must arrive within it; a
  silent socket is dropped when one read waits that long (`StreamRequestHandler.timeout`),
  a trickling body when the deadline passes (408, then closed). Jira and Zammad send a
  webhook in one go, so a few seconds are plenty.
- `max_connections`: at most this many connections are served at once, one thread each;
  one more is answered 503 and closed at once (a tracker retries a failed webhook, and the
  daemon's poll finds the change anyway). Stalled peers below the bound cost a thread for
  at most `read_timeout` each and leave the rest of the bound to real webhooks.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connectors.factory import webhook_for
from plugin.serving import ServedOnAThread

log = logging.getLogger("escalator.webhooks")

#: path -> tracker kind
ROUTES = {"/webhooks/jira": "jira", "/webhooks/zammad": "zammad"}
MAX_BODY = 1 << 20  # a webhook larger than 1 MiB is not one we need
READ_TIMEOUT = 10.0  # seconds for a whole request to arrive
MAX_CONNECTIONS = 256  # served at once; stalled peers hold one each for READ_TIMEOUT at most
_BUSY_BODY = b'{"error": "too busy"}'
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(_BUSY_BODY) + _BUSY_BODY)


class _BodyTimeout(Exception):
    """The body did not arrive within the receiver's read timeout (or the peer left); the
    message says which."""


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most `slots` of them; the one beyond is told 503 and closed."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, slots: int, on_busy: Callable[[str], None]):
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(slots)
        self._on_busy = on_busy

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(BUSY)
            except OSError:
                pass
            self._on_busy(str(client_address[0]))
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class WebhookReceiver(ServedOnAThread):
    """Listens on `host:port`; calls `on_ticket(tracker, ticket_id)` for each accepted event."""

    what = "webhook receiver"

    def __init__(self, secret: str, on_ticket: Callable[[str, str], None], *, host: str = "127.0.0.1",
                 port: int = 0, trackers: tuple[str, ...] = ("jira", "zammad"),
                 read_timeout: float = READ_TIMEOUT, max_connections: int = MAX_CONNECTIONS):
        if not secret:
            raise ValueError("a webhook receiver needs a secret")
        if read_timeout <= 0 or max_connections < 1:
            raise ValueError("a webhook receiver needs a positive read_timeout and max_connections")
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._secret = secret
        self.on_ticket = on_ticket
        self.trackers = trackers
        super().__init__(host, port)
        self.accepted = 0
        self.rejected = 0

    def start(self) -> int:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = receiver.read_timeout  # every read on the socket, the request line and headers too

            def parse_request(self) -> bool:
                self.deadline = time.monotonic() + receiver.read_timeout  # the headers are in: the body's turn
                return super().parse_request()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                status, answer = receiver._handle(self)
                payload = json.dumps(answer).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the peer is gone (a dropped stall): nobody to answer
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # our own events instead
                return

        self._serve(_BoundedServer((self._host, self._port), _Handler, self.max_connections,
                                   lambda peer: self._count_reject("too many connections", "", peer)), "webhooks")
        log.info("webhooks.listening", extra={"event": "webhooks.listening",
                                              "fields": {"host": self._host, "port": self.port}})
        return self.port

    def _reject(self, status: int, reason: str, path: str, peer: str) -> tuple[int, dict]:
        self._count_reject(reason, path, peer)
        return status, {"error": reason}

    def _count_reject(self, reason: str, path: str, peer: str) -> None:
        self.rejected += 1
        log.warning("webhooks.rejected %s path=%s peer=%s", reason, path, peer,
                    extra={"event": "webhooks.rejected", "fields": {"reason": reason, "path": path, "peer": peer}})

    @staticmethod
    def _read_body(h: BaseHTTPRequestHandler, length: int) -> bytes:
        """`length` bytes, or `_BodyTimeout` once the handler's deadline has passed: a per-read
        timeout alone would let a peer trickle one byte a little more often than that for ever."""
        deadline: float = getattr(h, "deadline")  # noqa: B009 - set by the handler's parse_request
        chunks: list[bytes] = []
        got = 0
        while got < length:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _BodyTimeout("body not received in time")
            h.connection.settimeout(left)
            try:
                chunk = h.rfile.read1(length - got)
            except TimeoutError:
                raise _BodyTimeout("body not received in time") from None
            if not chunk:
                raise _BodyTimeout("connection closed before the body was sent")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

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
        try:
            body = self._read_body(h, length) if length else b""
        except _BodyTimeout as exc:
            h.close_connection = True
            return self._reject(408, str(exc), path, peer)
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
