"""A client that goes away mid-request (a daemon killed with SIGKILL) leaves no traceback on the
sandbox's stderr, as on a real tracker; the sandbox's own errors are still printed."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer


@pytest.fixture
def server():
    with SandboxServer() as sandbox:  # no route needed: only its error handler is called
        yield sandbox


@pytest.mark.parametrize("gone", [ConnectionResetError(104, "Connection reset by peer"),
                                  BrokenPipeError(32, "Broken pipe")], ids=["reset", "broken-pipe"])
def test_a_client_gone_mid_request_is_not_reported(server, capsys, gone) -> None:
    try:
        raise gone
    except ConnectionError:
        server._httpd.handle_error(None, ("127.0.0.1", 4242))
    assert capsys.readouterr().err == ""


def test_the_sandboxs_own_error_is_still_printed(server, capsys) -> None:
    try:
        raise KeyError("no such route table")
    except KeyError:
        server._httpd.handle_error(None, ("127.0.0.1", 4242))
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and "KeyError: 'no such route table'" in err
