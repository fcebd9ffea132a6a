"""The incident record sheet 《事件记录表》: every fact §4.1.4 asks for, and the full timeline.

The §4.1.4 facts are the procedure's `record_fields`; a fact the tracker does not hold
is shown as missing, never guessed. Facts the snapshot itself carries (number, report
time, state, impact level) come from it when the connector left them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from mapping.clock import SlaClock
from mapping.incident import Incident
from mapping.kpi import elapsed_at, timeline
from mapping.procedure import Language, Procedure
from mapping.text import format_duration, text_table
from plugin.reports import Names, local, t, templates
from plugin.reports.kpi_formats import event_text

Format = Literal["text", "html"]


def record_facts(incident: Incident, procedure: Procedure, lang: Language, tz: ZoneInfo) -> list[tuple[str, str]]:
    """(name, value) per §4.1.4 record field, in the procedure's order; '' when missing."""
    names = Names(procedure, lang)
    derived = {
        "number": incident.ref,
        "reported_at": local(incident.reported_at, tz),
        "state": names.state(incident.state),
        "impact": names.severity(incident.severity) if incident.severity else "",
    }
    rows = []
    for field in procedure.record_fields:
        value = (incident.facts.get(field.key) or "").strip() or derived.get(field.key, "")
        if field.key == "state":
            value = derived["state"]
        rows.append((field.name.in_(lang), value))
    return rows


def record_view(incident: Incident, procedure: Procedure, now: datetime, lang: Language) -> dict:
    contract_name = incident.contract or procedure.default_contract
    tz = ZoneInfo(procedure.calendar_of(procedure.contract(contract_name)).timezone)
    names = Names(procedure, lang)
    missing = f"({t('missing', lang)})"
    facts = [(name, value or missing) for name, value in record_facts(incident, procedure, lang, tz)]
    other = [
        (t("title", lang), incident.title),
        (t("severity", lang), names.severity(incident.severity)),
        (t("category", lang), names.category(incident.category)),
        (t("contract", lang), contract_name),
        (t("customer", lang), incident.organisation or ""),
        (t("group", lang), incident.group or ""),
        (t("assignee", lang), incident.assignee_name or incident.assignee or ""),
        (t("escalation_level", lang), str(incident.escalation_level)),
        (t("sla_time", lang), format_duration(elapsed_at(incident, procedure, now), lang, elapsed=True)),
    ]
    ladder = []
    if incident.severity is not None:
        # when the SLA clock reached each level's allowance, or will if the current state goes
        # on ('-': not reached and the clock stands still: paused or resolved)
        clock = SlaClock(incident, procedure, contract_name, now)
        row = procedure.timetable_for(procedure.contract(contract_name))[incident.severity]
        ladder = [(names.level(level), format_duration(row[role], lang), local(clock.reaches(row[role]), tz) or "-")
                  for level, role in enumerate(procedure.escalation.targets, start=1)]
    events = [(local(e.at, tz, seconds=True), event_text(e.kind, e.value, names), e.by or "")
              for e in timeline(incident)]
    return {"lang": lang, "t": lambda key: t(key, lang), "incident": incident, "facts": facts, "other": other,
            "ladder": ladder, "events": events, "as_of": local(now, tz)}


def render_record(incident: Incident, procedure: Procedure, now: datetime, fmt: Format = "text",
                  lang: Language = "zh") -> str:
    view = record_view(incident, procedure, now, lang)
    if fmt == "html":
        return templates().get_template("record.html.j2").render(**view)
    lines = [f"{t('record_title', lang)} · {incident.ref}", ""]
    lines.append(text_table([t("fact", lang), t("value", lang)], view["facts"] + view["other"]))
    if view["ladder"]:
        lines += ["", text_table([t("level", lang), t("allowed", lang), t("due", lang)],
                                 view["ladder"])]
    lines += ["", t("timeline", lang),
              text_table([t("time", lang), t("event", lang), t("by", lang)], view["events"])]
    lines += ["", f"{t('as_of', lang)}: {view['as_of']}"]
    return "\n".join(lines) + "\n"
