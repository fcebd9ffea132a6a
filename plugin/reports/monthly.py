"""The monthly service report 《服务月报》: the month's KPIs as one self-contained HTML file.

Everything is inline (CSS and SVG charts; no script, font or image is fetched), so the
file can be mailed, archived or printed as it is. Chinese by default, English with
`lang="en"`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from mapping.acknowledge import Holders
from mapping.incident import Incident
from mapping.kpi import KpiReport, compute_kpis, month_bounds
from mapping.procedure import Language, Procedure
from mapping.trends import TrendDue
from plugin.reports import Names, t, templates
from plugin.reports.kpi_formats import kpi_view


def month_label(month: str, lang: Language) -> str:
    year, number = (int(p) for p in month.split("-"))
    if lang == "zh":
        return f"{year}年{number}月"
    return datetime(year, number, 1).strftime("%B %Y")


def monthly_kpis(incidents: Iterable[Incident], procedure: Procedure, month: str, now: datetime, *,
                 contract: str | None = None, first_line_groups: Iterable[str] | None = None,
                 groups_recorded: bool = True, holders: Callable[[Incident], Holders] | None = None) -> KpiReport:
    """The KPIs of `month` ('2026-11'), in the default contract calendar's time zone."""
    tz = ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    start, end = month_bounds(month, tz)
    return compute_kpis(incidents, procedure, start, end, now, contract=contract,
                        first_line_groups=first_line_groups, tz=tz, groups_recorded=groups_recorded,
                        holders=holders)


def trend_rows(trends: Sequence[TrendDue], procedure: Procedure, lang: Language) -> list[tuple[str, ...]]:
    """One row per pattern a trend rule saw (§6.1.3): period, rule, what, how many, which incidents."""
    names = Names(procedure, lang)
    rows = []
    for due in trends:
        if due.value is None:
            what = t("trend_all", lang)
        elif due.rule.by == "category":
            what = names.category(due.value)
        else:
            what = f"{t('trend_ci', lang)} {due.value}"
        rows.append((due.period, due.rule.name, what, str(len(due.incidents)),
                     ", ".join(i.ref for i in due.incidents)))
    return rows


def render_monthly(report: KpiReport, procedure: Procedure, month: str, lang: Language = "zh",
                   trends: Sequence[TrendDue] | None = None) -> str:
    """The report; `trends`: the patterns the configured trend rules saw in the month (None: no rule)."""
    view = kpi_view(report, procedure, lang)
    view["trends"] = None if trends is None else trend_rows(trends, procedure, lang)
    label = month_label(month, lang)
    heading = f"{t('monthly_title', lang)} · {label}" if lang == "en" else f"{label}{t('monthly_title', lang)}"
    return templates().get_template("report.html.j2").render(heading=heading, subtitle=label, **view)
