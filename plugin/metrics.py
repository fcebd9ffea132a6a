"""Prometheus metrics of the daemon, on a text endpoint (`daemon.metrics_port`).

Each `Metrics` owns its registry, so two daemons in one process (the demo, tests)
do not collide. API calls are counted through `HttpClient`'s `on_call` hook, labelled
by tracker, method and status class — never by path, which holds ticket ids and would
make the label set unbounded.

`escalator_tickets_watched` is the number of open incidents the daemon knows: those
it has read in a watched project whose state does not stop the SLA clock (not yet
resolved), plus, after a restart and before they are read again, those the journal
holds a deadline for. It is not the number with a deadline ahead: most open incidents
have none left (every level reported), and they are watched all the same.
Leadership (`plugin.leader`): `escalator_leader` is 1 on the daemon that leads its tracker
(the only one that writes) and 0 on a standby; `escalator_leader_epoch` is the fencing
epoch of the lease it holds or last saw another daemon hold; `escalator_leader_takeovers`
counts the times it took the lead. A daemon on the embedded journal always leads.
`prepare` creates each per-tracker series at start, so counters read 0 rather than
being absent until the first error, unreadable ticket or escalation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

#: the daemon's writes, as `plugin.writes.TrackerWrites` names them
WRITES = ("note", "notify", "level", "severity", "state", "problem", "task")

#: escalation lag buckets, in seconds of clock time: "a matter of seconds" is the target
LAG_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 24 * 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.watched = Gauge("escalator_tickets_watched",
                             "Open incidents the daemon knows (read, or scheduled in its journal)",
                             ["tracker"], registry=r)
        self.escalations = Counter("escalator_escalations", "Escalations carried out", ["tracker", "level"],
                                   registry=r)
        self.restored = Counter("escalator_severities_restored", "Lowered severities put back", ["tracker"],
                                registry=r)
        self.flagged = Counter("escalator_transitions_flagged", "Illegal state changes flagged", ["tracker"],
                               registry=r)
        self.incomplete = Counter("escalator_records_incomplete", "Incomplete records flagged", ["tracker"],
                                  registry=r)
        self.unreadable = Counter("escalator_tickets_unreadable", "Tickets skipped as unreadable", ["tracker"],
                                  registry=r)
        self.action_errors = Counter("escalator_action_errors", "Actions the tracker refused", ["tracker"],
                                     registry=r)
        self.writes_refused = Counter("escalator_writes_refused",
                                      "Writes given up on: refused, or not accepted within their retries",
                                      ["tracker", "write"], registry=r)
        self.lag = Histogram("escalator_escalation_lag_seconds", "From a deadline to the note on the ticket",
                             ["tracker"], buckets=LAG_BUCKETS, registry=r)
        self.api_calls = Counter("escalator_api_calls", "Tracker API calls", ["tracker", "method", "status"],
                                 registry=r)
        self.api_errors = Counter("escalator_api_errors", "Tracker API calls that failed", ["tracker"],
                                  registry=r)
        self.leader = Gauge("escalator_leader", "1 while this daemon leads its tracker (it alone writes), "
                            "0 while it stands by", ["tracker"], registry=r)
        self.leader_epoch = Gauge("escalator_leader_epoch", "Fencing epoch of the tracker's lease, as this daemon "
                                  "last held or saw it", ["tracker"], registry=r)
        self.takeovers = Counter("escalator_leader_takeovers", "Times this daemon took the lead", ["tracker"],
                                 registry=r)
        self._server = None
        self._thread: threading.Thread | None = None

    def prepare(self, tracker: str, levels: int) -> None:
        """Create every series labelled by tracker alone (and each escalation level) at 0."""
        for per_tracker in (self.watched, self.restored, self.flagged, self.incomplete, self.unreadable,
                            self.action_errors, self.lag, self.api_errors):
            per_tracker.labels(tracker)
        for level in range(1, levels + 1):
            self.escalations.labels(tracker, str(level))
        for write in WRITES:
            self.writes_refused.labels(tracker, write)

    def refused_total(self, tracker: str) -> float:
        """The writes given up on this tracker so far (every kind of write): a pass's share is a difference."""
        return sum(sample.value for metric in self.writes_refused.collect() for sample in metric.samples
                   if sample.name.endswith("_total") and sample.labels.get("tracker") == tracker)

    def on_call(self, tracker: str) -> Callable[[str, str, int | None], None]:
        """The hook for `HttpClient(on_call=...)`."""

        def hook(method: str, path: str, status: int | None) -> None:
            label = "error" if status is None else f"{status // 100}xx"
            self.api_calls.labels(tracker, method, label).inc()
            if status is None or status >= 400:
                self.api_errors.labels(tracker).inc()

        return hook

    def text(self) -> str:
        return generate_latest(self.registry).decode("utf-8")

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics; returns the bound port (useful with port 0)."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
