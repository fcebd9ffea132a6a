"""`escalator mapping plan|apply|check`: the admin's one-time mapping of the procedure."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from connectors.factory import make_provisioner
from mapping.fieldmap import Plan, PlanStep, TrackerMapping
from mapping.text import text_table
from plugin.config import ConfigError, load_config
from plugin.preflight import config_problems, load_setup

#: what each step needs, as the plan shows it (a step for the admin shouts)
_MARK = {"ok": "ok", "create": "create", "update": "update", "manual": "MANUAL"}


def _setup(config_path: Path, tracker: str | None):
    config = load_config(config_path)
    if tracker and tracker != config.tracker.kind:
        raise ConfigError(f"{config_path}: tracker.kind is {config.tracker.kind!r}, not {tracker!r} (--tracker)")
    # the config against the procedure (roles, contracts); the mapping is what this command makes
    setup = load_setup(config, need_mapping=False)
    return config, setup.procedure, make_provisioner(config.tracker_settings(), setup.procedure,
                                                     webhook=config.webhook_settings())


def show_plan(plan: Plan) -> None:
    click.echo(f"Mapping plan for {plan.tracker} at {plan.base_url}:")
    click.echo(text_table(["status", "term", "detail"], [[_MARK[s.status], s.term, s.detail] for s in plan.steps],
                          indent="  "))
    # a change is one step of the plan (a field with its context and options is one): `apply` reports
    # each on one line and counts them the same way; MANUAL steps are the admin's, counted apart
    click.echo(f"{len(plan.changes)} change(s) to make, {len(plan.manual)} for the admin to do by hand "
               "(MANUAL, not among the changes).")


_common = [
    click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
                 help="The escalator's config file (tracker connection, mapping_file)."),
    click.option("--tracker", type=click.Choice(["jira", "zammad"]), default=None,
                 help="Must match tracker.kind in the config; guards against the wrong file."),
]


def _with_common(f):
    for deco in reversed(_common):
        f = deco(f)
    return f


@click.group()
def mapping() -> None:
    """Map the procedure onto the tracker: fields, options, states (shows a plan first)."""


@mapping.command()
@_with_common
def plan(config_path: Path, tracker: str | None) -> None:
    """Show what the procedure needs on the tracker and what is missing. Changes nothing."""
    _, _, provisioner = _setup(config_path, tracker)
    show_plan(provisioner.plan())


@mapping.command()
@_with_common
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only show the plan.")
def apply(config_path: Path, tracker: str | None, yes: bool, dry_run: bool) -> None:
    """Create what is missing and write the mapping file. Safe to run again."""
    config, _, provisioner = _setup(config_path, tracker)
    the_plan = provisioner.plan()
    show_plan(the_plan)
    if dry_run:
        click.echo("Dry run: nothing changed.")
        return
    if the_plan.changes and not yes and not click.confirm("Make these changes?", default=False):
        click.echo("Nothing changed.")
        raise SystemExit(1)
    with click.progressbar(length=max(len(the_plan.changes), 1), label="Applying",
                           file=sys.stderr) as bar:
        def progress(step: PlanStep) -> None:
            bar.update(1)

        result, changes = provisioner.apply(the_plan, progress)
    for line in changes:
        click.echo(f"  changed: {line}")
    target = config.path(config.mapping_file)
    # what is left to the admin goes into the file: `run` and `once` refuse it until done
    result.manual = [f"{step.term}: {step.detail}" for step in the_plan.manual]
    gaps = result.gaps()
    if gaps:
        # a mapping the daemon cannot use is not written: it would only turn every
        # ticket into an "unreadable" one; the next apply maps what the admin added
        click.echo(f"{len(changes)} change(s) made; mapping NOT written, still unmapped: {'; '.join(gaps)}.")
    else:
        result.save(target)
        click.echo(f"{len(changes)} change(s) made; mapping written to {target}.")
    if the_plan.manual or gaps:
        click.echo(f"{len(the_plan.manual)} item(s) still need the admin (marked MANUAL above); "
                   "run `escalator mapping apply` again once they are done.")
        raise SystemExit(1)


@mapping.command()
@_with_common
def check(config_path: Path, tracker: str | None) -> None:
    """Compare the mapping file with the live tracker; exit 1 on drift."""
    config, procedure, provisioner = _setup(config_path, tracker)
    current = TrackerMapping.load(config.path(config.mapping_file))
    # the config and the mapping file must agree (projects, tracker), and every project the
    # config names must exist on the tracker, mapped or not
    drift = config_problems(config, procedure, current)
    projects = current.projects + [p for p in config.tracker.projects if p not in current.projects]
    drift += provisioner.check(current.model_copy(update={"projects": projects}))
    drift += [f"still to do by hand: {step}" for step in current.manual]
    for line in drift:
        click.echo(f"  drift: {line}")
    # what the bot may do: a blocking gap fails the check, the others are said and worked around
    missing = provisioner.preflight(current)
    for gap in missing:
        click.echo(f"  {'MISSING' if gap.blocking else 'missing'}: {gap}")
    if drift:
        click.echo(f"{len(drift)} difference(s) between {config.mapping_file} and the tracker.")
    if any(gap.blocking for gap in missing):
        click.echo("The escalator cannot work with the permissions its token has (MISSING above).")
    if drift or any(gap.blocking for gap in missing):
        raise SystemExit(1)
    if missing:
        click.echo(f"The mapping matches the tracker. {len(missing)} permission(s) missing (see above).")
        return
    click.echo("The mapping matches the tracker. The bot holds every permission the escalator uses.")
