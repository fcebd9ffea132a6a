"""`escalator report kpi|monthly|callbacks|record|workorder`: reports from the tracker's own data.

Each command reads the incidents through the configured connector (search plus
history: right even for incidents the daemon never saw), with a progress bar on
stderr, then hands plain snapshots to the pure renderers of `plugin.reports`.
Tickets a connector cannot translate, or that name an unknown contract, are reported
on stderr and left out, never guessed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from connectors import factory
from connectors.base import Cursor
from mapping.duties import parse_iso_week, week_bounds
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable
from mapping.kpi import compute_kpis, month_bounds
from mapping.procedure import Procedure
from mapping.text import LANGUAGES
from mapping.trends import detect_trends
from plugin.config import Config
from plugin.contracts import with_contract
from plugin.preflight import load_setup
from plugin.reports.callbacks import callback_list, render_callbacks
from plugin.reports.kpi_formats import FORMATS, render_kpi
from plugin.reports.monthly import monthly_kpis, render_monthly
from plugin.reports.record import render_record
from plugin.reports.workorder import render_workorder


def _setup(config_path: Path) -> tuple[Config, Procedure, TrackerMapping, object]:
    setup = load_setup(config_path)  # checked whole: a report on a wrong config would mislead
    return (setup.config, setup.procedure, setup.mapping,
            factory.make_connector(setup.config.tracker_settings(), setup.mapping))


def _holders(config: Config, procedure: Procedure) -> Callable[[Incident], dict[int, set[str]]]:
    """Who holds each escalation level's role for an incident (who may acknowledge it), as the daemon sees it."""
    def holders(incident: Incident) -> dict[int, set[str]]:
        return {level: set(config.roles.people(role, contract=incident.contract, organisation=incident.organisation,
                                               project=incident.project))
                for level, role in enumerate(procedure.escalation.targets, start=1)}
    return holders


def _zone(procedure: Procedure) -> ZoneInfo:
    return ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)


def read_incidents(connector, procedure: Procedure, config: Config, since: datetime | None = None,
                   label: str = "Reading incidents") -> list[Incident]:
    """The incidents updated since `since` (all when None), with a progress bar on stderr.

    Each comes with its contract resolved as the daemon resolves it (`plugin.contracts`),
    before anything is counted: the config's `contracts:` rules decide which contract's
    report an incident is in and which timetable it is measured against.

    An incident reported or resolved in a period was updated at or after the period's
    start, so reading from there loses nothing and skips the tracker's older history.
    The unreadable and those of an unknown contract are reported on stderr and left out.
    """
    incidents: list[Incident] = []
    skipped: list[str] = []
    with click.progressbar(connector.read_changed(Cursor(since=since)), label=label, show_pos=True,
                           file=sys.stderr) as results:
        for result in results:
            if isinstance(result, Unreadable):
                skipped.append(f"{result.ref}: {result.reason}")
            else:
                result = with_contract(result, config, procedure)
                if result.contract not in procedure.contracts:
                    skipped.append(f"{result.ref}: unknown contract {result.contract!r}")
                else:
                    incidents.append(result)
    for line in skipped:
        click.echo(f"warning: skipped {line}", err=True)
    return incidents


def _with_connector(config_path: Path, work: Callable[[Config, Procedure, TrackerMapping, object], None]) -> None:
    config, procedure, mapping, connector = _setup(config_path)
    try:
        work(config, procedure, mapping, connector)
    finally:
        connector.close()


