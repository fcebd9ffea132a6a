"""Years a contract's calendar reaches into without an official arrangement, in words.

`mapping.calendar.unannounced_years` finds them; this module says, for the admin, which
calendar and contracts are concerned and what to add. `escalator procedure check`
prints the lines; the daemon logs them once at start (`daemon.calendar-unannounced`).
"""

from __future__ import annotations

from datetime import datetime
from importlib import metadata
from zoneinfo import ZoneInfo

from mapping.calendar import unannounced_years
from mapping.procedure import Procedure


def unannounced(procedure: Procedure, now: datetime) -> list[tuple[str, tuple[str, ...], int]]:
    """(calendar name, its contracts, year) for every year a used calendar lacks, in order."""
    out = []
    for name, calendar in procedure.calendars.items():
        contracts = tuple(sorted(c for c, contract in procedure.contracts.items() if contract.calendar == name))
        if not contracts:
            continue  # a calendar no contract uses sets no deadline
        today = now.astimezone(ZoneInfo(calendar.timezone)).date()
        out += [(name, contracts, year) for year in unannounced_years(calendar, today)]
    return out


def unannounced_lines(procedure: Procedure, now: datetime) -> list[str]:
    """One line per calendar and year, naming the year and what to add."""
    try:
        package = f"holidays package {metadata.version('holidays')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency of this package
        package = "holidays package"
    lines = []
    for name, contracts, year in unannounced(procedure, now):
        country = procedure.calendars[name].country
        lines.append(
            f"calendar {name} (contract{'s' if len(contracts) > 1 else ''} {', '.join(contracts)}) reaches into "
            f"{year}, for which neither the procedure nor the {package} has {country}'s official arrangement: "
            f"deadlines in {year} count estimated holidays and no make-up working day. Add "
            f"calendars.{name}.arrangements.{year} with its days_off and working_days, or a holidays "
            f"package that carries {year}.")
    return lines
