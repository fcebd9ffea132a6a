"""The sandbox's after-write faults: the write is stored, the answer comes too late or never."""

from __future__ import annotations

import pytest
import requests

from sandbox.server import DROP, LATE, Fault, SandboxServer


@pytest.fixture
def server():
    srv = SandboxServer()
    stored: list[dict] = []

    @srv.route("POST", "/notes")
    def add(req):
        stored.append(req.json())
        return {"id": len(stored)}

    srv.stored = stored
    srv.start()
    yield srv
    srv.stop()


def test_a_late_answer_stores_the_write_and_answers_after_the_client_gave_up(server) -> None:
    server.add_fault(Fault("/notes", method="POST", times=1, after_write=LATE))
    with pytest.raises(requests.ReadTimeout):
        requests.post(server.base_url + "/notes", json={"n": 1}, timeout=0.2)
    assert server.stored == [{"n": 1}]
    # only the next matching request: the one after is answered at once
    assert requests.post(server.base_url + "/notes", json={"n": 2}, timeout=5).json() == {"id": 2}
    assert [c.status for c in server.calls] == [200, 200]


def test_a_dropped_answer_stores_the_write_and_closes_the_connection(server) -> None:
    server.add_fault(Fault("/notes", method="POST", times=2, after_write=DROP))
    for n in (1, 2):
        with pytest.raises(requests.ConnectionError):
            requests.post(server.base_url + "/notes", json={"n": n}, timeout=5)
    assert server.stored == [{"n": 1}, {"n": 2}]
    assert requests.post(server.base_url + "/notes", json={"n": 3}, timeout=5).json() == {"id": 3}
    assert [c.status for c in server.calls] == [0, 0, 200]
