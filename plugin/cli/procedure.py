"""`escalator procedure show|check`: read the procedure as tables; validate an admin's override.

`check FILE` prints one line per problem (`acme.yaml:14: path: what is wrong`), all at
once, and exits 1; on success a one-line summary and exit 0. `show` prints every
table of the procedure in Chinese or English. Both accept the admin's procedure YAML
or an escalator config file (a top-level `tracker:` key), whose `procedure:` is used.

Tables are `mapping.text.text_table`: aligned by display width, so Chinese and Latin
text keep their columns.
"""

from __future__ import annotations

from pathlib import Path

import click

from mapping import procedure_cache
from mapping.procedure import WEEKDAYS, Language, Procedure
from mapping.record import route
from mapping.text import LANGUAGES, Texts, format_duration, text_table
from plugin.cli.procedure_file import procedure_path

_TEXT = Texts("plugin.cli.procedure", {
    "categories": ("事件分类", "Categories"),
    "severities": ("事件分级", "Severities"),
    "states": ("事件状态", "States"),
    "transitions": ("允许的状态变更", "Allowed state changes"),
    "timetable": ("垂直升级时间表", "Vertical escalation timetable"),
    "calendars": ("工作日历", "Calendars"),
    "record": ("事件记录内容", "Record fields"),
    "code": ("代码", "code"),
    "level1": ("一级分类", "level 1"),
    "level2": ("二级分类", "level 2"),
    "group": ("支持组", "support group"),
    "level": ("级别", "level"),
    "name": ("名称", "name"),
    "impact": ("业务影响", "business impact"),
    "share": ("影响范围", "share affected"),
    "urgency": ("紧急程度", "urgency"),
    "state": ("状态", "state"),
    "meaning": ("含义", "meaning"),
    "clock": ("SLA 计时", "SLA clock"),
    "running": ("计时", "running"),
    "paused": ("暂停计时", "paused"),
    "stopped": ("停止计时", "stopped"),
    "rule": ("规则", "rule"),
    "from": ("从", "from"),
    "to": ("到", "to"),
    "section": ("条款", "section"),
    "severity": ("事件级别", "severity"),
    "contract": ("合同", "contract"),
    "calendar": ("日历", "calendar"),
    "ladder": ("升级顺序", "ladder"),
    "timezone": ("时区", "time zone"),
    "hours": ("工作时间", "working hours"),
    "holidays": ("节假日", "public holidays"),
    "arranged": ("放假安排", "arrangement"),
    "always": ("7×24", "24x7"),
    "key": ("键", "key"),
    "none": ("无", "none"),
    "enforce": ("非法状态变更将被撤回", "illegal state changes are put back"),
    "downgrade": ("可批准降级的角色", "may approve a lowered severity"),
})


def _table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    return text_table(headers, rows, indent=indent).splitlines()


def render(procedure: Procedure, lang: Language) -> list[str]:
    """The whole procedure as readable text tables."""
    def t(key: str) -> str:
        return _TEXT.text(key, lang)

    def state_name(code: int) -> str:
        return f"{code} {procedure.state(code).name.in_(lang)}"

    out = [procedure.name.in_(lang), ""]

    out.append(f"{t('categories')} (§1.3)")
    rows = []
    for top in procedure.categories:
        rows.append([top.code, top.name.in_(lang), "", route(procedure, top.code) or "-"])
        for child in top.children:
            rows.append([child.code, "", child.name.in_(lang), route(procedure, child.code) or "-"])
    out += _table([t("code"), t("level1"), t("level2"), t("group")], rows) + [""]

    out.append(f"{t('severities')} (§1.3)")
    out += _table([t("level"), t("name"), t("impact"), t("share"), t("urgency")],
                 [[str(s.level), s.name.in_(lang), s.impact.in_(lang), s.share.in_(lang), s.urgency.in_(lang)]
                  for s in sorted(procedure.severities, key=lambda s: s.level)]) + [""]

    out.append(f"{t('states')} (§1.3)")
    out += _table([t("code"), t("state"), t("clock"), t("meaning")],
                 [[str(s.code), s.name.in_(lang), t(s.clock), s.meaning.in_(lang)]
                  for s in sorted(procedure.states, key=lambda s: s.code)]) + [""]

    out.append(f"{t('transitions')} (§4)")
    out += _table([t("name"), t("from"), t("to"), t("section"), t("rule")],
                 [[tr.name, ", ".join(state_name(c) for c in tr.source), state_name(tr.target), tr.section,
                   tr.rule.in_(lang)] for tr in procedure.transitions]) + [""]

    targets = procedure.escalation.targets
    ladder = " → ".join(procedure.role(r).name.in_(lang) for r in procedure.escalation.ladder)
    out.append(f"{t('timetable')} (§5.2.2) — {t('ladder')}: {ladder}")
    for name in sorted(procedure.contracts, key=lambda n: (n != procedure.default_contract, n)):
        contract = procedure.contracts[name]
        title = contract.name.in_(lang) if contract.name else name
        out.append(f"  {t('contract')} {name} ({title}), {t('calendar')} {contract.calendar}")
        if contract.clock:
            overrides = ", ".join(f"{procedure.state_by_key(k).name.in_(lang)} {t(mode)}"
                                  for k, mode in contract.clock.items())
            out.append(f"    {t('clock')}: {overrides}")
        if contract.enforce_transitions:
            out.append(f"    {t('enforce')}")
        timetable = procedure.timetable_for(contract)
        rows = [[str(sev), *(_offset(row.get(role), lang) for role in targets)]
                for sev, row in sorted(timetable.items())]
        out += _table([t("severity"), *(procedure.role(r).name.in_(lang) for r in targets)], rows, indent="    ")
    out.append("")

    out.append(t("calendars"))
    rows = []
    for name, cal in procedure.calendars.items():
        if cal.always:
            hours = t("always")
        else:
            hours = _week(cal.hours)
        holidays = ", ".join(filter(None, [cal.country and "-".join(filter(None, [cal.country, cal.subdivision])),
                                           *(d.isoformat() for d in cal.holidays),
                                           *(f"{t('arranged')} {year}" for year in sorted(cal.arrangements))])) \
            or t("none")
        rows.append([name, cal.timezone, hours, holidays])
    out += _table([t("calendar"), t("timezone"), t("hours"), t("holidays")], rows) + [""]

    out.append(f"{t('record')} (§4.1.4)")
    out += _table([t("key"), t("name")], [[f.key, f.name.in_(lang)] for f in procedure.record_fields])
    roles = ", ".join(procedure.role(r).name.in_(lang) for r in procedure.downgrade_exception.roles)
    out += ["", f"{t('downgrade')} (§4.3.1.2): {roles}"]
    return out


