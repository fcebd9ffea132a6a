"""A loopback HTTP endpoint for webhook tests: records what it is sent, answers what the test scripts."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Caught:
    path: str
    headers: dict[str, str]
    body: bytes


class Catcher:
    """`answers` are the statuses of the next calls, in order; then 200."""

    def __init__(self, answers: list[int] | None = None):
        self.answers = list(answers or [])
        self.caught: list[Caught] = []
        self._lock = threading.Lock()
        catcher = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with catcher._lock:
                    catcher.caught.append(Caught(self.path, dict(self.headers.items()), body))
                    status = catcher.answers.pop(0) if catcher.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
