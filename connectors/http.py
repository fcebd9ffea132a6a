"""HTTP transport shared by the connectors: one session, timeouts, retries, typed errors.

- Every call has a timeout (connect, read).
- 429, 5xx, connection errors and timeouts are retried with full-jitter exponential
  back-off, honouring `Retry-After` (seconds or an HTTP date) when the server sends
  it. Other 4xx are final, and so is a TLS/certificate error: no retry mends a wrong
  scheme or an untrusted certificate.
- A transport failure names its cause (TLS/certificate error, name not resolved,
  connection refused, connect or read timeout) and the host (scheme://host:port); a
  URL `requests` cannot use at all is one line pointing at `tracker.url`.
- Failures become a few typed errors that keep the status code and the server's
  own messages; 401/403 become one line that says what is likely missing.
- No credential ever reaches a log line or an error message: errors carry the
  method and the path only, and `redact()` scrubs any text that holds a secret.

Sleeping goes through an injectable `sleep` (and the clock that reads a `Retry-After`
date through `now`) so tests never wait for, nor depend on, real time.
"""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from mapping.errors import UserError

log = logging.getLogger("escalator.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TrackerError(UserError):
    """A tracker call failed. `status` is the HTTP status, None for transport failures."""

    def __init__(self, message: str, *, status: int | None = None, method: str = "", path: str = "",
                 messages: Iterable[str] = (), field_errors: dict[str, str] | None = None):
        self.status = status
        self.method = method
        self.path = path
        self.messages = list(messages)
        self.field_errors = dict(field_errors or {})
        #: for a note written with values in one request (`connectors.base.Connector.write`): the value
        #: ("level", "severity", "state") the tracker's answer names as refused; None: the request whole
        self.part: str | None = None
        super().__init__(message)


class AuthError(TrackerError):
    """401/403: wrong credentials or a missing permission."""


class NotFound(TrackerError):
    """404."""


class Conflict(TrackerError):
    """400/409/422: the tracker refused the request as invalid."""


class RateLimited(TrackerError):
    """429 after all retries."""


class ServerError(TrackerError):
    """5xx after all retries."""


class Unreachable(TrackerError):
    """Connection refused, DNS failure or timeout after all retries; a TLS error at once."""

    hint = "check tracker.url in the config file, and that the tracker is up"


def transport_cause(exc: requests.RequestException) -> str:
    """A short, credential-free cause for a connection error or timeout.

    Never the exception's own text: urllib3 puts the whole URL, query included, in it.
    """
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS/certificate error"
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    # urllib3 wraps the socket error (NameResolutionError, NewConnectionError) in
    # MaxRetryError: walk the chain of reasons and causes down to the socket
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        err = todo.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, socket.gaierror) or type(err).__name__ == "NameResolutionError":
            return "name not resolved"
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, ConnectionResetError):
            return "connection reset"
        todo += [e for e in (getattr(err, "reason", None), err.__cause__, err.__context__,
                             *(a for a in getattr(err, "args", ()) if isinstance(a, BaseException)))
                 if isinstance(e, BaseException)]
    text = str(exc)  # matched, never shown
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "name not resolved"
    if "Connection refused" in text:
        return "connection refused"
    return "connection failed"


def origin(url: str) -> str:
    """scheme://host:port of a URL: never the user info, the path nor the query."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return "(unparsable URL)"
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "") if host else "(no host)"


#: what `requests` raises, before sending anything, for a URL it cannot use
URL_ERRORS = (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
              requests.exceptions.InvalidURL, requests.exceptions.URLRequired)


def _url_problem(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.MissingSchema):
        return "it has no http:// or https:// scheme"
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return "its scheme is not http or https"
    return "it is not a valid URL"


@dataclass
class RetryPolicy:
    attempts: int = 5
    base: float = 0.5  # seconds
    cap: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        # full jitter (AWS architecture blog): spreads competing clients apart
        return rng.uniform(0, min(self.cap, self.base * 2**attempt))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def tracker_time(resp: requests.Response) -> datetime | None:
    """When the request reached the tracker, on the tracker's clock: the answer's `Date` (RFC 9110
    §6.6.1: every origin server with a clock sends it; whole seconds) less the exchange's round
    trip, so never later than that moment whichever end of the exchange the server stamped it at.
    None without a usable `Date`."""
    try:
        when = email.utils.parsedate_to_datetime(resp.headers.get("Date") or "")
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate gives naive only for "-0000"
        when = when.replace(tzinfo=UTC)
    return when - resp.elapsed


def _shown_url(url: str) -> str:
    """The URL without user info nor query, for an error about the URL itself."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"{netloc}{parts.path}"
    except ValueError:
        return url.split("?", 1)[0].rpartition("@")[2]


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


