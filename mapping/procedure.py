"""The procedure (事件管理程序) as data: frozen dataclasses for every table of SPEC.md.

The default profile lives in `default_profile.yaml`; an admin overrides any part of
it in their own YAML (see `mapping.loader`). These classes hold a procedure that has
been validated already: `mapping.procedure_schema` checks the data (types, ranges,
cross-field rules such as ladder offsets that decrease, unknown roles, duplicate
category codes) and builds them, so that a profile that loads is a profile the rules
can trust. They import no validation library: a command that reads a validated
procedure from `mapping.procedure_cache` starts without one (issue 14).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from mapping.text import Language, in_language

__all__ = ["Language"]  # re-exported: the procedure's languages are where its texts are

ClockMode = Literal["running", "paused", "stopped"]

#: The vertical escalation levels: level N means "reported to ladder role N".
ESCALATION_LEVELS = (1, 2, 3)
SEVERITIES = (1, 2, 3, 4)
STATE_CODES = (1, 2, 3, 4, 5, 6, 7)

# compiled at the first use (by `re`'s own cache): only validating a procedure parses durations
_DURATION = r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: per severity: ladder role key -> offset from the report time, in contract time
Timetable = dict[int, dict[str, timedelta]]


def parse_duration(value: object) -> timedelta:
    """'4h', '30m', '1d 2h', '0' or a number of hours -> timedelta. Raises ValueError.

    What `mapping.text.format_duration` writes in English ('2 h 10 min', 'immediately')
    reads back, so a duration the escalator shows can be pasted into a profile.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration must not be negative: {value!r}")
        return timedelta(hours=value)
    text = str(value).strip().lower()
    if text in {"0", "immediately", "立即"}:
        return timedelta(0)
    match = re.match(_DURATION, text)
    if not text or not match or not any(match.groups()):
        raise ValueError(f"not a duration: {value!r} (write e.g. '4h', '30m', '1d 2h' or 0)")
    days, hours, minutes = (float(g) if g else 0.0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


class _Value:
    """Equality, hash and repr by the fields' values, as `dataclass(eq=True, repr=True)` would generate
    them: written once here for every class below rather than generated for each (every method a
    dataclass generates is compiled with an `exec` at import, a good part of a short command's start,
    issue 14). Two instances are equal when they are of the same class and their fields are."""

    __slots__ = ()
    __dataclass_fields__: dict[str, object]

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__dataclass_fields__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__)
        return f"{type(self).__qualname__}({fields})"


#: every class below: immutable, compared by value (`_Value`), built by keyword (as the YAML names its
#: keys), and picklable (`mapping.procedure_cache`)
_frozen = dataclass(frozen=True, kw_only=True, eq=False, repr=False)


@_frozen
class Label(_Value):
    """A text in both languages of the procedure."""

    zh: str
    en: str

    def in_(self, lang: Language) -> str:
        return in_language(self.zh, self.en, lang)


@_frozen
class Category(_Value):
    """A node of the two-level category tree, routed to a support group."""

    code: str
    name: Label
    description: Label | None = None
    group: str | None = None  # support group handling this category
    children: tuple[Category, ...] = ()


@_frozen
class Severity(_Value):
    level: int
    name: Label
    impact: Label
    share: Label
    urgency: Label


@_frozen
class State(_Value):
    code: int
    key: str
    name: Label
    meaning: Label
    clock: ClockMode


@_frozen
class Transition(_Value):
    """An allowed state change, named, with the section of the procedure behind it (written
    `from` and `to` in YAML)."""

    name: str
    source: tuple[int, ...]
    target: int
    rule: Label
    section: str


@_frozen
class Role(_Value):
    key: str
    name: Label


@_frozen
class Escalation(_Value):
    """The vertical escalation ladder (§5.2.2): roles in order and the default timetable."""

    ladder: tuple[str, ...]  # roles, lowest first; the first is the one who escalates
    timetable: Timetable
    #: a report due 'immediately' (立即) counts as on time when recorded within this (KPI §7.1.1.3)
    immediate_within: timedelta = timedelta(minutes=15)

    @property
    def targets(self) -> tuple[str, ...]:
        """Role escalated to at level 1, 2, ... (the ladder without its first rung)."""
        return self.ladder[1:]


@_frozen
class YearArrangement(_Value):
    """One year's official arrangement of days off and make-up working days (China's 放假安排).

    Given for a year, it replaces the `holidays` package for every day of that year: a day
    listed in `days_off` is free, one in `working_days` works (调休, with `makeup_hours`
    when its weekday has none), every other day follows the ordinary week.
    """

    days_off: tuple[date, ...] = ()  # public holidays and days off in lieu
    working_days: tuple[date, ...] = ()  # make-up working days (调休)


