"""The KPI report in four formats: a terminal table, CSV, JSON and a self-contained HTML page.

CSV and JSON are for machines: English keys, numbers unformatted (hours as decimals,
shares as fractions, with the counts they come from). The table and the HTML are for
people, in the chosen language.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Literal
from zoneinfo import ZoneInfo

from mapping.kpi import UNSET, KpiReport
from mapping.procedure import Language, Procedure
from mapping.text import format_duration, text_table
from plugin.reports import Names, hours, local, percent, t, templates
from plugin.reports.charts import SEVERITY_COLOURS, donut, grouped_bars, horizontal_bars
from plugin.reports.definitions import kpi_definitions

Format = Literal["table", "csv", "json", "html"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json", "html")


def render_kpi(report: KpiReport, procedure: Procedure, fmt: Format = "table", lang: Language = "zh") -> str:
    if fmt == "table":
        return kpi_table(report, procedure, lang)
    if fmt == "csv":
        return kpi_csv(report)
    if fmt == "json":
        return json.dumps(kpi_dict(report, lang), ensure_ascii=False, indent=2) + "\n"
    return kpi_html(report, procedure, lang)


def kpi_dict(report: KpiReport, lang: Language = "en") -> dict:
    """Plain JSON-ready data: every count, every share with its base, times in hours, and what
    each figure means (`definitions`, in `lang`)."""
    fl = report.first_line
    return {
        "period": {"from": report.start.isoformat(), "to": report.end.isoformat(),
                   "as_of": report.as_of.isoformat(), "timezone": report.timezone},
        "contract": report.contract,
        "total": report.total,
        "by_severity": report.by_severity,
        "by_category": report.by_category,
        "missed_timetable": [{"level": m.level, "role": m.role, "missed": m.missed, "base": m.base,
                              "share": m.share,
                              "by_severity": [{"severity": c.severity, "rule": c.rule, "allowed_hours": hours(c.allowed),
                                               "missed": c.missed, "base": c.base} for c in m.by_severity]}
                             for m in report.misses],
        "immediate_within_minutes": report.immediate_within.total_seconds() / 60,
        "mean_time_spent": [{"category": r.category, "resolved": r.resolved, "total_hours": hours(r.total),
                             "mean_hours": hours(r.mean)} for r in report.resolve_time],
        "first_line": {"computable": fl.computable, "resolved_by_first_line": fl.first_line, "resolved": fl.base,
                       "share": fl.share, "resolved_without_group": fl.unknown,
                       "first_line_groups": list(report.first_line_groups)
                       if report.first_line_groups is not None else None},
        "weekly_trend": [{"week": w.week, "opened": w.opened, "resolved": w.resolved} for w in report.trend],
        "acknowledgement": [{"level": a.level, "role": a.role, "escalated": a.escalated,
                             "acknowledged": a.acknowledged,
                             "mean_hours_to_acknowledge": hours(a.mean) if a.mean is not None else None}
                            for a in report.acknowledgement],
        "resolution": {"resolved": report.resolved, "resolved_in_period": sum(w.resolved for w in report.trend),
                       "resolved_after_period": report.resolved_after, "unresolved": report.unresolved},
        "major_incidents": [{
            "ref": m.ref, "title": m.title, "severity": m.severity, "state": m.state, "category": m.category,
            "reported_at": m.reported_at.isoformat(),
            "resolved_at": m.resolved_at.isoformat() if m.resolved_at else None,
            "timeline": [{"at": e.at.isoformat(), "kind": e.kind, "value": e.value, "by": e.by}
                         for e in m.timeline],
        } for m in report.majors],
        "definitions": {key: text for key, _, text in kpi_definitions(report, lang)},
    }


def kpi_csv(report: KpiReport) -> str:
    """One flat table: section, key, count, base, share, hours (empty where it does not apply)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "count", "base", "share", "hours"])
    writer.writerow(["total", "", report.total, "", "", ""])
    for key, count in report.by_severity.items():
        writer.writerow(["severity", key, count, report.total, _fraction(count, report.total), ""])
    for key, count in report.by_category.items():
        writer.writerow(["category", key, count, report.total, _fraction(count, report.total), ""])
    for m in report.misses:
        writer.writerow(["missed_timetable", f"L{m.level} {m.role}", m.missed, m.base, _fraction(m.missed, m.base), ""])
        for c in m.by_severity:
            writer.writerow(["missed_timetable_severity", f"L{m.level} {m.role} severity {c.severity} ({c.rule})",
                             c.missed, c.base, _fraction(c.missed, c.base), f"{hours(c.allowed):.4f}"])
    for r in report.resolve_time:
        writer.writerow(["mean_time_spent", r.category, r.resolved, "", "", f"{hours(r.mean):.4f}"])
    fl = report.first_line
    if fl.computable:
        writer.writerow(["first_line", "", fl.first_line, fl.base, _fraction(fl.first_line, fl.base), ""])
    else:  # not computable: no figure at all, rather than a share that means nothing
        writer.writerow(["first_line", "not computable", "", "", "", ""])
    for w in report.trend:
        writer.writerow(["opened", w.week, w.opened, "", "", ""])
        writer.writerow(["resolved", w.week, w.resolved, "", "", ""])
    writer.writerow(["resolved_after_period", "", report.resolved_after, "", "", ""])
    writer.writerow(["unresolved", "", report.unresolved, report.total, _fraction(report.unresolved, report.total), ""])
    for m in report.majors:
        writer.writerow(["major_incident", m.ref, "", "", "", ""])
    return out.getvalue()


