"""Business time: how much working time lies between two instants, and when an amount ends.

A `BusinessCalendar` wraps one `mapping.procedure.Calendar`: a time zone, working hours
per weekday, public holidays and make-up working days (China's 调休) — the latter two
from the `holidays` package plus the calendar's explicit lists — or 24x7.

A year's official arrangement given in the calendar (`arrangements`) takes precedence
over the package for that year. The package knows China's arrangements only for the
years whose State Council notice it carries; later years it estimates from rules, with
no make-up working day at all. `unannounced_years` names the years a calendar reaches
into with neither (`escalator procedure check` and the daemon at start warn of them).

Speed matters (the daemon asks for every open incident on every cycle; see
`bench/bench_deadlines.py`), so the calendar keeps a lazily grown index: the working
ranges of a span of days as epoch seconds, with the working seconds accumulated before
each range. Working time is then a coordinate (`work_at`): the working seconds between a
fixed anchor and an instant, found with one bisect; `measure` is a difference of two
coordinates and `add` one more bisect to turn a coordinate back into an instant. The
index grows in either direction when an instant outside it is asked for, and keeps the
anchor, so coordinates handed out earlier stay valid.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from mapping.procedure import WEEKDAYS, Calendar
from mapping.public_holidays import CountryDays, country_holidays

#: days added to the index at a time: one rebuild covers about a year of incidents
_CHUNK_DAYS = 400
#: days of the first index, before and after the first instant asked for: a command's few deadlines
#: (a timetable's offsets are hours) need no more, and 431 days cost ~7 ms to index (issue 14:
#: `escalator deadlines` starts in ≤ 0.2 s); the daemon's grows by `_CHUNK_DAYS` from there
_FIRST_DAYS = (7, 62)
#: a calendar that has no working time within this many days is unusable, not slow
_MAX_SEARCH_DAYS = 366 * 20

Ranges = tuple[tuple[int, int], ...]  # minutes since local midnight, start < end <= 1440


class _Index(NamedTuple):
    """Working ranges of local days [first, last) — epoch seconds [lo, hi) — in order."""

    first: int
    last: int
    lo: float
    hi: float
    starts: list[float]
    ends: list[float]
    cum: list[float]  # work coordinate at the start of range i
    cum_end: list[float]  # work coordinate at the end of range i

    def raw_work(self, ts: float) -> float:
        i = bisect_right(self.starts, ts) - 1
        if i < 0:  # before the first range: nothing worked since it
            return self.cum[0] if self.cum else 0.0
        end = self.ends[i]
        return self.cum[i] + ((ts if ts < end else end) - self.starts[i])


def _parse(ranges: tuple[str, ...]) -> Ranges:
    out = []
    for text in ranges:
        start, end = text.split("-")
        out.append(tuple(int(h) * 60 + int(m) for h, m in (start.split(":"), end.split(":"))))
    return tuple(out)  # type: ignore[return-value]


class BusinessCalendar:
    """Working-time arithmetic on one calendar. Build it with `from_config` (cached)."""

    def __init__(self, config: Calendar):
        self.config = config
        self.always = config.always
        self.zone = ZoneInfo(config.timezone)
        self._hours: dict[int, Ranges] = {i: _parse(config.hours.get(day, ())) for i, day in enumerate(WEEKDAYS)}
        if config.makeup_hours is not None:
            self._makeup: Ranges = _parse(config.makeup_hours)
        else:
            self._makeup = next((r for _, r in sorted(self._hours.items()) if r), ())
        self._holidays = frozenset(config.holidays)
        self._working_days = frozenset(config.working_days)
        self._arranged_years = frozenset(config.arrangements)
        self._arranged_off = frozenset(d for a in config.arrangements.values() for d in a.days_off)
        self._arranged_work = frozenset(d for a in config.arrangements.values() for d in a.working_days)
        # asked a year at a time, and only for a year without an arrangement
        self._country = CountryDays(config.country, config.subdivision) if config.country else None
        self._day_cache: dict[int, tuple[tuple[float, float], ...]] = {}
        self._index: _Index | None = None
        self._anchor: float | None = None  # the epoch second at work coordinate 0
        self._lock = threading.Lock()  # one rebuild at a time (the daemon's threads share calendars)

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Calendar) -> BusinessCalendar:
        """The calendar for `config`, built once per config object (and per equal config)."""
        hit = _BY_ID.get(id(config))
        if hit is not None and hit[0] is config:
            return hit[1]
        key = repr(config)  # the dataclass's fields, all of them, in order
        calendar = _BY_CONTENT.get(key)
        if calendar is None:
            calendar = _BY_CONTENT[key] = cls(config)
        if len(_BY_ID) >= _CACHE_SIZE:
            _BY_ID.pop(next(iter(_BY_ID)))
        _BY_ID[id(config)] = (config, calendar)  # holding `config` keeps its id from being reused
        return calendar

    # -- days --------------------------------------------------------------------------
    def is_working_day(self, d: date) -> bool:
        """Explicit working days, then explicit holidays, then the year's arrangement, then the
        country's calendar.

        A year with an arrangement in the calendar is read from it alone: its days off are
        free, its make-up working days work, the package is not asked. Otherwise, with a
        country, a public holiday or a day off in lieu (调休 "Day off (substituted ...)") is
        free and a make-up working day (a Saturday or Sunday the package lists as working)
        works. A make-up day works `makeup_hours` if its weekday has none. Every other day
        works when its weekday has hours: the calendar's hours define the ordinary week.
        """
        if self.always or d in self._working_days:  # 24x7 works every day
            return True
        if d in self._holidays or d in self._arranged_off:
            return False
        if d in self._arranged_work:
            return True
        if d.year in self._arranged_years:
            return bool(self._hours[d.weekday()])
        if self._country is not None:
            if self._country.off(d):
                return False
            if self._country.makeup(d):  # a weekend day the country works (调休)
                return True
        return bool(self._hours[d.weekday()])

    def _day_hours(self, d: date) -> Ranges:
        if not self.is_working_day(d):
            return ()
        return self._hours[d.weekday()] or self._makeup

    def working_ranges(self, d: date) -> list[tuple[datetime, datetime]]:
        """The working ranges of local day `d`, as aware datetimes in the calendar's zone."""
        if self.always:
            start = datetime(d.year, d.month, d.day, tzinfo=self.zone)
            end = datetime.combine(d + timedelta(days=1), datetime.min.time(), tzinfo=self.zone)
            return [(start, end)]
        return [(datetime.fromtimestamp(s, self.zone), datetime.fromtimestamp(e, self.zone))
                for s, e in self._day_ranges(d.toordinal())]

    def _local(self, d: date, minutes: int) -> float:
        if minutes == 24 * 60:
            d, minutes = d + timedelta(days=1), 0
        hour, minute = divmod(minutes, 60)
        # per day, so that a DST change moves the instants and not the local hours
        return datetime(d.year, d.month, d.day, hour, minute, tzinfo=self.zone).timestamp()

    def _day_ranges(self, ordinal: int) -> tuple[tuple[float, float], ...]:
        cached = self._day_cache.get(ordinal)
        if cached is None:
            d = date.fromordinal(ordinal)
            cached = tuple((self._local(d, a), self._local(d, b)) for a, b in self._day_hours(d))
            self._day_cache[ordinal] = cached
        return cached

    # -- the index -----------------------------------------------------------------------
    def _day_of(self, ts: float) -> int:
        return datetime.fromtimestamp(ts, self.zone).date().toordinal()

    def _build(self, first: int, last: int) -> _Index:
        """Index days [first, last); published as one object, so readers never see half of it."""
        starts: list[float] = []
        ends: list[float] = []
        for ordinal in range(first, last):
            for s, e in self._day_ranges(ordinal):
                if ends and s < ends[-1]:  # a repeated hour at a DST change: count it once
                    s = ends[-1]
                if e > s:
                    starts.append(s)
                    ends.append(e)
        cum, cum_end, total = [], [], 0.0
        for s, e in zip(starts, ends, strict=True):
            cum.append(total)
            total += e - s
            cum_end.append(total)
        lo = self._local(date.fromordinal(first), 0)
        if self._anchor is None:
            self._anchor = lo
        index = _Index(first, last, lo, self._local(date.fromordinal(last), 0), starts, ends, cum, cum_end)
        base = index.raw_work(self._anchor)  # keep the anchor at coordinate 0 across rebuilds
        if base:
            index = index._replace(cum=[c - base for c in cum], cum_end=[c - base for c in cum_end])
        self._index = index
        return index

    def _grow(self, first: int | None = None, last: int | None = None) -> _Index:
        with self._lock:
            index = self._index
            if index is None:
                return self._build(first, last)  # type: ignore[arg-type]
            return self._build(min(first or index.first, index.first), max(last or index.last, index.last))

    def _cover(self, ts: float) -> _Index:
        day = self._day_of(ts)
        index = self._index
        if index is None:
            return self._grow(day - _FIRST_DAYS[0], day + _FIRST_DAYS[1])
        if day < index.first:
            return self._grow(first=day - _CHUNK_DAYS)
        return self._grow(last=day + _CHUNK_DAYS)

    def work_at(self, ts: float) -> float:
        """The work coordinate of epoch second `ts`: working seconds since a fixed anchor.

        Only differences of coordinates mean something; they stay valid for the life of
        the calendar. On a 24x7 calendar the coordinate is `ts` itself.
        """
        if self.always:
            return ts
        index = self._index
        if index is None or not (index.lo <= ts < index.hi):
            index = self._cover(ts)
        return index.raw_work(ts)

    def instant_at(self, work: float) -> float:
        """The earliest epoch second whose work coordinate is `work` (from `work_at` values).

        For a coordinate at the end of a working range this is that end (18:00), not
        the start of the next range (09:00 the next working day).
        """
        if self.always:
            return work
        index = self._index
        if index is None:
            raise ValueError("work coordinates come from work_at: none was asked for yet")
        searched = 0
        while not index.cum or work < index.cum[0] or work > index.cum_end[-1]:
            if searched > _MAX_SEARCH_DAYS:
                raise ValueError(f"calendar has no working time within {_MAX_SEARCH_DAYS} days")
            searched += _CHUNK_DAYS
            if index.cum and work < index.cum[0]:
                index = self._grow(first=index.first - _CHUNK_DAYS)
            else:
                index = self._grow(last=index.last + _CHUNK_DAYS)
        i = bisect_left(index.cum_end, work)
        return index.starts[i] + (work - index.cum[i])

    # -- the arithmetic --------------------------------------------------------------------
    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of working time has passed after `start` (UTC)."""
        if amount < timedelta(0):
            raise ValueError(f"cannot add a negative amount of working time: {amount}")
        if self.always or not amount:
            # in UTC: aware datetimes of one zone add as wall-clock times, which would move a
            # deadline by an hour across a DST change (the daemon counts elapsed seconds)
            return start.astimezone(UTC) + amount
        target = self.work_at(start.timestamp()) + amount.total_seconds()
        return datetime.fromtimestamp(self.instant_at(target), UTC)

    def measure(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants; zero when `end` is not after `start`."""
        if end <= start:
            return timedelta(0)
        if self.always:
            return end.astimezone(UTC) - start.astimezone(UTC)  # not wall-clock (see `add`)
        return timedelta(seconds=self.work_at(end.timestamp()) - self.work_at(start.timestamp()))