def _parse_moment(value: str, tz: ZoneInfo, what: str) -> datetime:
    """'2026-11-01' (midnight) or '2026-11-01T09:00' in the calendar zone, or with an explicit offset."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tz)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (2026-11-01) or a date and time (2026-11-01T09:00)",
                                 param_hint=what) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _check_contract(procedure: Procedure, contract: str | None) -> None:
    if contract and contract not in procedure.contracts:
        raise click.BadParameter(f"unknown contract {contract!r} (known: {', '.join(sorted(procedure.contracts))})",
                                 param_hint="--contract")


def _now(as_of: str | None, tz: ZoneInfo) -> datetime:
    return _parse_moment(as_of, tz, "--as-of") if as_of else datetime.now(UTC)


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(out), hint=exc.strerror) from None
    click.echo(f"wrote {out}", err=True)


_config_option = click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                              required=True, help="The escalator's config file.")
_lang_option = click.option("--lang", type=click.Choice(LANGUAGES), default=None,
                            help="Language of the report [default: the config's `language`, else zh].")


def _lang(lang: str | None, config: Config) -> str:
    return lang or config.language or "zh"
_as_of_option = click.option("--as-of", "as_of", default=None, metavar="DATETIME",
                             help="Compute as of this moment instead of now (reproducible reports).")
_out_option = click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
                           help="Write to this file instead of standard output.")


@click.group()
def report() -> None:
    """Reports from the tracker's data: KPIs, the monthly service report, call-backs, record sheets,
    work orders."""


@report.command()
@click.option("--from", "from_", required=True, metavar="DATE", help="First day (or instant) of the period.")
@click.option("--to", "to", required=True, metavar="DATE", help="End of the period, excluded.")
@click.option("--contract", default=None, help="Only this contract's incidents.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@_config_option
@_lang_option
@_as_of_option
@_out_option
def kpi(from_: str, to: str, contract: str | None, fmt: str, config_path: Path, lang: str | None, as_of: str | None,
        out: Path | None) -> None:
    """The KPIs (§7.1.1) of the incidents reported in [--from, --to)."""

    def work(config: Config, procedure: Procedure, mapping: TrackerMapping, connector) -> None:
        tz = _zone(procedure)
        start, end = _parse_moment(from_, tz, "--from"), _parse_moment(to, tz, "--to")
        if end <= start:
            raise click.BadParameter("must be after --from", param_hint="--to")
        _check_contract(procedure, contract)
        now = _now(as_of, tz)
        incidents = read_incidents(connector, procedure, config, since=start)
        result = compute_kpis(incidents, procedure, start, end, now, contract=contract,
                              first_line_groups=config.reports.first_line_groups, tz=tz,
                              groups_recorded=mapping.records_groups, holders=_holders(config, procedure))
        _emit(render_kpi(result, procedure, fmt, _lang(lang, config)), out)

    _with_connector(config_path, work)


@report.command()
@click.option("--month", required=True, metavar="YYYY-MM", help="The month, e.g. 2026-11.")
@click.option("--contract", default=None, help="Only this contract's incidents.")
@_config_option
@_lang_option
@_as_of_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The HTML file to write [default: service-report-YYYY-MM.html].")
def monthly(month: str, contract: str | None, config_path: Path, lang: str | None, as_of: str | None,
            out: Path | None) -> None:
    """The monthly service report 《服务月报》 as one self-contained HTML file with charts."""

    def work(config: Config, procedure: Procedure, mapping: TrackerMapping, connector) -> None:
        try:
            start, _ = month_bounds(month, _zone(procedure))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--month") from None
        _check_contract(procedure, contract)
        now = _now(as_of, _zone(procedure))
        incidents = read_incidents(connector, procedure, config, since=start)
        result = monthly_kpis(incidents, procedure, month, now, contract=contract,
                              first_line_groups=config.reports.first_line_groups,
                              groups_recorded=mapping.records_groups, holders=_holders(config, procedure))
        rules = config.duties.problems.trends
        trends = None
        if rules:
            end = month_bounds(month, _zone(procedure))[1]
            trends = [d for d in detect_trends(incidents, procedure, rules, now, between=(start, end))
                      if contract is None or d.contract == contract]
        _emit(render_monthly(result, procedure, month, _lang(lang, config), trends), out or Path(f"service-report-{month}.html"))

    _with_connector(config_path, work)


@report.command()
@click.option("--week", required=True, metavar="YYYY-Www", help="The ISO week, e.g. 2026-W47.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@_config_option
@_lang_option
@_out_option
def callbacks(week: str, fmt: str, config_path: Path, lang: str | None, out: Path | None) -> None:
    """The call-back list (§4.6.3): every incident resolved in the week, with its customer contact."""

    def work(config: Config, procedure: Procedure, mapping: TrackerMapping, connector) -> None:
        try:
            start, _ = week_bounds(parse_iso_week(week), _zone(procedure))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--week") from None
        incidents = read_incidents(connector, procedure, config, since=start)
        _emit(render_callbacks(callback_list(incidents, procedure, week), procedure, week, fmt, _lang(lang, config)),
              out)

    _with_connector(config_path, work)


@report.command()
@click.argument("ticket")
@click.option("--format", "fmt", type=click.Choice(["text", "html"]), default="text", show_default=True)
@_config_option
@_lang_option
@_as_of_option
@_out_option
def record(ticket: str, fmt: str, config_path: Path, lang: str | None, as_of: str | None, out: Path | None) -> None:
    """The incident record sheet 《事件记录表》 of TICKET: the §4.1.4 facts and the full timeline."""

    def work(config: Config, procedure: Procedure, mapping: TrackerMapping, connector) -> None:
        result = _read_incident(connector, ticket, config, procedure)
        _emit(render_record(result, procedure, _now(as_of, _zone(procedure)), fmt, _lang(lang, config)), out)

    _with_connector(config_path, work)


def _read_incident(connector, ticket: str, config: Config, procedure: Procedure) -> Incident:
    """One ticket as an incident under its contract; a one-line error when it cannot be."""
    result = connector.read_one(ticket)
    if isinstance(result, Unreadable):
        raise click.ClickException(f"{result.ref}: cannot be read as an incident: {result.reason}")
    result = with_contract(result, config, procedure)
    if result.contract not in procedure.contracts:
        raise click.ClickException(f"{result.ref}: unknown contract {result.contract!r}")
    return result


@report.command()
@click.argument("ticket")
@_config_option
@_lang_option
@_as_of_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The HTML file to write [default: workorder-TICKET.html].")
def workorder(ticket: str, config_path: Path, lang: str, as_of: str | None, out: Path | None) -> None:
    """The customer service work order 《客户服务工作单》 of TICKET, print-ready HTML (A4) for the customer to sign."""

    def work(config: Config, procedure: Procedure, mapping: TrackerMapping, connector) -> None:
        result = _read_incident(connector, ticket, config, procedure)
        _emit(render_workorder(result, procedure, _now(as_of, _zone(procedure)), _lang(lang, config)),
              out or Path(f"workorder-{result.ref}.html"))

    _with_connector(config_path, work)
