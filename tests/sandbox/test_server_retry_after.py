"""The sandbox's injected 429/503 send `Retry-After` as real servers do: whole seconds."""

from __future__ import annotations

import pytest
import requests

from sandbox.server import Fault, Response, SandboxServer


@pytest.fixture
def server():
    sandbox = SandboxServer()
    sandbox.route("GET", "/ping")(lambda req: Response(200, {"ok": True}))
    with sandbox:
        yield sandbox


@pytest.mark.parametrize(("retry_after", "header"), [(0.2, "1"), (2.5, "3"), (7, "7"), (3.0, "3"), (0, "0")])
def test_a_fractional_retry_after_is_sent_as_whole_seconds_rounded_up(server, retry_after, header) -> None:
    # RFC 9110 §10.2.3: delay-seconds = 1*DIGIT; rounding down would invite a too-early retry
    server.add_fault(Fault(path=r"/ping$", status=429, retry_after=retry_after))
    answer = requests.get(f"{server.base_url}/ping", timeout=5)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == header
    assert requests.get(f"{server.base_url}/ping", timeout=5).json() == {"ok": True}