# -- years without an official arrangement -----------------------------------------------

#: Countries whose days off are announced year by year rather than fixed by rule: China's
#: State Council publishes each year's 放假安排 (days off, days off in lieu and make-up
#: working days, 调休) in the autumn before, e.g. the 2026 notice of November 2025
#: (https://www.gov.cn/gongbao/2025/issue_12406/202511/content_7048922.html). For years
#: after the last notice the `holidays` package estimates from rules (labelled 推定,
#: estimated) and lists no make-up working day. Elsewhere the rules are the arrangement.
ANNOUNCED_YEARLY = frozenset({"CN"})

#: How far ahead of today a calendar is said to reach: far enough that the next year's
#: notice (published October-November) is asked for before its first deadline falls.
ARRANGEMENT_LOOKAHEAD = timedelta(days=90)


def official_years(config: Calendar) -> frozenset[int] | None:
    """The years whose official arrangement the calendar knows (its own `arrangements` and the
    `holidays` package's announced ones), or None when every year is known: a 24x7 calendar,
    one without a country, or a country whose holidays follow fixed rules."""
    if config.always or config.country is None or config.country.upper() not in ANNOUNCED_YEARLY:
        return None
    package = country_holidays(config.country, subdiv=config.subdivision)
    # StaticHolidays (holidays >= 0.60): the years of the notices the package carries, each with
    # its substituted days off and make-up days; https://holidays.readthedocs.io
    announced = set(getattr(package, "special_public_holidays", {}) or {})
    return frozenset(announced | set(config.arrangements))


def unannounced_years(config: Calendar, today: date, lookahead: timedelta = ARRANGEMENT_LOOKAHEAD) -> list[int]:
    """The years from `today` to `today + lookahead` whose official arrangement the calendar lacks
    (neither its `arrangements` nor the package has one): deadlines there may fall on a day off
    the package only estimates, or skip a make-up working day it does not know."""
    known = official_years(config)
    if known is None:
        return []
    last = today + lookahead
    return [year for year in range(today.year, last.year + 1) if year not in known]


_CACHE_SIZE = 256
_BY_ID: dict[int, tuple[Calendar, BusinessCalendar]] = {}
_BY_CONTENT: dict[str, BusinessCalendar] = {}