def _fraction(count: int, base: int) -> str:
    return f"{count / base:.4f}" if base else ""


def kpi_table(report: KpiReport, procedure: Procedure, lang: Language) -> str:
    names = Names(procedure, lang)
    tz = ZoneInfo(report.timezone)
    blocks = [
        f"{t('kpi_title', lang)}",
        f"{t('period', lang)}: {local(report.start, tz)} – {local(report.end, tz)}   "
        f"{t('contract', lang)}: {report.contract or t('all_contracts', lang)}   "
        f"{t('as_of', lang)}: {local(report.as_of, tz)}",
        f"{t('total', lang)}: {report.total}",
        "",
        t("by_severity", lang),
        text_table([t("severity", lang), t("count", lang), t("share", lang)],
                   [[names.severity(k), str(v), percent(v / report.total)] for k, v in report.by_severity.items()]),
        "",
        t("by_category", lang),
        text_table([t("category", lang), t("count", lang), t("share", lang)],
                   [[names.category(k), str(v), percent(v / report.total)] for k, v in report.by_category.items()]),
        "",
        t("misses", lang),
        text_table([t("level", lang), t("missed", lang), t("base", lang), t("share", lang)],
                   [[names.level(m.level), str(m.missed), str(m.base), percent(m.share)] for m in report.misses]),
        "",
        text_table([t("level", lang), t("severity", lang), t("allowed", lang), t("miss_rule", lang), t("missed", lang),
                    t("base", lang)], miss_cells(report, names)),
        "",
        t("resolve_time", lang),
        text_table([t("category", lang), t("resolved", lang), t("mean", lang)],
                   [[names.category(r.category), str(r.resolved), format_duration(r.mean, lang, elapsed=True)]
                    for r in report.resolve_time]),
        "",
        f"{t('first_line', lang)}: {first_line_text(report, lang)}",
        "",
        t("trend", lang),
        text_table([t("week", lang), t("opened", lang), t("resolved", lang)],
                   [[w.week, str(w.opened), str(w.resolved)] for w in report.trend]
                   + [[t("sum", lang), str(sum(w.opened for w in report.trend)),
                       str(sum(w.resolved for w in report.trend))]]),
        f"{t('resolved_after', lang)}: {report.resolved_after}   {t('unresolved', lang)}: {report.unresolved}",
        "",
        t("ack", lang),
        text_table([t("level", lang), t("escalated", lang), t("acknowledged", lang), t("mean_ack", lang)],
                   [list(row) for row in ack_rows(report, names)]),
        "",
        t("majors", lang),
    ]
    if not report.majors:
        blocks.append(t("no_majors", lang))
    for m in report.majors:
        blocks.append(f"{m.ref}  {m.title}  {names.severity(m.severity)}  {names.state(m.state)}  "
                      f"{t('reported_at', lang)} {local(m.reported_at, tz)}  "
                      f"{t('resolved_at', lang)} {local(m.resolved_at, tz) or '-'}")
        for event in m.timeline:
            blocks.append(f"    {local(event.at, tz)}  {event_text(event.kind, event.value, names)}"
                          + (f"  ({event.by})" if event.by else ""))
    blocks += ["", t("definitions", lang)]
    blocks += [f"- {title}: {text}" for _, title, text in kpi_definitions(report, lang)]
    return "\n".join(blocks) + "\n"


