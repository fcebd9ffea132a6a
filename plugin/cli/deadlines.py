"""`escalator deadlines`: when each escalation level falls due — to check a contract's timetable.

The clock is assumed to run all the time (no pause); offsets count in the contract's
calendar, so on a business-hours contract "4h" is four working hours.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from mapping.calendar import BusinessCalendar
from mapping.escalation import UnknownContract, contract_named
from mapping.escalation import deadlines as level_deadlines
from mapping.loader import load_procedure
from mapping.procedure import Contract, Procedure
from mapping.text import format_duration, text_table
from plugin.cli.procedure import procedure_path

_WEEKDAYS_ZH = "一二三四五六日"


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
def deadlines(severity: int, reported_text: str, contract_name: str | None, config_path: Path | None) -> None:
    """Print when each escalation level falls due for an incident reported at a given time."""
    procedure = load_procedure(procedure_path(config_path))
    reported = _reported(reported_text)
    try:
        name, contract = contract_named(procedure, contract_name)
    except UnknownContract as exc:
        raise click.UsageError(f"--contract: {exc}") from None
    calendar_name = contract.calendar
    zone = _zone(procedure, contract)
    if reported.tzinfo is None:
        reported = reported.replace(tzinfo=zone)
    label = contract.name.in_("en") if contract.name else name
    local = reported.astimezone(zone)
    click.echo(f"Contract {name} ({label}), calendar {calendar_name} ({zone.key}), "
               f"severity {severity}, reported {_when(local)}")
    rows = []
    for level, role_key, offset, due in level_deadlines(procedure, name, severity, reported):
        role = procedure.role(role_key)
        rows.append([str(level), f"{role.name.zh} {role.name.en}", format_duration(offset, "en"),
                     _when(due.astimezone(zone))])
    click.echo(text_table(["level", "role", "offset", "due"], rows))


def _zone(procedure: Procedure, contract: Contract) -> ZoneInfo:
    return BusinessCalendar.from_config(procedure.calendar_of(contract)).zone


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} {moment:%a} 周{_WEEKDAYS_ZH[moment.weekday()]} {moment:%z}"
