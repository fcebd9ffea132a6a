"""What the daemon's two small HTTP services share: a loopback-first server on its own thread.

The webhook receiver (`plugin.webhooks`) and the status page (`plugin.statuspage`) each
build their own request handler; this holds the port, the URL, the serving thread and a
stop that frees the port.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class ServedOnAThread:
    """`host:port` (port 0: any free one), served by `_serve(httpd, name)` until `stop()`."""

    what = "server"

    def __init__(self, host: str, port: int):
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{self.what} not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def _serve(self, httpd: ThreadingHTTPServer, name: str) -> None:
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
