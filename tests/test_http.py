"""The shared transport (`connectors.http.HttpClient`): back-off, `Retry-After`, causes, secrets.

Transport failures are injected with `responses` (`body=<exception>`); sleeping goes through
a recording `sleep` and randomness through a seeded `rng`, so nothing waits for real time.
"""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from connectors.http import (
    HttpClient,
    RateLimited,
    RetryPolicy,
    ServerError,
    TrackerError,
    Unreachable,
)

BASE = "https://tracker.example.com:8443"
TOKEN = "tok-5ecret-9f8e7d"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PATH = "/api/v1/tickets/search"
URL = f"{BASE}{PATH}"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(seed: int = 7, attempts: int = 5, base_url: str = BASE, **kw) -> tuple[HttpClient, Sleeps]:
    sleeps = Sleeps()
    http = HttpClient(base_url, tracker="zammad", secrets=[TOKEN], sleep=sleeps, rng=random.Random(seed),
                      retry=RetryPolicy(attempts=attempts), now=lambda: NOW, **kw)
    return http, sleeps


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- back-off ---------------------------------------------------------------------------------------
def test_full_jitter_draws_differ_and_stay_within_the_exponential_bound() -> None:
    policy, rng = RetryPolicy(base=0.5, cap=30.0), random.Random(1)
    for attempt in range(10):
        bound = min(policy.cap, policy.base * 2**attempt)
        draws = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0 <= d <= bound for d in draws)
        # jitter, not a fixed back-off: the draws spread over most of [0, bound]
        assert len(set(draws)) > 150
        assert min(draws) < 0.2 * bound and max(draws) > 0.8 * bound


def test_the_client_sleeps_a_jittered_delay_per_attempt(rsps) -> None:
    rsps.get(URL, status=503)
    per_attempt: list[set[float]] = [set() for _ in range(4)]
    for seed in range(20):
        http, sleeps = client(seed)
        with pytest.raises(ServerError, match="after 5 attempts"):
            http.get(PATH)
        assert len(sleeps) == 4 and http.stats.retries == 4
        for attempt, delay in enumerate(sleeps):
            assert 0 <= delay <= min(30.0, 0.5 * 2**attempt)
            per_attempt[attempt].add(delay)
    assert all(len(delays) > 10 for delays in per_attempt)  # differ across rng draws


@pytest.mark.parametrize(("header", "slept"), [
    ("7", 7.0),
    (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),  # an HTTP-date, read against `now`
    ("3600", 120.0),  # capped at max_retry_after
    (format_datetime(NOW + timedelta(hours=2), usegmt=True), 120.0),
    (format_datetime(NOW - timedelta(seconds=5), usegmt=True), 0.0),  # a date in the past: at once
])
def test_retry_after_is_honoured_and_capped(rsps, header, slept) -> None:
    rsps.get(URL, status=429, headers={"Retry-After": header})
    rsps.get(URL, json={"ok": True})
    http, sleeps = client()
    assert http.get(PATH) == {"ok": True}
    assert sleeps == [slept]


def test_429_after_every_attempt_is_rate_limited(rsps) -> None:
    rsps.get(URL, status=429, headers={"Retry-After": "1"})
    http, sleeps = client(attempts=3)
    with pytest.raises(RateLimited, match="rate limited after 3 attempts"):
        http.get(PATH)
    assert sleeps == [1.0, 1.0]


# -- transport failures -----------------------------------------------------------------------------
def _name_not_resolved() -> requests.ConnectionError:
    # the chain `requests` really raises for a DNS failure
    dns = NameResolutionError("tracker.example.com", None, socket.gaierror(-2, "Name or service not known"))
    return requests.ConnectionError(MaxRetryError(None, PATH, dns))


def _refused() -> requests.ConnectionError:
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.ConnectionError(MaxRetryError(None, PATH, refused))


@pytest.mark.parametrize(("make", "cause"), [
    (lambda: requests.ReadTimeout("read timed out"), "read timeout"),
    (lambda: requests.ConnectTimeout("connect timed out"), "connect timeout"),
    (_name_not_resolved, "name not resolved"),
    (_refused, "connection refused"),
    (lambda: requests.ConnectionError("RemoteDisconnected"), "connection failed"),
])
def test_timeouts_and_connection_errors_are_retried_then_unreachable_with_the_cause(rsps, make, cause) -> None:
    rsps.get(URL, body=make())
    http, sleeps = client()
    with pytest.raises(Unreachable) as err:
        http.get(PATH)
    assert str(err.value) == f"zammad: GET {PATH}: {cause} at https://tracker.example.com:8443 after 5 attempts"
    assert len(sleeps) == 4 and http.stats.calls == 5


def test_a_retried_timeout_that_then_answers_is_no_error(rsps) -> None:
    rsps.get(URL, body=requests.ReadTimeout("read timed out"))
    rsps.get(URL, json=[1])
    http, sleeps = client()
    assert http.get(PATH) == [1] and len(sleeps) == 1