def ack_rows(report: KpiReport, names: Names) -> list[tuple[str, str, str, str]]:
    return [(names.level(a.level), str(a.escalated), str(a.acknowledged),
             format_duration(a.mean, names.lang, elapsed=True) if a.mean is not None else "-")
            for a in report.acknowledgement]


def first_line_text(report: KpiReport, lang: Language) -> str:
    """'8/13 = 61.5%', or that it cannot be computed."""
    fl = report.first_line
    if not fl.computable or fl.share is None:
        return t("not_computable", lang)
    return f"{fl.first_line}/{fl.base} = {percent(fl.share)}"


def miss_cells(report: KpiReport, names: Names) -> list[list[str]]:
    """One row per level and severity: what was allowed, what a miss means there, the counts."""
    lang = names.lang
    return [[names.level(m.level), names.severity(c.severity),
             format_duration(c.allowed, lang),
             t(f"rule_{c.rule}", lang), str(c.missed), str(c.base)]
            for m in report.misses for c in m.by_severity]


def event_text(kind: str, value: str, names: Names) -> str:
    """One timeline entry in words: '状态变为 处理中'."""
    lang = names.lang
    shown = {"state": names.state, "severity": names.severity, "escalation": lambda v: names.level(int(v)),
             "approval": names.severity}.get(kind)
    text = t(f"ev_{kind}", lang)
    return f"{text} {shown(value) if shown else value}".rstrip()


def kpi_view(report: KpiReport, procedure: Procedure, lang: Language) -> dict:
    """What the HTML templates show: display rows and the four charts."""
    names = Names(procedure, lang)
    tz = ZoneInfo(report.timezone)
    resolved_total = sum(w.resolved for w in report.trend)
    severity_parts = [(names.severity(k), v, SEVERITY_COLOURS.get(k, "#999999"))
                      for k, v in report.by_severity.items()]
    return {
        "lang": lang,
        "t": lambda key: t(key, lang),
        "report": report,
        "period": f"{local(report.start, tz)} – {local(report.end, tz)}",
        "as_of": local(report.as_of, tz),
        "contract": report.contract or t("all_contracts", lang),
        "resolved_total": report.resolved,
        "resolved_in_weeks": resolved_total,
        "first_line_share": percent(report.first_line.share) if report.first_line.share is not None
        else t("not_computable_short", lang),
        "first_line_text": first_line_text(report, lang),
        "miss_cells": miss_cells(report, names),
        "ack_rows": ack_rows(report, names),
        "definitions": kpi_definitions(report, lang),
        "severity_rows": [(names.severity(k), v, percent(v / report.total)) for k, v in report.by_severity.items()],
        "category_rows": [(names.category(k), v, percent(v / report.total)) for k, v in report.by_category.items()],
        "miss_rows": [(names.level(m.level), m.missed, m.base, percent(m.share)) for m in report.misses],
        "time_rows": [(names.category(r.category), r.resolved, format_duration(r.mean, lang, elapsed=True))
                      for r in report.resolve_time],
        "trend_rows": [(w.week, w.opened, w.resolved) for w in report.trend],
        "majors": [{
            "ref": m.ref, "title": m.title, "severity": names.severity(m.severity), "state": names.state(m.state),
            "category": names.category(m.category or UNSET), "reported_at": local(m.reported_at, tz),
            "resolved_at": local(m.resolved_at, tz),
            "timeline": [(local(e.at, tz), event_text(e.kind, e.value, names), e.by or "") for e in m.timeline],
        } for m in report.majors],
        "chart_trend": grouped_bars([w.week.split("-")[1] for w in report.trend],
                                    [(t("opened", lang), [w.opened for w in report.trend]),
                                     (t("resolved", lang), [w.resolved for w in report.trend])],
                                    t("chart_trend", lang)),
        "chart_severity": donut(severity_parts, t("chart_severity", lang)),
        "chart_misses": horizontal_bars([(names.level(m.level), m.share * 100, f"{percent(m.share)} "
                                          f"({m.missed}/{m.base})") for m in report.misses],
                                        t("chart_misses", lang), maximum=100, colour="#D55E00"),
        "chart_time": horizontal_bars([(names.category(r.category), hours(r.mean),
                                        format_duration(r.mean, lang, elapsed=True))
                                       for r in report.resolve_time], t("chart_time", lang)),
    }


def kpi_html(report: KpiReport, procedure: Procedure, lang: Language) -> str:
    view = kpi_view(report, procedure, lang)
    return templates().get_template("report.html.j2").render(heading=t("kpi_title", lang), subtitle=view["period"],
                                                              **view)
