"""Validation of the procedure: pydantic models of every table, building `mapping.procedure`'s dataclasses.

`mapping.procedure` holds the procedure as plain frozen dataclasses, which the rules and
every layer above read; this module is the one that checks raw data (the default profile
merged with an admin's YAML, see `mapping.loader`) against the schema — types, ranges,
unknown keys, and the cross-field rules (ladder offsets that decrease, unknown roles,
duplicate category codes, ...) — and turns a valid one into those dataclasses with
`to_dataclass`. The models mirror the dataclasses field for field (same names, defaults;
`tests/unit/test_procedure_schema.py` compares them), so a path in an error is a path in
the procedure. Only what validates imports pydantic: a command reading a procedure from
`mapping.procedure_cache` does not.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from mapping import procedure as plain
from mapping.procedure import (
    SEVERITIES,
    STATE_CODES,
    WEEKDAYS,
    ClockMode,
    parse_duration,
    walk_categories,
)
from mapping.text import Language, format_duration

_RANGE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

T = TypeVar("T")


def validated(cls: type[T], data: Any) -> T:
    """`data` (as written in YAML) validated as `cls`, a dataclass of `mapping.procedure`.

    Raises pydantic's ValidationError, as the loader reads it."""
    return to_dataclass(_MODELS[cls.__name__].model_validate(data))


def to_dataclass(value: Any) -> Any:
    """A validated model (and what it holds) as `mapping.procedure`'s dataclasses."""
    if isinstance(value, BaseModel):
        cls = getattr(plain, type(value).__name__)
        return cls(**{name: to_dataclass(getattr(value, name)) for name in type(value).model_fields})
    if isinstance(value, tuple):
        return tuple(to_dataclass(v) for v in value)
    if isinstance(value, dict):
        return {k: to_dataclass(v) for k, v in value.items()}
    return value