def test_a_tls_error_is_not_retried_and_says_so(rsps) -> None:
    # what an https URL pointing at a plain-http port gives
    rsps.get(URL, body=requests.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number"))
    http, sleeps = client()
    with pytest.raises(Unreachable) as err:
        http.get(PATH)
    assert "TLS/certificate error at https://tracker.example.com:8443" in str(err.value)
    assert "not retried" in str(err.value) and "tracker.url" in str(err.value)
    assert sleeps == [] and http.stats.calls == 1


def test_a_real_refused_connection_names_its_cause_and_host() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http, sleeps = client(attempts=2, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(Unreachable, match=rf"connection refused at http://127\.0\.0\.1:{port} after 2 attempts"):
        http.get(PATH)
    assert len(sleeps) == 1


@pytest.mark.parametrize(("base_url", "problem"), [
    ("tracker.example.com", "no http:// or https:// scheme"),
    ("ftp://tracker.example.com", "scheme is not http or https"),
    ("http://", "not a valid URL"),
    ("http://[::1", "not a valid URL"),
])
def test_an_unusable_url_is_one_line_naming_tracker_url(base_url, problem) -> None:
    http, sleeps = client(base_url=base_url)
    with pytest.raises(TrackerError) as err:
        http.get(PATH)
    message = str(err.value)
    assert type(err.value) is TrackerError and "\n" not in message
    assert problem in message and "check tracker.url" in message and "cannot use the URL" in message
    assert sleeps == []


def test_another_request_failure_is_one_line_without_the_query(rsps) -> None:
    rsps.get(URL, body=requests.TooManyRedirects(f"Exceeded 30 redirects: {URL}?q=findme"))
    http, sleeps = client()
    with pytest.raises(TrackerError) as err:
        http.get(f"{PATH}?q=findme")
    assert str(err.value) == (f"zammad: GET {PATH}: the exchange with https://tracker.example.com:8443 failed "
                              "(TooManyRedirects)")
    assert sleeps == []


# -- idempotency --------------------------------------------------------------------------------------
def test_a_non_idempotent_post_is_not_resent_after_a_read_timeout(rsps) -> None:
    rsps.post(URL, body=requests.ReadTimeout("read timed out"))
    http, sleeps = client()
    with pytest.raises(Unreachable, match="read timeout .* after 1 attempt$"):
        http.post(PATH, json={}, idempotent=False)
    assert http.stats.calls == 1 and sleeps == []


def test_a_non_idempotent_post_is_not_resent_after_a_5xx(rsps) -> None:
    rsps.post(URL, status=502)
    http, sleeps = client()
    with pytest.raises(ServerError, match="after 1 attempts"):
        http.post(PATH, json={}, idempotent=False)
    assert http.stats.calls == 1 and sleeps == []


@pytest.mark.parametrize("first", [
    {"status": 429, "headers": {"Retry-After": "2"}},
    {"body": requests.ConnectTimeout("connect timed out")},  # never reached the server
])
def test_a_non_idempotent_post_is_resent_after_429_or_a_connect_timeout(rsps, first) -> None:
    rsps.post(URL, **first)
    rsps.post(URL, json={"id": 1}, status=201)
    http, sleeps = client()
    assert http.post(PATH, json={}, idempotent=False) == {"id": 1}
    assert http.stats.calls == 2 and len(sleeps) == 1


# -- secrets --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    {"body": requests.ReadTimeout(f"HTTPSConnectionPool: Read timed out. {URL}?token={TOKEN}&q=findme")},
    {"body": requests.exceptions.SSLError(f"Max retries exceeded with url: {PATH}?token={TOKEN}&q=findme")},
    {"body": requests.ConnectionError(f"Max retries exceeded with url: {PATH}?token={TOKEN}&q=findme")},
    {"status": 500, "json": {"error": f"bad token {TOKEN}"}},
    {"status": 401, "json": {"error": f"bad token {TOKEN}"}},
])
def test_an_error_never_shows_a_secret_nor_the_query(rsps, answer) -> None:
    rsps.get(URL, **answer)
    http, _ = client(attempts=2)
    with pytest.raises(TrackerError) as err:
        http.get(f"{PATH}?token={TOKEN}&q=findme")
    assert TOKEN not in str(err.value) and "findme" not in str(err.value)
    assert PATH in str(err.value)


def test_an_unusable_url_never_shows_user_info_nor_the_query() -> None:
    http, _ = client(base_url=f"ftp://admin:{TOKEN}@tracker.example.com")
    with pytest.raises(TrackerError) as err:
        http.get(f"{PATH}?q=findme")
    assert TOKEN not in str(err.value) and "admin" not in str(err.value) and "findme" not in str(err.value)


def test_the_trackers_time_of_an_answer_is_its_date_less_the_round_trip(rsps) -> None:
    http, _ = client()
    assert http.answered_at is None
    rsps.get(URL, json=[], headers={"Date": format_datetime(NOW, usegmt=True)})
    http.get(PATH)
    # never later than the Date: the request reached the tracker at or before it stamped the answer
    assert NOW - timedelta(seconds=5) < http.answered_at <= NOW and http.answered_at.tzinfo is not None


@pytest.mark.parametrize("date", [None, "", "yesterday at noon"], ids=["absent", "empty", "unparsable"])
def test_without_a_usable_date_the_trackers_time_is_unknown(rsps, date) -> None:
    http, _ = client()
    rsps.get(URL, json=[], headers={"Date": format_datetime(NOW, usegmt=True)})
    http.get(PATH)
    rsps.replace(responses.GET, URL, json=[], headers={} if date is None else {"Date": date})
    http.get(PATH)
    assert http.answered_at is None  # an earlier answer's time is not carried over