@_frozen
class Calendar(_Value):
    """A working calendar, or 24x7 when `always` is true."""

    always: bool = False
    timezone: str = "Asia/Shanghai"
    hours: dict[str, tuple[str, ...]] = field(default_factory=dict)  # weekday -> 'HH:MM-HH:MM' ranges
    country: str | None = None  # public holidays from the `holidays` package, e.g. CN
    subdivision: str | None = None
    holidays: tuple[date, ...] = ()
    working_days: tuple[date, ...] = ()  # make-up working days (调休) beyond the package's
    #: hours of a make-up working day on a weekday without hours; default: the first weekday's that has hours
    makeup_hours: tuple[str, ...] | None = None
    #: year -> its official arrangement, which takes precedence over the `holidays` package for that year
    arrangements: dict[int, YearArrangement] = field(default_factory=dict)


@_frozen
class WarningRule(_Value):
    """When to warn before a deadline: once `share` of the allowed time has passed, or `lead`
    before the deadline (SLA time, the contract's calendar). Exactly one of the two."""

    share: float | None = None  # e.g. 0.75: a quarter of the time is left
    lead: timedelta | None = None  # e.g. 1h: one hour of SLA time before the deadline


@_frozen
class Warnings(_Value):
    """Warnings before a breach (§5.2.1 "预计未能…修复"): a note and a notification before each
    deadline, to the people working the incident."""

    enabled: bool = True
    default: WarningRule = WarningRule(share=0.75)
    severities: dict[int, WarningRule | Literal["off"]] = field(default_factory=dict)  # severity -> rule or 'off'
    #: 'assignee', 'target' (the role the deadline escalates to) and/or role keys
    notify: tuple[str, ...] = ("assignee", "target")

    def rule_for(self, severity: int) -> WarningRule | None:
        if not self.enabled:
            return None
        rule = self.severities.get(severity, self.default)
        return None if rule == "off" else rule  # type: ignore[return-value]


@_frozen
class Acknowledgement(_Value):
    """Escalations to be acknowledged (opt-in): repeated until a holder of the role escalated to
    acknowledges, every `repeat_every` (SLA time), at most `max_repeats` times."""

    repeat_every: timedelta
    max_repeats: int = 3


@_frozen
class Contract(_Value):
    """A customer contract: its own timetable, calendar, clock rules and language (§5.2.2)."""

    name: Label | None = None
    calendar: str
    language: Language = "zh"
    timetable: Timetable | None = None  # rows replacing the default timetable's
    clock: dict[str, ClockMode] = field(default_factory=dict)  # state key -> clock mode override
    enforce_transitions: bool = False  # put an illegal state change back
    customer_updates: Literal["on", "off", "severe"] = "on"
    warnings: Warnings = field(default_factory=Warnings)  # warnings before each deadline
    #: repeat an escalation's notification until acknowledged; None = off
    acknowledge: Acknowledgement | None = None


@_frozen
class DowngradeException(_Value):
    """Who may record an approved lowering of a severity (§4.3.1.2, §4.5.4)."""

    roles: tuple[str, ...] = ("project_manager",)


@_frozen
class RecordField(_Value):
    key: str
    name: Label


@_frozen
class Procedure(_Value):
    """The whole procedure: the default profile merged with an admin's overrides."""

    name: Label
    roles: tuple[Role, ...]
    categories: tuple[Category, ...]
    severities: tuple[Severity, ...]
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    escalation: Escalation
    calendars: dict[str, Calendar]
    contracts: dict[str, Contract]
    default_contract: str = "default"
    downgrade_exception: DowngradeException = DowngradeException()
    record_fields: tuple[RecordField, ...]

    # -- look-ups -------------------------------------------------------------------
    def contract(self, name: str | None) -> Contract:
        return self.contracts[name or self.default_contract]

    def calendar_of(self, contract: Contract) -> Calendar:
        return self.calendars[contract.calendar]

    def timetable_for(self, contract: Contract) -> Timetable:
        if contract.timetable:
            return {**self.escalation.timetable, **contract.timetable}
        return self.escalation.timetable

    def state(self, code: int) -> State:
        return next(s for s in self.states if s.code == code)

    def state_by_key(self, key: str) -> State:
        return next(s for s in self.states if s.key == key)

    def severity(self, level: int) -> Severity:
        return next(s for s in self.severities if s.level == level)

    def role(self, key: str) -> Role:
        return next(r for r in self.roles if r.key == key)

    def clock_mode(self, contract: Contract, state_code: int) -> ClockMode:
        state = self.state(state_code)
        return contract.clock.get(state.key, state.clock)

    def category(self, code: str) -> Category | None:
        return next((c for _, c in walk_categories(self.categories) if c.code == code), None)

    def all_categories(self) -> list[Category]:
        return [c for _, c in walk_categories(self.categories)]


def walk_categories(cats: tuple[Category, ...], prefix: str = "categories"):
    """(path, category) of every category of the tree, depth first: `categories[0].children[1]`."""
    for i, cat in enumerate(cats):
        path = f"{prefix}[{i}]"
        yield path, cat
        yield from walk_categories(cat.children, f"{path}.children")