@dataclass
class CallStats:
    """Counts calls per tracker, for metrics and benchmarks."""

    calls: int = 0
    errors: int = 0
    retries: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


class HttpClient:
    """A `requests.Session` with the project's transport rules. One per tracker."""

    def __init__(self, base_url: str, *, tracker: str, headers: dict[str, str] | None = None,
                 auth: Any = None, secrets: Iterable[str] = (), timeout: tuple[float, float] = (5.0, 30.0),
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, auth_hint: str = "",
                 on_call: Callable[[str, str, int | None], None] | None = None,
                 now: Callable[[], datetime] | None = None):
        self.base_url = base_url.rstrip("/")
        self.tracker = tracker
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "incident-escalator/0.1"})
        self.session.headers.update(headers or {})
        self.session.auth = auth
        self.secrets = [s for s in secrets if s]
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.auth_hint = auth_hint
        self.stats = CallStats()
        self.on_call = on_call
        self.now = now or (lambda: datetime.now(UTC))  # for a `Retry-After` HTTP-date
        #: when the last answered request reached the tracker, by its clock (`tracker_time`): what an
        #: incremental read may count as read (`connectors.base.Cursor.read_at`)
        self.answered_at: datetime | None = None

    # -- the one entry point ----------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                headers: dict[str, str] | None = None, expect_json: bool = True,
                idempotent: bool = True) -> Any:
        """`idempotent=False` (e.g. creating a comment): a request that may have reached the
        server is not sent again - only 429 and connect timeouts are retried."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        try:
            shown = urlsplit(url).path  # never the query: it may hold user data, never a secret
        except ValueError:  # e.g. an unclosed IPv6 bracket: `requests` says what is wrong below
            shown = path.split("?", 1)[0]
        attempt = 0
        while True:
            self.stats.calls += 1
            self.stats.by_path[shown] = self.stats.by_path.get(shown, 0) + 1
            try:
                resp = self.session.request(method, url, params=params, json=json, headers=headers,
                                            timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                cause = transport_cause(exc)
                self._count(method, shown, None)
                where = redact(origin(url), self.secrets)
                if isinstance(exc, requests.exceptions.SSLError):
                    # a wrong scheme (https to a plain-http port) or an untrusted certificate:
                    # retrying cannot help
                    raise Unreachable(f"{self.tracker}: {method} {shown}: {cause} at {where} (not retried; "
                                      f"check the scheme and certificate of tracker.url)",
                                      method=method, path=shown) from None
                if (idempotent or isinstance(exc, requests.ConnectTimeout)) and attempt + 1 < self.retry.attempts:
                    self._backoff(attempt, None, method, shown, cause)
                    attempt += 1
                    continue
                raise Unreachable(f"{self.tracker}: {method} {shown}: {cause} at {where} after {attempt + 1} "
                                  f"attempt{'s' if attempt else ''}", method=method, path=shown) from None
            except URL_ERRORS as exc:
                # InvalidURL, MissingSchema, InvalidSchema: nothing was sent, and nothing will be
                self._count(method, shown, None)
                raise TrackerError(f"{self.tracker}: {method} {shown}: cannot use the URL "
                                   f"{redact(_shown_url(url), self.secrets)!r}: {_url_problem(exc)} "
                                   f"(check tracker.url)", method=method, path=shown) from None
            except requests.RequestException as exc:
                # the rest (too many redirects, a broken chunked or compressed body): one line,
                # never the exception's text, which holds the URL and its query
                self._count(method, shown, None)
                raise TrackerError(f"{self.tracker}: {method} {shown}: the exchange with "
                                   f"{redact(origin(url), self.secrets)} failed ({type(exc).__name__})",
                                   method=method, path=shown) from None
            self._count(method, shown, resp.status_code)
            self.answered_at = tracker_time(resp)
            if resp.status_code in RETRY_STATUSES and (idempotent or resp.status_code == 429) \
                    and attempt + 1 < self.retry.attempts:
                self._backoff(attempt, parse_retry_after(resp.headers.get("Retry-After"), self.now()), method, shown,
                              str(resp.status_code))
                attempt += 1
                continue
            if resp.status_code >= 400:
                raise self._error(resp, method, shown, attempt + 1)
            if not expect_json:
                return resp
            if resp.status_code == 204 or not resp.content:
                return None
            try:
                return resp.json()
            except ValueError:
                raise TrackerError(f"{self.tracker}: {method} {shown}: answer is not JSON "
                                   f"(HTTP {resp.status_code})", status=resp.status_code,
                                   method=method, path=shown) from None

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        self.session.close()

    # -- helpers -----------------------------------------------------------------------
    def _count(self, method: str, path: str, status: int | None) -> None:
        if status is None or status >= 400:
            self.stats.errors += 1
        if self.on_call:
            self.on_call(method, path, status)

    def _backoff(self, attempt: int, retry_after: float | None, method: str, path: str, why: str) -> None:
        delay = self.retry.delay(attempt, retry_after, self.rng)
        self.stats.retries += 1
        log.info("%s.retry", self.tracker,
                 extra={"event": f"{self.tracker}.retry", "method": method, "path": path, "why": why,
                        "attempt": attempt + 1, "delay": round(delay, 3)})
        self.sleep(delay)

    def _error(self, resp: requests.Response, method: str, path: str, attempts: int | None = None) -> TrackerError:
        messages, field_errors = _server_messages(resp)
        detail = "; ".join(messages + [f"{k}: {v}" for k, v in field_errors.items()])
        detail = redact(detail, self.secrets)[:500]
        where = f"{self.tracker}: {method} {path}: HTTP {resp.status_code}"
        kw = dict(status=resp.status_code, method=method, path=path, messages=messages, field_errors=field_errors)
        if resp.status_code == 401:
            hint = self.auth_hint or "check the credentials"
            return AuthError(f"{where}: not authenticated — {hint}", **kw)
        if resp.status_code == 403:
            return AuthError(f"{where}: permission denied — the account lacks a permission this needs"
                             + (f" ({detail})" if detail else ""), **kw)
        suffix = f": {detail}" if detail else ""
        if resp.status_code == 404:
            return NotFound(f"{where} not found{suffix}", **kw)
        if resp.status_code == 429:
            return RateLimited(f"{where} rate limited after {attempts or self.retry.attempts} attempts{suffix}", **kw)
        if resp.status_code >= 500:
            return ServerError(f"{where} server error after {attempts or self.retry.attempts} attempts{suffix}",
                               **kw)
        if resp.status_code in (400, 409, 422):
            return Conflict(f"{where}{suffix}", **kw)
        return TrackerError(f"{where}{suffix}", **kw)


def _server_messages(resp: requests.Response) -> tuple[list[str], dict[str, str]]:
    """Jira: {errorMessages: [...], errors: {field: msg}}; Zammad: {error: ..., error_human: ...}."""
    try:
        body = resp.json()
    except ValueError:
        return [], {}
    if not isinstance(body, dict):
        return [], {}
    messages = [str(m) for m in body.get("errorMessages") or [] if m]
    field_errors = {str(k): str(v) for k, v in (body.get("errors") or {}).items()} \
        if isinstance(body.get("errors"), dict) else {}
    for key in ("error_human", "error", "message"):
        if isinstance(body.get(key), str) and body[key] and body[key] not in messages:
            messages.append(body[key])
            break
    return messages, field_errors
