"""The daemon's status page and probes, on an opt-in port (`status_page:` in the config).

Served from the running daemon, on `http.server` in a thread, loopback by default:

- `GET /`: one self-contained HTML page (no external asset: no script, font or style
  from elsewhere; readable on a phone) that reloads itself every `refresh` seconds:
  the tracker's health, which daemon leads it (with a PostgreSQL journal), the queue of
  open incidents (`plugin.queue`: what comes next, when, to whom — by the tracker's names
  for them — and what blocks it), the last actions from the journal, the duties' next times;
- `GET /status.json`: the same, for a script;
- `GET /healthz`: 200 while the daemon is alive — its last pass younger than the bound,
  the tracker not refusing its token (`plugin.health`); 503 otherwise. For a service
  manager's or a load balancer's liveness check;
- `GET /readyz`: 200 once a pass succeeded and while the tracker answers; 503 before,
  and during an outage;
- `GET /metrics`: the daemon's Prometheus metrics (`plugin.metrics`), text format.

Read-only: nothing here writes to the tracker or the journal; the page reads the
daemon's last snapshots, so serving it costs the tracker nothing. Heavier parts (the
journal's entries) are read at most once per pass.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST

from mapping.duties import next_times
from plugin.daemon import Daemon
from plugin.health import span
from plugin.queue import (
    QueueBuilder,
    Row,
    as_json,
    levels_reached,
    local,
    refusals,
    role_name,
    until,
)
from plugin.serving import ServedOnAThread

log = logging.getLogger("escalator.statuspage")

#: how many of the journal's last actions the page lists
LAST_ACTIONS = 20


class StatusPage:
    """What the page shows, gathered from a running daemon."""

    def __init__(self, daemon: Daemon, *, refresh: int = 30):
        self.daemon = daemon
        daemon.keep_snapshots()  # the queue lists the open incidents as last read
        daemon.name_people()  # and the people each step goes to, by name
        self.refresh = refresh
        self._memo_pass = -1
        self._memo: tuple[dict, dict, list] = ({}, {}, [])
        self._lock = threading.Lock()

    def _journal(self) -> tuple[dict, dict, list]:
        """(refusals, levels reached, last actions), read from the journal at most once per pass."""
        with self._lock:
            if self._memo_pass != self.daemon.passes:
                entries = self.daemon.journal.entries(self.daemon.tracker)
                # the actions, and the writes given up; not the steps inside an action (`plugin.outcomes`)
                actions = [e for e in entries if "|" not in e.marker or e.outcome in ("refused", "unconfirmed")]
                actions = actions[-LAST_ACTIONS:][::-1]
                self._memo = (refusals(entries), levels_reached(entries), actions)
                self._memo_pass = self.daemon.passes
            return self._memo

    def names(self, people: tuple[str, ...]) -> list[str]:
        """The people by display name, as the daemon learnt them (`Daemon.name_people`); an id until then."""
        known = self.daemon.names
        return [known.get(user, user) for user in people]

    def rows(self, now: datetime) -> list[Row]:
        d = self.daemon
        builder = QueueBuilder(d.ctx.procedure, d.ctx.config, d.ctx.mapping, watch_from=d.watch_from)
        refused, levels, _ = self._journal()
        return builder.rows(d.open_incidents(), now, refused, levels)

    def duties(self, now: datetime) -> list[dict[str, Any]]:
        if self.daemon.duties is None:
            return []
        out = []
        procedure = self.daemon.ctx.procedure
        for contract in sorted(procedure.contracts):
            zone = ZoneInfo(procedure.calendar_of(procedure.contracts[contract]).timezone)
            for duty, at in sorted(next_times(procedure, contract, now).items(), key=lambda kv: kv[1]):
                out.append({"contract": contract, "duty": duty, "at": at.isoformat(),
                            "local": at.astimezone(zone).strftime("%a %m-%d %H:%M %z"),
                            "in": until(at, now, self.daemon.ctx.config.language or "en")})
        return out

    def data(self) -> dict[str, Any]:
        d = self.daemon
        now = d.clock.now()
        rows = self.rows(now)
        actions = self._journal()[2]
        healthy, ready = d.health.healthy(), d.health.ready()
        return {"tracker": d.tracker, "url": d.ctx.config.tracker.url, "as_of": now.isoformat(), "dry_run": d.ctx.dry_run,
                "healthy": {"ok": healthy.ok, "reason": healthy.reason},
                "ready": {"ok": ready.ok, "reason": ready.reason}, "daemon": d.health.snapshot(),
                # who leads the tracker: this daemon (its epoch), or the one it stands by for (`plugin.leader`)
                "leader": d.fence.leader_text(),
                "incidents": [{**as_json(r, d.ctx.procedure, now), "people_names": self.names(r.people)}
                              for r in rows],
                "last_actions": [{"at": e.at.isoformat(), "ticket": e.ref, "kind": e.kind, "outcome": e.outcome,
                                  "marker": e.marker.split("|")[0]} for e in actions],
                "duties": self.duties(now)}

    def html(self) -> str:
        d = self.daemon
        now = d.clock.now()
        data = self.data()
        zone = ZoneInfo(d.ctx.procedure.calendar_of(d.ctx.procedure.contract(None)).timezone)
        rows = []
        for r in self.rows(now):
            s = r.step
            seconds = (s.deadline - now).total_seconds() if s else None
            rows.append({
                "ref": r.ref, "title": r.title, "severity": r.severity or "-", "contract": r.contract or "-",
                "level": "-" if r.level is None else r.level,
                "next": (f"{s.level}-{r.due_now[-1].level}" if len(r.due_now) > 1 else str(s.level)) if s else "-",
                "role": role_name(d.ctx.procedure, s.role, d.ctx.config.language or "en") if s else "",
                "due": local(s.deadline, r.zone).strftime("%a %m-%d %H:%M %z") if s else "-",
                "in": until(s.deadline, now, d.ctx.config.language or "en") if s else "-",
                "people": ", ".join(self.names(r.people)),
                "blocking": r.blocking or "",
                "urgency": "" if seconds is None else "overdue" if seconds < 0 else "soon" if seconds < 3600 else "",
            })
        daemon = data["daemon"]
        actions = [{**a, "at": datetime.fromisoformat(a["at"]).astimezone(zone).strftime("%m-%d %H:%M")}
                   for a in data["last_actions"]]
        return _template().render(
            data=data, rows=rows, actions=actions, refresh=self.refresh,
            as_of=now.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %z"),
            last_pass="never" if daemon["last_pass_age"] is None else f"{span(daemon['last_pass_age'])} ago",
            outage_for=None if daemon["outage_for"] is None else span(daemon["outage_for"]))


_ENV: Environment | None = None


def _template():
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("plugin", "templates"), autoescape=select_autoescape(["j2"]),
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return _ENV.get_template("status.html.j2")


class StatusServer(ServedOnAThread):
    """Serves a `StatusPage` and the probes on `host:port` (port 0: any free one)."""

    what = "status page"

    def __init__(self, daemon: Daemon, *, host: str = "127.0.0.1", port: int = 0, refresh: int = 30):
        self.page = StatusPage(daemon, refresh=refresh)
        self.daemon = daemon
        super().__init__(host, port)

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of `path`."""
        path = path.split("?", 1)[0]
        if path == "/":
            return 200, "text/html; charset=utf-8", self.page.html().encode("utf-8")
        if path == "/status.json":
            return 200, "application/json", json.dumps(self.page.data(), ensure_ascii=False).encode("utf-8")
        if path in ("/healthz", "/readyz"):
            verdict = self.daemon.health.healthy() if path == "/healthz" else self.daemon.health.ready()
            text = f"{'ok' if verdict.ok else 'unhealthy' if path == '/healthz' else 'not ready'}: {verdict.reason}\n"
            return (200 if verdict.ok else 503), "text/plain; charset=utf-8", text.encode("utf-8")
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self.daemon.metrics.text().encode("utf-8")
        return 404, "text/plain; charset=utf-8", f"no page at {path}\n".encode()

    def start(self) -> int:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                try:
                    status, kind, body = server.answer(self.path)
                except Exception as exc:  # noqa: BLE001 - a page that fails must not take the daemon down
                    log.exception("statuspage.failed", extra={"event": "statuspage.failed",
                                                              "fields": {"path": self.path, "error": str(exc)}})
                    status, kind, body = 500, "text/plain; charset=utf-8", b"the status page failed; see the log\n"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # a probe every few seconds: not news
                return

        httpd = ThreadingHTTPServer((self._host, self._port), _Handler)
        httpd.daemon_threads = True
        self._serve(httpd, "statuspage")
        log.info("statuspage.listening", extra={"event": "statuspage.listening",
                                                "fields": {"url": self.url}})
        return self.port