def _week(hours: dict[str, tuple[str, ...]]) -> str:
    """Working hours with runs of days alike folded: 'mon-fri 09:00-12:00 13:00-18:00'."""
    runs: list[tuple[str, str, tuple[str, ...]]] = []
    for day in WEEKDAYS:
        ranges = tuple(hours.get(day, ()))
        if runs and runs[-1][2] == ranges and WEEKDAYS.index(runs[-1][1]) == WEEKDAYS.index(day) - 1:
            runs[-1] = (runs[-1][0], day, ranges)
        else:
            runs.append((day, day, ranges))
    return "; ".join(f"{first if first == last else first + '-' + last} {' '.join(ranges)}"
                     for first, last, ranges in runs if ranges)


def _offset(value, lang: Language) -> str:
    return "-" if value is None else format_duration(value, lang)


@click.group()
def procedure() -> None:
    """The incident procedure (事件管理程序): show it, check an admin's override."""


@procedure.command()
@click.option("--lang", type=click.Choice(LANGUAGES), default="zh", show_default=True,
              help="Language of names and descriptions.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A procedure override YAML, or an escalator config file naming one.")
def show(lang: Language, config_path: Path | None) -> None:
    """Print the procedure as tables: categories, severities, states, transitions, timetables."""
    proc = procedure_cache.load_procedure(procedure_path(config_path))
    for line in render(proc, lang):
        click.echo(line)


@procedure.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--clock", "clock_spec", envvar="ESCALATOR_CLOCK", default=None, metavar="SPEC", hidden=True,
              help="'system' (default) or 'accelerated:<rate>:<start ISO>': the date the calendars are read from.")
def check(file: Path, clock_spec: str | None) -> None:
    """Validate a procedure override YAML (merged over the default profile); exit 1 on problems.

    A calendar that reaches (within 90 days) into a year without an official arrangement
    of days off is warned about, with the year and what to add; that alone is no failure.
    """
    # here, not at the top: `procedure show` (and `deadlines`, which shares `procedure_path`) need none of
    # these; and the file is always validated afresh, never read from `mapping.procedure_cache`
    from mapping.loader import ProcedureError, load_procedure
    from plugin.calendars import unannounced_lines
    from plugin.clock import parse_clock

    try:
        now = parse_clock(clock_spec).now()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--clock") from None
    target = procedure_path(file)
    try:
        proc = load_procedure(target)
    except ProcedureError as exc:
        for line in exc.problems:
            click.echo(line)
        click.echo(f"{len(exc.problems)} problem(s) in {target}.", err=True)
        raise SystemExit(1) from None
    categories = proc.all_categories()
    click.echo(f"{target or 'default profile'}: OK — {len(proc.contracts)} contract(s) "
               f"({', '.join(sorted(proc.contracts))}), {len(proc.calendars)} calendar(s) "
               f"({', '.join(sorted(proc.calendars))}), {len(categories)} categories "
               f"({len(proc.categories)} top-level).")
    for line in unannounced_lines(proc, now):
        click.echo(f"warning: {line}", err=True)
