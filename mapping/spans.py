"""SLA time for people: a figure of a contract's time, labelled with the kind of time it is.

An incident's deadlines, warnings and reminders count SLA time on the contract's calendar:
working time on a business calendar, round-the-clock time on a 24x7 one (paused states
excluded either way, `mapping.clock`). A note that mixes the two, or leaves the reader to
guess which, misleads: "due within 6 h … 83 h 43 min overdue" reads as wall-clock time when
the 6 h were working hours. So every figure a note gives of SLA time is written here:

- `sla_span(value, calendar, lang)`: '6 h of working time' / '工作时间6小时' on a business
  calendar, '4 h (24x7)' / '4小时（7×24）' on a 24x7 one; `full=True` adds which calendar
  ('6 h of working time (business calendar Mon–Fri 09:00–12:00, 13:00–18:00, public holidays
  off)'), for the first figure of a note;
- `calendar_text(calendar, lang)`: that description alone; `time_kind` the short label
  ('working time' / '24x7') for a table's column;
- `clock_span(value, lang)`: a span of wall-clock time ('15 min (clock time)'), for the few
  rules that are not counted on the contract's calendar (the 15 minutes of §4.3.1.2).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import timedelta

from mapping.procedure import WEEKDAYS, Calendar
from mapping.text import Language, Texts, format_duration

_WORDS = Texts("mapping.spans", {
    "kind_working": ("工作时间", "working time"),
    "kind_always": ("7×24", "24x7"),
    "working": ("工作时间{span}", "{span} of working time"),
    "working_full": ("工作时间{span}（{calendar}）", "{span} of working time ({calendar})"),
    "always": ("{span}（7×24）", "{span} (24x7)"),
    "clock": ("{span}（自然时间）", "{span} (clock time)"),
    "business": ("工作日历：{hours}", "business calendar {hours}"),
    "holidays_off": ("{calendar}，法定节假日除外", "{calendar}, public holidays off"),
    "round_the_clock": ("7×24", "24x7"),
    "day_range": ("{first}至{last}", "{first}–{last}"),
    "days_sep": ("、", ", "),
    "ranges_sep": ("、", ", "),
    "groups_sep": ("；", "; "),
    "mon": ("周一", "Mon"), "tue": ("周二", "Tue"), "wed": ("周三", "Wed"), "thu": ("周四", "Thu"),
    "fri": ("周五", "Fri"), "sat": ("周六", "Sat"), "sun": ("周日", "Sun"),
})


def _w(key: str, lang: Language, **fields: object) -> str:
    return _WORDS.text(key, lang).format(**fields)


def _days(days: list[str], lang: Language) -> str:
    """Weekdays in order, a run of three or more as 'Mon–Fri'."""
    runs: list[list[str]] = []
    for day in days:
        if runs and WEEKDAYS.index(day) == WEEKDAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(_w("day_range", lang, first=_w(run[0], lang), last=_w(run[-1], lang)))
        else:
            parts += [_w(day, lang) for day in run]
    return _w("days_sep", lang).join(parts)


def calendar_text(calendar: Calendar, lang: Language) -> str:
    """Which working time a calendar counts: its weekdays and hours, and whether public holidays are
    off ('business calendar Mon–Fri 09:00–12:00, 13:00–18:00, public holidays off'), or '24x7'."""
    if calendar.always:
        return _w("round_the_clock", lang)
    groups: list[tuple[tuple[str, ...], list[str]]] = []  # (ranges, the weekdays working them)
    for day in WEEKDAYS:
        ranges = tuple(calendar.hours.get(day, ()))
        if not ranges:
            continue
        same = next((g for g in groups if g[0] == ranges), None)
        if same is None:
            groups.append((ranges, [day]))
        else:
            same[1].append(day)
    hours = _w("groups_sep", lang).join(
        f"{_days(days, lang)} {_w('ranges_sep', lang).join(r.replace('-', '–') for r in ranges)}"
        for ranges, days in groups)
    text = _w("business", lang, hours=hours)
    if calendar.country or calendar.holidays or calendar.arrangements:
        text = _w("holidays_off", lang, calendar=text)
    return text


def time_kind(calendar: Calendar, lang: Language) -> str:
    """The kind of time a calendar counts, for a column or a label: 'working time' or '24x7'."""
    return _w("kind_always" if calendar.always else "kind_working", lang)


def sla_span(value: timedelta, calendar: Calendar, lang: Language, *, full: bool = False,
             elapsed: bool = True) -> str:
    """A span of SLA time on `calendar`, labelled with its kind; `full` names the calendar too.

    `elapsed=False` for an allowance: zero is then 'immediately' / '立即', which needs no label.
    """
    span = format_duration(value, lang, elapsed=elapsed)
    if not elapsed and value <= timedelta(0):
        return span
    if calendar.always:
        return _w("always", lang, span=span)
    if full:
        return _w("working_full", lang, span=span, calendar=calendar_text(calendar, lang))
    return _w("working", lang, span=span)


def clock_span(value: timedelta, lang: Language) -> str:
    """A span of wall-clock time, labelled so: not counted on any contract's calendar."""
    return _w("clock", lang, span=format_duration(value, lang))
