"""The loopback HTTP server both sandbox trackers are built on.

A sandbox is a stateful emulation of a tracker's REST endpoints on a real socket
(127.0.0.1, a free port). This module gives them routing, authentication, fault
injection (status codes, `Retry-After`, slow answers, writes stored but answered late or
never), a real-time rate limiter that
answers 429 like the tracker does, and a log of every call for tests and benchmarks.
The tracker-specific parts live in `sandbox/jira/` and `sandbox/zammad/`, each laid out
as moto lays out a service: `server.py` (the subclass of `SandboxServer`: auth hooks,
rate-limit answers, seed API), `models.py` (state), `responses.py` (the REST
operations), `urls.py` (the routing table), `exceptions.py` (refusals in the
tracker's own error shape, raised as `HttpError`s). The calls a tracker makes itself —
webhooks — go out through `sandbox.deliveries`.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised by a handler to answer with an error payload."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        self.response = Response(status, body, headers or {})
        super().__init__(status)


#: `Fault.after_write` modes: the write is stored, then its answer comes after the client gave up
#: (LATE), or never: the connection is closed without a word (DROP). What a real tracker does when
#: the request lands but the answer is lost (a proxy's timeout, a reset connection).
LATE, DROP = "late", "drop"


@dataclass
class Fault:
    """Answer the next `times` calls matching method and path with this instead.

    With `after_write` set, the call is served as usual (the write is stored) and `status`
    is ignored: LATE holds the answer until the client has closed its end (its read timeout
    fired; at most `delay` seconds, 30 when unset), then sends it into the closed socket;
    DROP closes the connection without an answer. Waiting on the client rather than on a
    clock keeps the fault deterministic: the answer is late whatever the machine's speed.
    """

    path: str  # regex searched in the path
    status: int = 503
    times: int = 1
    method: str | None = None
    retry_after: float | None = None
    delay: float = 0.0  # seconds before answering (a slow answer; with status 0 the real answer follows)
    body: Any = None
    after_write: str | None = None  # LATE or DROP
    #: the call is held in flight until the test sets this (a process killed while it waits for an answer)
    hold: threading.Event | None = None


@dataclass
class CallRecord:
    method: str
    path: str
    query: str
    status: int


class RateLimiter:
    """Token bucket in real time: `rate` requests a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst or max(int(rate), 1)
        self.clock = clock
        self.tokens = float(self.burst)
        self.stamp = clock()
        self.lock = threading.Lock()

    def take(self) -> float | None:
        """None when allowed; otherwise the seconds until a token is free."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            return (1 - self.tokens) / self.rate

    @property
    def remaining(self) -> int:
        return int(self.tokens)


Handler = Callable[[Request], Response | Any]


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-request (a daemon killed with SIGKILL, a timed-out read)
    is its own business, as on a real tracker: no traceback on stderr. Anything else is still
    printed by `socketserver`'s default handler, since it is the sandbox's own bug."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # reset, broken pipe, aborted
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """Routing, auth, faults, rate limit and call log over a ThreadingHTTPServer."""

    #: seconds between the serving loop's shutdown checks (how long `stop()` may wait)
    poll_interval: float = 0.5

    #: subclasses: the tracker's answer to a bad credential
    def unauthorized(self, request: Request) -> Response:
        return Response(401, {"error": "authentication failed"})

    #: subclasses: the tracker's 429 (status, body, headers)
    def rate_limited(self, request: Request, wait: float) -> Response:
        return Response(429, {"error": "rate limited"}, {"Retry-After": str(max(1, round(wait)))})

    #: subclasses: extra headers on every answer (e.g. remaining rate-limit budget)
    def common_headers(self) -> dict[str, str]:
        return {}

    #: subclasses: an answer for every request while the tracker is down (e.g. restarting)
    def outage(self, request: Request) -> Response | None:
        return None

    #: subclasses: the tracker's clock, the one its `updated` times come from. Every answer's
    #: `Date` is read from it (RFC 9110 §6.6.1: an origin server with a clock sends one), so a
    #: client that reckons by the tracker's time (`connectors.base.Cursor.read_at`) meets the
    #: sandbox's, injected and stepped as it may be; without one, the machine's
    clock: Callable[[], datetime] | None = None

    def http_date(self) -> str | None:
        """The `Date` of an answer to a request arriving now. Stamped when the request arrives, not
        when the answer leaves: on an accelerated clock the milliseconds the work takes are many
        clock seconds, and a `Date` that late would claim the search ran later than it did."""
        if self.clock is None:
            return None
        return email.utils.format_datetime(self.clock().astimezone(UTC), usegmt=True)

    def __init__(self, *, authenticate: Callable[[Request], bool] | None = None,
                 rate_limit: RateLimiter | None = None, host: str = "127.0.0.1", port: int = 0):
        self.lock = threading.RLock()  # guards the emulated tracker's state
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.calls: list[CallRecord] = []
        self.authenticate = authenticate
        self.rate_limit = rate_limit
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routing ----------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register a handler; `pattern` is a regex with named groups, anchored on the path."""
        compiled = re.compile(f"^{pattern}$")

        def deco(fn: Handler) -> Handler:
            self.routes.append((method.upper(), compiled, fn))
            return fn

        return deco

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def calls_to(self, pattern: str, method: str | None = None) -> int:
        rx = re.compile(pattern)
        return sum(1 for c in self.calls if rx.search(c.path) and (method is None or c.method == method))

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if not self._httpd:
            raise RuntimeError("sandbox not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without TCP_NODELAY, Nagle and the
            # client's delayed ACK add ~40 ms to every keep-alive answer
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                server._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve
            date: str | None = None  # this request's `Date`, by the sandbox's clock (`http_date`)

            def date_time_string(self, timestamp: float | None = None) -> str:  # what send_response sends
                return self.date or super().date_time_string(timestamp)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the call log records it
                return

        self._httpd = _QuietServer((self._host, self._port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(self.poll_interval,),
                                        name="sandbox", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one request ----------------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        h.date = self.http_date()  # type: ignore[attr-defined]  # `_Handler.date`
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(h.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                      {k.lower(): v for k, v in h.headers.items()}, body)
        fault = self._take_fault(req)
        after = fault.after_write if fault is not None else None
        resp = self._answer(req, None if after else fault)
        with self.lock:
            self.calls.append(CallRecord(req.method, req.path, parts.query, 0 if after == DROP else resp.status))
        if after == DROP:
            _drop(h)
            return
        if after == LATE:
            _await_hang_up(h.connection, fault.delay or 30.0)
            h.close_connection = True
        self._send(h, resp)

    def _answer(self, req: Request, fault: Fault | None = None) -> Response:
        if fault is not None:
            if fault.hold is not None:
                fault.hold.wait()  # outside the lock: the rest of the tracker goes on meanwhile
            if fault.delay:
                time.sleep(fault.delay)  # a slow answer, for client timeout tests
            if fault.status:
                headers = {"Retry-After": _fmt(fault.retry_after)} if fault.retry_after is not None else {}
                return Response(fault.status, fault.body if fault.body is not None else {"error": "injected fault"},
                                headers)
        with self.lock:
            down = self.outage(req)
        if down is not None:
            return down
        if self.authenticate and not self.authenticate(req):
            return self.unauthorized(req)
        if self.rate_limit:
            wait = self.rate_limit.take()
            if wait is not None:
                return self.rate_limited(req, wait)
        for method, pattern, fn in self.routes:
            if method != req.method:
                continue
            match = pattern.match(req.path)
            if match:
                req.params = match.groupdict()
                try:
                    with self.lock:
                        out = fn(req)
                except HttpError as err:
                    return err.response
                return out if isinstance(out, Response) else Response(200, out)
        known_path = any(p.match(req.path) for _, p, _ in self.routes)
        return self.not_found(req, method_not_allowed=known_path)

    def not_found(self, req: Request, *, method_not_allowed: bool) -> Response:
        if method_not_allowed:
            return Response(405, {"error": f"{req.method} not allowed on {req.path}"})
        return Response(404, {"error": f"no route for {req.path}"})

    def _take_fault(self, req: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.method is None or fault.method == req.method) \
                        and re.search(fault.path, req.path):
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _send(self, h: BaseHTTPRequestHandler, resp: Response) -> None:
        if isinstance(resp.body, bytes):
            payload, ctype = resp.body, "application/octet-stream"
        elif isinstance(resp.body, str):
            payload, ctype = resp.body.encode("utf-8"), "text/plain; charset=utf-8"
        elif resp.body is None:
            payload, ctype = b"", None
        else:
            payload, ctype = json.dumps(resp.body, ensure_ascii=False).encode("utf-8"), \
                "application/json;charset=UTF-8"
        try:
            h.send_response(resp.status)
            headers = {**self.common_headers(), **resp.headers}
            if ctype and "Content-Type" not in headers:
                headers["Content-Type"] = ctype
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            if payload and h.command != "HEAD":
                h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (e.g. its timeout fired during a slow answer)
            pass


def _await_hang_up(conn: socket.socket, limit: float) -> None:
    """Wait until the client closes its end of the connection (EOF), at most `limit` seconds."""
    try:
        readable, _, _ = select.select([conn], [], [], limit)
        if readable:
            conn.recv(1, socket.MSG_PEEK)  # b"" on EOF; a reset raises: either way the client is gone
    except OSError:
        pass


def _drop(h: BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer (the client sees it reset or closed)."""
    h.close_connection = True
    try:
        h.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _fmt(seconds: float) -> str:
    """`Retry-After` delay-seconds is a non-negative integer (RFC 9110 §10.2.3): round a
    fraction up, as a real server would, so a client never retries too early."""
    return str(max(0, math.ceil(seconds)))
