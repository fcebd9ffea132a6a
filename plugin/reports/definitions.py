"""What each KPI means, in words, printed with every KPI report (table, HTML, JSON `definitions`).

The definitions are those of `mapping.kpi` (its docstring is the reference), filled in
with what this report was computed with: the period and zone, the first-line groups,
how soon an "immediately" report counts as on time, and how the trend's columns add
up. A reader of the report never has to guess what a figure counts.
"""

from __future__ import annotations

from mapping.kpi import KpiReport
from mapping.text import Language, format_duration

#: (key, title) in the order the report shows them
KEYS = ("total", "impact", "misses", "time_spent", "first_line", "trend", "acknowledgement", "majors")

_TITLES: dict[str, tuple[str, str]] = {
    "total": ("事件总数", "Total incidents"),
    "impact": ("对业务的影响", "Business impact"),
    "misses": ("未满足时间表的比例", "Share that missed the timetable"),
    "time_spent": ("平均花费的时间", "Mean time spent"),
    "first_line": ("一线解决的比例", "First-line resolution"),
    "trend": ("事件趋势", "Weekly trend"),
    "acknowledgement": ("升级确认", "Acknowledgement of escalations"),
    "majors": ("重大事件分析", "Major incidents"),
}


def kpi_definitions(report: KpiReport, lang: Language) -> list[tuple[str, str, str]]:
    """(key, title, definition) for every KPI of `report`, in `lang`."""
    zh = lang == "zh"
    within = format_duration(report.immediate_within, lang, elapsed=True)
    contract = report.contract
    out: dict[str, str] = {}
    if zh:
        out["total"] = (f"报告时间在统计期间内（{report.timezone}，含起始、不含结束）的事件"
                        + (f"（合同 {contract}）" if contract else "")
                        + "；以下各项指标均针对这些事件，按“数据截至”时刻的状态计算（§7.1.1.1）。")
        out["impact"] = "上述事件按当前级别和当前分类计数；未填写的单列（§7.1.1.2）。"
        out["misses"] = ("按升级级别统计有级别的事件（§7.1.1.3）。时间表给出时限的格（如二级事件 4 小时上报项目经理）："
                         "SLA 计时（合同日历的工作时间，暂停不计）达到该时限时事件尚未解决，即为超时。"
                         f"要求“立即”上报的格（一级事件）不设解决时限：事件成为该级别后{within}内"
                         "未记录向该级别（或更高级别）的升级上报，即为超时。")
        out["time_spent"] = ("按分类统计在“数据截至”时刻已解决（待审核或已归档）的事件：从报告起 SLA 计时的工作时间，"
                             "含退回重新处理后的时间，不含暂停时间；与《事件记录表》的 SLA 计时一致（§7.1.1.4）。")
        if not report.first_line.computable:
            out["first_line"] = ("无法计算：跟踪系统未记录这些事件的支持组。Jira 上请在映射文件中映射支持组字段"
                                 "（support_group，在 `escalator mapping plan` 中选择）（§7.1.1.5）。")
        else:
            rule = (f"始终未离开一线支持组（{'、'.join(report.first_line_groups)}）"
                    if report.first_line_groups is not None
                    else "从未更换支持组（未配置一线支持组 reports.first_line_groups）")
            out["first_line"] = (f"在“数据截至”时刻已解决且记录了支持组的事件中，{rule}的比例（§7.1.1.5）"
                                 + (f"；{report.first_line.unknown} 起已解决事件未记录支持组，不计入。"
                                    if report.first_line.unknown else "。"))
        resolved_in_weeks = sum(w.resolved for w in report.trend)
        out["trend"] = (f"按 ISO 周（{report.timezone}）统计（§7.1.1.6）：新增 = 当周报告的事件；已解决 = 其中在"
                        "“数据截至”时刻已解决的事件，按最后一次解决所在的周计一次。"
                        f"合计：新增 {report.total} = 期内解决 {resolved_in_weeks} + 期后解决 "
                        f"{report.resolved_after} + 未解决 {report.unresolved}。")
        out["acknowledgement"] = ("按升级级别：这些事件升级至该级别的次数、其中由该级别角色的人员确认（添加确认标签）的次数，"
                                  "以及从升级到确认的平均工作时间（合同日历）。")
        out["majors"] = "当前或曾经为一级的事件，附全部记录的变更（§7.1.1.7）。"
    else:
        out["total"] = (f"Incidents reported in the period ({report.timezone}, start included, end excluded)"
                        + (f" on contract {contract}" if contract else "")
                        + "; every figure below is of these incidents, as known at the as-of time (§7.1.1.1).")
        out["impact"] = ("Those incidents counted by their current severity and current category; 'not set' "
                         "where none is recorded (§7.1.1.2).")
        out["misses"] = ("Per escalation level, of the incidents with a severity (§7.1.1.3). Where the timetable "
                         "allows time (severity 2: 4 h to the project manager), a miss is an incident not resolved "
                         "when that much SLA time (working time of the contract's calendar, paused time excluded) "
                         "had elapsed. Where the report is due immediately (severity 1) there is no resolution "
                         f"target: a miss is a report to that level (or higher) not recorded within {within} of "
                         "the incident becoming that severity.")
        out["time_spent"] = ("Per category, over the incidents resolved (待审核 pending review or 已归档 archived) at "
                             "the as-of time: the working time the SLA clock counted from the report, work after a "
                             "reopen included, paused time not; the record sheet's SLA time (§7.1.1.4).")
        if not report.first_line.computable:
            out["first_line"] = ("Cannot be computed: the tracker records no support group for these incidents. On "
                                 "Jira, map a support-group field (support_group in the mapping file, chosen at "
                                 "`escalator mapping plan`) (§7.1.1.5).")
        else:
            rule = (f"never left the first-line groups ({', '.join(report.first_line_groups)})"
                    if report.first_line_groups is not None
                    else "never changed support group (no first-line groups configured: reports.first_line_groups)")
            unknown = report.first_line.unknown
            out["first_line"] = (f"Of the incidents resolved at the as-of time whose support group is recorded, the "
                                 f"share that {rule} (§7.1.1.5)"
                                 + (f"; {unknown} resolved without a recorded group are left out." if unknown
                                    else "."))
        resolved_in_weeks = sum(w.resolved for w in report.trend)
        out["trend"] = (f"Per ISO week ({report.timezone}) (§7.1.1.6): opened = reported that week; resolved = of "
                        "those, resolved at the as-of time, counted once, in the week of their last resolution. "
                        f"The columns add up: {report.total} opened = {resolved_in_weeks} resolved in the period + "
                        f"{report.resolved_after} resolved after it + {report.unresolved} not resolved.")
        out["acknowledgement"] = ("Per escalation level: how often these incidents were escalated to it, how many of "
                                  "those a holder of its role acknowledged (added the acknowledgement label or tag), "
                                  "and the mean working time (the contract's calendar) from escalation to "
                                  "acknowledgement.")
        out["majors"] = "Incidents of severity 1 now or at any time, with every recorded change (§7.1.1.7)."
    return [(key, _TITLES[key][0 if zh else 1], out[key]) for key in KEYS]