class Strict(BaseModel):
    """Base for every model: a typo in a key must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(Strict):
    """A text in both languages of the procedure."""

    zh: str
    en: str


class Category(Strict):
    """A node of the two-level category tree, routed to a support group."""

    code: str
    name: Label
    description: Label | None = None
    group: str | None = Field(default=None, description="support group handling this category")
    children: tuple[Category, ...] = ()


class Severity(Strict):
    level: int = Field(ge=1, le=4)
    name: Label
    impact: Label
    share: Label
    urgency: Label


class State(Strict):
    code: int = Field(ge=1, le=7)
    key: str
    name: Label
    meaning: Label
    clock: ClockMode


class Transition(Strict):
    """An allowed state change, named, with the section of the procedure behind it."""

    name: str
    source: tuple[int, ...] = Field(alias="from")
    target: int = Field(alias="to")
    rule: Label
    section: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Role(Strict):
    key: str
    name: Label


#: an offset as written in YAML ('4h', '30m', '1d 2h', 0 or hours); validated per cell so
#: that a bad one is reported at its own path (escalation.timetable.2.project_manager)
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

#: per severity: ladder role key -> offset from the report time, in contract time
Timetable = dict[int, dict[str, Duration]]


class Escalation(Strict):
    """The vertical escalation ladder (§5.2.2): roles in order and the default timetable."""

    ladder: tuple[str, ...] = Field(min_length=2, description="roles, lowest first; the first is the one who escalates")
    timetable: Timetable
    immediate_within: Duration = Field(
        default=timedelta(minutes=15),
        description="a report due 'immediately' (立即) counts as on time when recorded within this (KPI §7.1.1.3)")

    @property
    def targets(self) -> tuple[str, ...]:
        """Role escalated to at level 1, 2, ... (the ladder without its first rung)."""
        return self.ladder[1:]


def _check_ranges(where: str, ranges: tuple[str, ...]) -> None:
    """'HH:MM-HH:MM' ranges of one day: well-formed, each ending after it starts, in order."""
    previous_end = -1
    for text in ranges:
        match = _RANGE.match(text)
        if not match:
            raise ValueError(f"{where}: {text!r} is not a range like '09:00-12:00'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= end or end > 24 * 60:
            raise ValueError(f"{where}: {text!r} ends before it starts")
        if start < previous_end:
            raise ValueError(f"{where}: {text!r} overlaps the range before it")
        previous_end = end


class YearArrangement(Strict):
    """One year's official arrangement of days off and make-up working days (China's 放假安排).

    Given for a year, it replaces the `holidays` package for every day of that year: a day
    listed in `days_off` is free, one in `working_days` works (调休, with `makeup_hours`
    when its weekday has none), every other day follows the ordinary week.
    """

    days_off: tuple[date, ...] = Field(default=(), description="public holidays and days off in lieu")
    working_days: tuple[date, ...] = Field(default=(), description="make-up working days (调休)")


class Calendar(Strict):
    """A working calendar, or 24x7 when `always` is true."""

    always: bool = False
    timezone: str = "Asia/Shanghai"
    hours: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="weekday -> 'HH:MM-HH:MM' ranges")
    country: str | None = Field(default=None, description="public holidays from the `holidays` package, e.g. CN")
    subdivision: str | None = None
    holidays: tuple[date, ...] = ()
    working_days: tuple[date, ...] = Field(default=(), description="make-up working days (调休) beyond the package's")
    makeup_hours: tuple[str, ...] | None = Field(
        default=None, description="hours of a make-up working day on a weekday without hours; "
                                  "default: the first weekday's that has hours")
    arrangements: dict[int, YearArrangement] = Field(
        default_factory=dict, description="year -> its official arrangement, which takes precedence over the "
                                          "`holidays` package for that year")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, ranges in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            _check_ranges(day, ranges)
        return value

    @field_validator("makeup_hours")
    @classmethod
    def _makeup_ranges(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            _check_ranges("makeup_hours", value)
        return value

    @field_validator("arrangements")
    @classmethod
    def _arrangement_dates(cls, value: dict[int, YearArrangement]) -> dict[int, YearArrangement]:
        problems = []
        for year, arrangement in value.items():
            if not 1900 <= year <= 2200:
                problems.append(f"{year}: not a year")
                continue
            for d in arrangement.days_off:
                if d.year != year:
                    problems.append(f"{year}.days_off: {d} is not in {year} (put it under {d.year})")
            for d in arrangement.working_days:
                # a New Year's Day arrangement may put its make-up days in the December before
                # (2002's: Saturday and Sunday 2001-12-29/30, State Council notice of 2001-12)
                if not (d.year == year or (d.year == year - 1 and d.month == 12)):
                    problems.append(f"{year}.working_days: {d} is not in {year} or the December before "
                                    f"(put it under {d.year})")
            for d in sorted(set(arrangement.days_off) & set(arrangement.working_days)):
                problems.append(f"{year}: {d} is listed both as a day off and as a working day")
        if problems:
            raise ValueError("\n".join(problems))
        return value

    @model_validator(mode="after")
    def _has_hours(self) -> Calendar:
        if not self.always and not any(self.hours.values()):
            raise ValueError("a calendar needs working `hours`, or `always: true` for 24x7")
        if self.always and self.arrangements:
            raise ValueError("`arrangements` mean nothing on a 24x7 calendar (`always: true` works every day)")
        return self

    @model_validator(mode="after")
    def _known_country(self) -> Calendar:
        if self.country is None:
            return self
        # here, so that only calendars naming a country pay for the import (of that country alone)
        from mapping.public_holidays import country_holidays

        try:
            country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError as exc:  # unknown country or subdivision
            raise ValueError(f"country {self.country!r}: the holidays package says: {exc} "
                             "(use an ISO 3166 code such as CN)") from None
        return self


class WarningRule(Strict):
    """When to warn before a deadline: once `share` of the allowed time has passed, or `lead`
    before the deadline (SLA time, the contract's calendar). Exactly one of the two."""

    share: float | None = Field(default=None, gt=0, lt=1, description="e.g. 0.75: a quarter of the time is left")
    lead: Duration | None = Field(default=None, description="e.g. '1h': one hour of SLA time before the deadline")

    @model_validator(mode="after")
    def _one(self) -> WarningRule:
        if (self.share is None) == (self.lead is None):
            raise ValueError("give either `share` (e.g. 0.75) or `lead` (e.g. 1h), not both or neither")
        if self.lead is not None and self.lead <= timedelta(0):
            raise ValueError("`lead` must be more than 0")
        return self


class Warnings(Strict):
    """Warnings before a breach (§5.2.1 "预计未能…修复"): a note and a notification before each
    deadline, to the people working the incident."""

    enabled: bool = True
    default: WarningRule = WarningRule(share=0.75)
    severities: dict[int, WarningRule | Literal["off"]] = Field(
        default_factory=dict, description="severity -> its own rule, or 'off'")
    notify: tuple[str, ...] = Field(
        default=("assignee", "target"),
        description="'assignee', 'target' (the role the deadline escalates to) and/or role keys")


class Acknowledgement(Strict):
    """Escalations to be acknowledged (opt-in): repeated until a holder of the role escalated to
    acknowledges, every `repeat_every` (SLA time), at most `max_repeats` times."""

    repeat_every: Duration = Field(description="e.g. '30m'")
    max_repeats: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _positive(self) -> Acknowledgement:
        if self.repeat_every <= timedelta(0):
            raise ValueError("`repeat_every` must be more than 0")
        return self


class Contract(Strict):
    """A customer contract: its own timetable, calendar, clock rules and language (§5.2.2)."""

    name: Label | None = None
    calendar: str
    language: Language = "zh"
    timetable: Timetable | None = Field(default=None, description="rows replacing the default timetable's")
    clock: dict[str, ClockMode] = Field(default_factory=dict, description="state key -> clock mode override")
    enforce_transitions: bool = Field(default=False, description="put an illegal state change back")
    customer_updates: Literal["on", "off", "severe"] = "on"
    warnings: Warnings = Field(default_factory=Warnings, description="warnings before each deadline")
    acknowledge: Acknowledgement | None = Field(
        default=None, description="repeat an escalation's notification until acknowledged; None = off")


class DowngradeException(Strict):
    """Who may record an approved lowering of a severity (§4.3.1.2, §4.5.4)."""

    roles: tuple[str, ...] = ("project_manager",)


class RecordField(Strict):
    key: str
    name: Label


class Procedure(Strict):
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

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        problems: list[str] = []
        role_keys = {r.key for r in self.roles}
        for i, role in enumerate(self.escalation.ladder):
            if role not in role_keys:
                problems.append(f"escalation.ladder[{i}]: unknown role {role!r} (known: {', '.join(sorted(role_keys))})")
        for i, role in enumerate(self.downgrade_exception.roles):
            if role not in role_keys:
                problems.append(f"downgrade_exception.roles[{i}]: unknown role {role!r} (known: {', '.join(sorted(role_keys))})")
        levels = sorted(s.level for s in self.severities)
        if levels != list(SEVERITIES):
            problems.append(f"severities: must define levels 1-4 once each, found {levels}")
        codes = sorted(s.code for s in self.states)
        if codes != list(STATE_CODES):
            problems.append(f"states: must define codes 1-7 once each, found {codes}")
        # a ladder naming an unknown role would make every timetable row wrong: report the ladder only
        ladder_ok = all(role in role_keys for role in self.escalation.ladder)
        if ladder_ok:
            problems += _timetable_problems("escalation.timetable", self.escalation.timetable, self.escalation,
                                            full=True)
        for name, contract in self.contracts.items():
            if contract.calendar not in self.calendars:
                problems.append(f"contracts.{name}.calendar: unknown calendar {contract.calendar!r}")
            if contract.timetable and ladder_ok:
                merged = {**self.escalation.timetable, **contract.timetable}
                problems += _timetable_problems(f"contracts.{name}.timetable", merged, self.escalation, full=True,
                                                only=set(contract.timetable))
            state_keys = {s.key for s in self.states}
            for key in contract.clock:
                if key not in state_keys:
                    problems.append(f"contracts.{name}.clock.{key}: unknown state {key!r} (known: {', '.join(sorted(state_keys))})")
        if self.default_contract not in self.contracts:
            problems.append(f"default_contract: unknown contract {self.default_contract!r}")
        seen: dict[str, str] = {}
        for path, cat in walk_categories(self.categories):
            if cat.code in seen:
                problems.append(f"{path}.code: category code {cat.code!r} used twice (first {seen[cat.code]})")
            else:
                parent = next((p.code for _, p in walk_categories(self.categories) if cat in p.children), None)
                seen[cat.code] = f"under category {parent!r}" if parent else "at the top level"
        for i, t in enumerate(self.transitions):
            for key, codes in (("from", t.source), ("to", (t.target,))):
                for code in codes:
                    if code not in STATE_CODES:
                        problems.append(f"transitions[{i}].{key}: unknown state code {code} (1-7)")
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _timetable_problems(path: str, table: Timetable, esc: Escalation, *, full: bool,
                        only: set[int] | None = None) -> list[str]:
    problems = []
    for sev in SEVERITIES:
        if only is not None and sev not in only:
            continue
        row = table.get(sev)
        if row is None:
            if full:
                problems.append(f"{path}.{sev}: severity {sev} has no timetable row")
            continue
        for role in row:
            if role not in esc.targets:
                problems.append(f"{path}.{sev}.{role}: unknown role {role!r} (the ladder escalates to {', '.join(esc.targets)})")
        missing = [r for r in esc.targets if r not in row]
        if missing:
            problems.append(f"{path}.{sev}: no offset for {', '.join(missing)}")
            continue
        offsets = [row[r] for r in esc.targets]
        for (r1, o1), (r2, o2) in zip(zip(esc.targets, offsets, strict=False), zip(esc.targets[1:], offsets[1:], strict=False), strict=False):
            if o2 < o1:
                problems.append(f"{path}.{sev}.{r2}: {format_duration(o2, 'en')} is earlier than "
                                f"{r1}'s {format_duration(o1, 'en')} (ladder offsets must not decrease)")
    for sev in table:
        if sev not in SEVERITIES:
            problems.append(f"{path}.{sev}: unknown severity {sev!r} (1-4)")
    return problems


#: every model, by the name of the dataclass it builds
_MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model for model in (Label, Category, Severity, State, Transition, Role, Escalation, YearArrangement,
                                        Calendar, WarningRule, Warnings, Acknowledgement, Contract, DowngradeException,
                                        RecordField, Procedure)}
