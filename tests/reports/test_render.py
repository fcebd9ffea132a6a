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
    assert data["total"] == 15
    assert data["period"] == {"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00",
                              "as_of": "2026-12-10T12:00:00+08:00", "timezone": "Asia/Shanghai"}
    assert data["by_severity"] == {"1": 2, "2": 5, "3": 5, "4": 2, "unset": 1}
    assert [(m["level"], m["missed"], m["base"]) for m in data["missed_timetable"]] == [(1, 10, 14), (2, 8, 14),
                                                                                        (3, 4, 14)]
    assert data["mean_time_to_resolve"][0] == {"category": "1.2", "resolved": 5, "total_hours": 44.0,
                                               "mean_hours": 8.8}
    assert data["first_line"] == {"resolved_by_first_line": 8, "resolved": 12, "share": 8 / 12}
    assert data["weekly_trend"][1] == {"week": "2026-W45", "opened": 4, "resolved": 4}
    assert [m["ref"] for m in data["major_incidents"]] == ["K-03", "K-11"]
    assert data["major_incidents"][1]["timeline"][6] == {"at": "2026-11-19T20:30:00+08:00", "kind": "severity",
                                                         "value": "1", "by": None}


def test_csv_is_one_flat_table(report, procedure):
    rows = list(csv.DictReader(io.StringIO(render_kpi(report, procedure, "csv"))))
    by = {(r["section"], r["key"]): r for r in rows}
    assert by[("total", "")]["count"] == "15"
    assert (by[("missed_timetable", "L2 division_director")]["count"], by[("missed_timetable",
                                                                           "L2 division_director")]["share"]) == (
        "8", "0.5714")
    assert by[("mean_time_to_resolve", "1.8")]["hours"] == "4.2500"
    assert (by[("first_line", "")]["count"], by[("first_line", "")]["base"]) == ("8", "12")
    assert by[("resolved", "2026-W47")]["count"] == "5"
    assert [r["key"] for r in rows if r["section"] == "major_incident"] == ["K-03", "K-11"]


def test_table_in_both_languages(report, procedure):
    zh = render_kpi(report, procedure, "table")
    assert "事件总数: 15" in zh
    assert re.search(r"L1 项目经理\s+10\s+14\s+71\.4%", zh)
    assert re.search(r"合同服务 / 网络 \(1\.2\)\s+5\s+8小时48分钟", zh)
    assert "一线解决率: 8/12 = 66.7%" in zh
    en = render_kpi(report, procedure, "table", "en")
    assert "Total incidents: 15" in en
    assert re.search(r"L3 company management\s+4\s+14\s+28\.6%", en)
    assert re.search(r"/ network \(1\.2\)\s+5\s+8 h 48 min", en)
    assert "severity set to severity 1" in en


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
    assert "8小时48分钟" in html and "71.4%" in html


def test_monthly_in_english(report, procedure):
    html = render_monthly(report, procedure, "2026-11", "en")
    assert '<html lang="en">' in html
    assert "Monthly service report · November 2026" in html
    assert "Mean time to resolve per category" in html
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
