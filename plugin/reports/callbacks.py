"""The weekly call-back list (§4.6.3): every incident resolved in an ISO week, with its customer contact.

The service desk calls each customer back and reports the results to the project
manager; the list leaves a column for the result. Selection is
`mapping.duties.resolved_in_week` (resolved in the week and still resolved).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from mapping.duties import parse_iso_week, resolutions, resolved_in_week, week_bounds
from mapping.incident import Incident
from mapping.procedure import Language, Procedure
from mapping.text import text_table
from plugin.reports import Names, local, t

Format = Literal["table", "csv", "json"]


@dataclass(frozen=True)
class CallBack:
    incident: Incident
    resolved_at: datetime  # the last resolution inside the week

    def fact(self, key: str) -> str:
        return (self.incident.facts.get(key) or "").strip()


def callback_list(incidents: Iterable[Incident], procedure: Procedure, week: str,
                  tz: ZoneInfo | None = None) -> list[CallBack]:
    """The call-backs of ISO week `week` ('2026-W47'), in the default calendar's zone by default."""
    zone = tz or ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    start, end = week_bounds(parse_iso_week(week), zone)
    return [CallBack(i, max(r for r in resolutions(i, procedure) if start <= r < end))
            for i in resolved_in_week(incidents, procedure, start, end)]


def render_callbacks(items: list[CallBack], procedure: Procedure, week: str, fmt: Format = "table",
                     lang: Language = "zh", tz: ZoneInfo | None = None) -> str:
    zone = tz or ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    names = Names(procedure, lang)
    if fmt == "json":
        return json.dumps({"week": week, "callbacks": [{
            "ref": c.incident.ref, "title": c.incident.title, "organisation": c.incident.organisation,
            "reporter": c.fact("reporter"), "contact": c.fact("contact"), "severity": c.incident.severity,
            "category": c.incident.category, "state": c.incident.state, "resolved_at": c.resolved_at.isoformat(),
        } for c in items]}, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["ref", "title", "organisation", "reporter", "contact", "severity", "category",
                         "resolved_at", "callback_result"])
        for c in items:
            writer.writerow([c.incident.ref, c.incident.title, c.incident.organisation or "", c.fact("reporter"),
                             c.fact("contact"), c.incident.severity or "", c.incident.category or "",
                             c.resolved_at.isoformat(), ""])
        return out.getvalue()
    headers = [t(k, lang) for k in ("ticket", "title", "customer", "reporter", "contact", "severity",
                                    "resolved_at", "callback_result")]
    rows = [[c.incident.ref, c.incident.title, c.incident.organisation or "", c.fact("reporter"),
             c.fact("contact") or f"({t('missing', lang)})", names.severity(c.incident.severity),
             local(c.resolved_at, zone), ""] for c in items]
    heading = f"{t('callbacks_title', lang)} {week}: {len(items)} {t('resolved_in_week', lang)}"
    return heading + "\n" + text_table(headers, rows) + "\n"
