"""The KPI formats and the monthly report, rendered from the hand-built month (tests/duties)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from mapping.loader import load_procedure
from plugin.reports.kpi_formats import render_kpi
from plugin.reports.monthly import month_label, monthly_kpis, render_monthly
from tests.duties import FIRST_LINE, NOW, month


@pytest.fixture(scope="module")
def procedure():
    return load_procedure()


@pytest.fixture(scope="module")
def report(procedure):
    return monthly_kpis(month(), procedure, "2026-11", NOW, first_line_groups=FIRST_LINE)


def test_json_carries_every_figure(report, procedure):
    data = json.loads(render_kpi(report, procedure, "json"))
    assert data["total"] == 16
    assert data["period"] == {"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00",
                              "as_of": "2026-12-10T12:00:00+08:00", "timezone": "Asia/Shanghai"}
    assert data["by_severity"] == {"1": 3, "2": 5, "3": 5, "4": 2, "unset": 1}
    assert [(m["level"], m["missed"], m["base"]) for m in data["missed_timetable"]] == [(1, 9, 15), (2, 8, 15),
                                                                                        (3, 4, 15)]
    assert data["missed_timetable"][0]["by_severity"][0] == {"severity": 1, "rule": "report", "allowed_hours": 0.0,
                                                             "missed": 1, "base": 3}
    assert data["immediate_within_minutes"] == 15
    assert data["mean_time_spent"][0] == {"category": "1.2", "resolved": 6, "total_hours": 49.0,
                                          "mean_hours": 49 / 6}
    assert data["first_line"] == {"computable": True, "resolved_by_first_line": 8, "resolved": 13, "share": 8 / 13,
                                  "resolved_without_group": 0, "first_line_groups": ["onsite", "service_desk"]}
    assert data["weekly_trend"][1] == {"week": "2026-W45", "opened": 4, "resolved": 3}
    assert data["resolution"] == {"resolved": 13, "resolved_in_period": 12, "resolved_after_period": 1,
                                  "unresolved": 3}
    assert [m["ref"] for m in data["major_incidents"]] == ["K-03", "K-11", "K-18"]
    assert data["major_incidents"][1]["timeline"][6] == {"at": "2026-11-19T20:30:00+08:00", "kind": "severity",
                                                         "value": "1", "by": None}
    # every KPI says what it counts, in the report's language
    assert list(data["definitions"]) == ["total", "impact", "misses", "time_spent", "first_line", "trend",
                                        "acknowledgement", "majors"]
    assert data["acknowledgement"][0] == {"level": 1, "role": "project_manager", "escalated": 2, "acknowledged": 1,
                                          "mean_hours_to_acknowledge": 0.25}
    assert "事件成为该级别后15分钟内未记录" in data["definitions"]["misses"]
    en = json.loads(render_kpi(report, procedure, "json", "en"))["definitions"]
    assert "not recorded within 15 min of the incident becoming that severity" in en["misses"]
    assert "16 opened = 12 resolved in the period + 1 resolved after it + 3 not resolved" in en["trend"]
    assert "never left the first-line groups (onsite, service_desk)" in en["first_line"]
    assert "work after a reopen included" in en["time_spent"]


def test_csv_is_one_flat_table(report, procedure):
    rows = list(csv.DictReader(io.StringIO(render_kpi(report, procedure, "csv"))))
    by = {(r["section"], r["key"]): r for r in rows}
    assert by[("total", "")]["count"] == "16"
    assert (by[("missed_timetable", "L2 division_director")]["count"], by[("missed_timetable",
                                                                           "L2 division_director")]["share"]) == (
        "8", "0.5333")
    assert by[("missed_timetable_severity", "L1 project_manager severity 1 (report)")]["count"] == "1"
    assert by[("mean_time_spent", "1.8")]["hours"] == "4.2500"
    assert (by[("first_line", "")]["count"], by[("first_line", "")]["base"]) == ("8", "13")
    assert by[("resolved", "2026-W47")]["count"] == "5"
    assert (by[("resolved_after_period", "")]["count"], by[("unresolved", "")]["count"]) == ("1", "3")
    assert [r["key"] for r in rows if r["section"] == "major_incident"] == ["K-03", "K-11", "K-18"]


def test_table_in_both_languages(report, procedure):
    zh = render_kpi(report, procedure, "table")
    assert "事件总数: 16" in zh
    assert re.search(r"L1 项目经理\s+9\s+15\s+60\.0%", zh)
    assert re.search(r"L1 项目经理\s+一级事件\s+立即\s+上报迟于规定\s+1\s+3", zh)
    assert re.search(r"合同服务 / 网络 \(1\.2\)\s+6\s+8小时10分钟", zh)
    assert "一线解决率: 8/13 = 61.5%" in zh
    assert re.search(r"合计\s+16\s+12", zh)
    assert "期后解决: 1   未解决: 3" in zh
    assert "指标定义" in zh and "- 平均花费的时间: " in zh
    en = render_kpi(report, procedure, "table", "en")
    assert "Total incidents: 16" in en
    assert re.search(r"L3 company management\s+4\s+15\s+26\.7%", en)
    assert re.search(r"/ network \(1\.2\)\s+6\s+8 h 10 min", en)
    assert re.search(r"L2 division director\s+severity 2\s+6 h\s+not resolved in time\s+3\s+5", en)
    assert "severity set to severity 1" in en
    assert "- Share that missed the timetable: Per escalation level" in en


def test_first_line_that_cannot_be_computed_is_said_so_everywhere(procedure):
    bare = [i.model_copy(update={"group": None, "group_history": ()}) for i in month()]
    from mapping.kpi import compute_kpis, month_bounds
    from tests.duties import CST
    start, end = month_bounds("2026-11", CST)
    report = compute_kpis(bare, procedure, start, end, NOW, groups_recorded=False)
    assert "一线解决率: 无法计算" in render_kpi(report, procedure, "table")
    en = render_kpi(report, procedure, "table", "en")
    assert "First-line resolution: cannot be computed" in en and "100.0%" not in en.split("First-line")[1][:80]
    data = json.loads(render_kpi(report, procedure, "json", "en"))
    assert data["first_line"]["share"] is None and data["first_line"]["computable"] is False
    assert data["definitions"]["first_line"].startswith("Cannot be computed: the tracker records no support group")
    assert "support_group in the mapping file" in data["definitions"]["first_line"]
    rows = {(r["section"], r["key"]) for r in csv.DictReader(io.StringIO(render_kpi(report, procedure, "csv")))}
    assert ("first_line", "not computable") in rows
    html = render_kpi(report, procedure, "html", "en")
    assert "First-line resolution<b>n/a</b>" in html


def test_monthly_html_is_self_contained_with_four_charts(report, procedure):
    html = render_monthly(report, procedure, "2026-11")
    assert "<title>2026年11月服务月报" in html
    for chart in ("chart-trend", "chart-severity", "chart-misses", "chart-time"):
        assert re.search(rf'id="{chart}"><svg [^>]*viewBox', html), chart
    # nothing fetched: no script, stylesheet link, image or external URL other than the SVG namespace
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", html)
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    # the trend chart has one bar per week and series: 6 weeks x 2
    trend = html.split('id="chart-trend">')[1].split("</svg>")[0]
    assert len(re.findall(r"<rect [^>]*><title>", trend)) == 12
    assert "<title>W47: 5</title>" in trend
    assert "8小时10分钟" in html and "60.0%" in html
    assert '<dt id="def-trend">事件趋势</dt>' in html


def test_monthly_in_english(report, procedure):
    html = render_monthly(report, procedure, "2026-11", "en")
    assert '<html lang="en">' in html
    assert "Monthly service report · November 2026" in html
    assert "Mean time spent per category" in html
    assert '<dt id="def-first_line">First-line resolution</dt>' in html
    assert month_label("2026-11", "zh") == "2026年11月"


def test_html_escapes_tracker_text(procedure):
    hostile = [m.model_copy(update={"title": "<script>alert(1)</script>"}) for m in month()]
    html = render_monthly(monthly_kpis(hostile, procedure, "2026-11", NOW), procedure, "2026-11")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_empty_month(procedure):
    empty = monthly_kpis([], procedure, "2026-02", NOW)
    html = render_monthly(empty, procedure, "2026-02")
    assert "本期无重大事件。" in html
    assert render_kpi(empty, procedure, "table").count("事件总数: 0") == 1
    assert json.loads(render_kpi(empty, procedure, "json"))["first_line"]["share"] == 0.0


def test_kpi_html_page(report, procedure):
    html = render_kpi(report, procedure, "html", "en")
    assert "<h1>Incident management KPIs</h1>" in html
    assert "Period: 2026-11-01 00:00 – 2026-12-01 00:00" in html
    assert html.count("<svg ") == 4
    # labels too long for the chart are cut, the full name kept in the tooltip
    assert "business consulting / front-end application…<title>business consulting / front-end application " \
           "systems (4.1)</title>" in html


def test_the_monthly_report_shows_the_trend_patterns_of_the_month(report, procedure):
    from mapping.kpi import month_bounds
    from mapping.trends import TrendRule, detect_trends
    from tests.duties import CST

    start, end = month_bounds("2026-11", CST)
    rule = TrendRule(name="net-week", by="category", count=2, window="week")
    trends = detect_trends(month(), procedure, [rule], NOW, between=(start, end))
    # network (1.2), two a week: W45 K-01 K-02, W46 K-05 K-09, W48 K-13 K-18, and W49 (11-30 to 12-06,
    # a period the month overlaps) K-14 and December's K-16; W47 has none of 1.2
    assert [(d.period, [i.ref for i in d.incidents]) for d in trends if d.value == "1.2"] == [
        ("2026-W45", ["K-01", "K-02"]), ("2026-W46", ["K-05", "K-09"]), ("2026-W48", ["K-13", "K-18"]),
        ("2026-W49", ["K-14", "K-16"])]
    html = render_monthly(report, procedure, "2026-11", "en", trends)
    assert "<h2>Trend problems (§6.1.3)</h2>" in html
    assert re.search(r"<td>2026-W46</td><td>net-week</td><td>contract service / network \(1\.2\)</td>"
                     r"<td class=\"n\">2</td><td>K-05, K-09</td>", html)
    assert "No trend rule is configured" in render_monthly(report, procedure, "2026-11", "en", None)
    assert "The trend rules found no pattern" in render_monthly(report, procedure, "2026-11", "en", [])
