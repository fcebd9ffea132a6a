"""`escalator deadlines`: when each escalation level falls due — to check a contract's timetable.

The clock is assumed to run all the time (no pause); offsets count in the contract's
calendar, so on a business-hours contract "4h" is four working hours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from mapping import procedure_cache
from mapping.calendar import BusinessCalendar
from mapping.procedure import Contract, Procedure
from mapping.text import LANGUAGES, format_duration, text_table
from mapping.timetable import UnknownContract, contract_named
from mapping.timetable import deadlines as level_deadlines
from plugin.cli.procedure_file import procedure_path

_WEEKDAYS_ZH = "一二三四五六日"


def _configured_language(path: Path | None) -> str | None:
    """The `language` of an escalator config given as --config (None for a procedure YAML)."""
    if path is None or procedure_path(path) == path:
        return None  # no config, or a procedure override itself
    from plugin.config import load_config  # here: without --config the command never reads one

    return load_config(path).language


def _reported(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.UsageError(f"--reported: {text!r} is not a date and time like 2026-11-20T09:00") from None


@click.command()
@click.option("--severity", type=click.IntRange(1, 4), required=True, help="Severity 1-4.")
@click.option("--reported", "reported_text", required=True, metavar="DATETIME",
              help="Report time, ISO 8601 (2026-11-20T09:00); without an offset it is local "
                   "time in the contract calendar's zone.")
@click.option("--contract", "contract_name", default=None, help="Contract name (default: the procedure's).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A procedure override YAML, or the escalator config file (its `procedure:`).")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None,
              help="Language of role names and weekdays [default: the config's `language`, else both].")
def deadlines(severity: int, reported_text: str, contract_name: str | None, config_path: Path | None,
              lang: str | None) -> None:
    """Print when each escalation level falls due for an incident reported at a given time."""
    procedure = procedure_cache.load_procedure(procedure_path(config_path))
    lang = lang or _configured_language(config_path)
    reported = _reported(reported_text)
    try:
        name, contract = contract_named(procedure, contract_name)
    except UnknownContract as exc:
        raise click.UsageError(f"--contract: {exc}") from None
    calendar_name = contract.calendar
    zone = _zone(procedure, contract)
    if reported.tzinfo is None:
        reported = _localise(reported, zone, reported_text)
    label = contract.name.in_(lang or "en") if contract.name else name
    local = reported.astimezone(zone)
    if lang == "zh":
        click.echo(f"合同 {name}（{label}），日历 {calendar_name}（{zone.key}），级别 {severity}，"
                   f"报告于 {_when(local, lang)}")
        headers = ["升级", "角色", "时限", "截止"]
    else:
        click.echo(f"Contract {name} ({label}), calendar {calendar_name} ({zone.key}), "
                   f"severity {severity}, reported {_when(local, lang)}")
        headers = ["level", "role", "offset", "due"]
    rows = []
    for level, role_key, offset, due in level_deadlines(procedure, name, severity, reported):
        role = procedure.role(role_key)
        rows.append([str(level), role.name.in_(lang) if lang else f"{role.name.zh} {role.name.en}",
                     format_duration(offset, lang or "en"), _when(due.astimezone(zone), lang)])
    click.echo(text_table(headers, rows))
    procedure_cache.remember_holidays()  # the years of days off this answer needed, for the next run


def _localise(naive: datetime, zone: ZoneInfo, text: str) -> datetime:
    """A local time in `zone`; refused when a daylight-saving change makes it ambiguous or absent.

    The daemon reads report times as instants from the tracker; a local time the clocks
    skip or pass twice names no instant, or two, and a guess would print deadlines an
    hour away from what the daemon enforces.
    """
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        # PEP 495: in a gap fold=0 takes the offset before the change, fold=1 the one after
        gap = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive
        example = naive.isoformat(timespec="minutes")
        offsets = " or ".join(f"{example}{_offset(d)}" for d in (early, late))
        if gap:
            raise click.UsageError(f"--reported: {text} does not exist in {zone.key} (the clocks skip it at a "
                                   f"daylight-saving change); give an offset, e.g. {offsets}")
        raise click.UsageError(f"--reported: {text} happens twice in {zone.key} (the clocks go back); "
                               f"give an offset: {offsets}")
    return early


def _offset(moment: datetime) -> str:
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def _zone(procedure: Procedure, contract: Contract) -> ZoneInfo:
    return BusinessCalendar.from_config(procedure.calendar_of(contract)).zone


def _when(moment: datetime, lang: str | None = None) -> str:
    """The date, time, weekday (in `lang`, else in both) and offset."""
    zh, en = f"周{_WEEKDAYS_ZH[moment.weekday()]}", f"{moment:%a}"
    weekday = {"zh": zh, "en": en}.get(lang or "", f"{en} {zh}")
    return f"{moment:%Y-%m-%d %H:%M} {weekday} {moment:%z}"
