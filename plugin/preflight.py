"""The config checked whole, against the procedure and the mapping file, before anything runs.

`plugin.config` checks the config file on its own (types, unknown keys, secrets). What
it cannot see needs the procedure and the mapping file beside it, and each of these
mistakes used to pass in silence, to show up later as a wrong note or an unreadable
ticket:

- a project (Jira) or group (Zammad) in `tracker.projects` that the mapping file does
  not map, or one the mapping maps that the config no longer lists (the daemon
  watches the mapping's: it would act where the config says it must not);
- a mapping file written for another tracker (kind, URL, flavour);
- a role key the procedure does not know (`project_manger:`), with the nearest known
  one ("did you mean");
- a contract named in `contracts:` or `roles.by_contract` that the procedure does not
  define (every ticket of it would be unreadable);
- a project in `contracts.by_project` or `roles.by_project` that is not watched;
- a mapping that `mapping apply` left with MANUAL steps: `run` and `once` refuse it
  unless `--allow-incomplete`;
- a contract language in the admin's procedure file that the config's `language` (one
  language for notes, reports and tables) would override.

Every problem is reported at once, one line each: `file:line: key: what is wrong`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from mapping.fieldmap import MappingFileError, TrackerMapping
from mapping.loader import ProcedureError, load_procedure
from mapping.procedure import Procedure
from plugin.config import Config, ConfigError, load_config
from plugin.yamlpos import Loc, key_lines, where


@dataclass(frozen=True)
class Setup:
    """What every command that talks to the tracker needs, checked together."""

    config: Config
    procedure: Procedure
    mapping: TrackerMapping | None  # None when the command does not need one (mapping plan/apply)


def load_setup(config: Config | Path, *, need_mapping: bool = True, allow_incomplete: bool = True) -> Setup:
    """The config (read from a path, or as loaded), its procedure and mapping file, checked together.

    ConfigError with one line per problem (the procedure's and the mapping file's included).
    """
    if not isinstance(config, Config):
        config = load_config(config)
    problems: list[str] = []
    procedure: Procedure | None = None
    try:
        procedure = load_procedure(config.path(config.procedure) if config.procedure else None)
    except ProcedureError as exc:
        problems += exc.problems
    if procedure is not None and config.language:
        problems += _language_problems(config)
        procedure = in_language(procedure, config.language)
    mapping: TrackerMapping | None = None
    if need_mapping:
        try:
            mapping = TrackerMapping.load(config.path(config.mapping_file))
        except MappingFileError as exc:
            problems += str(exc).splitlines()
    problems += config_problems(config, procedure, mapping, allow_incomplete=allow_incomplete)
    if problems:
        raise ConfigError("\n".join(problems))
    assert procedure is not None  # a procedure that did not load is a problem above
    return Setup(config, procedure, mapping)


def in_language(procedure: Procedure, language: str) -> Procedure:
    """The procedure with every contract's notes in `language` (the config's `language`)."""
    contracts = {name: replace(c, language=language) for name, c in procedure.contracts.items()}
    return replace(procedure, contracts=contracts)


def _language_problems(config: Config) -> list[str]:
    """A contract's language written in the admin's procedure file that the config's `language` would
    silently override: the language is set in one place or the other."""
    if not config.procedure:
        return []
    path = config.path(config.procedure)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError):
        return []  # the procedure's loader has said so
    contracts = data.get("contracts") if isinstance(data, dict) else None
    if not isinstance(contracts, dict):
        return []
    lines = key_lines(text)
    return [f"{where(path, lines, ('contracts', name, 'language'))}: contracts.{name}.language: "
            f"{body['language']!r}, but the config sets `language: {config.language}` for every contract "
            "(set it in one place: remove one of them)"
            for name, body in contracts.items()
            if isinstance(body, dict) and body.get("language") not in (None, config.language)]


def config_problems(config: Config, procedure: Procedure | None, mapping: TrackerMapping | None, *,
                    allow_incomplete: bool = True) -> list[str]:
    """One line per disagreement between the config, the procedure and the mapping file."""
    check = _Check(config)
    if procedure is not None:
        check.roles(procedure)
        check.contracts(procedure)
    check.watched_keys()
    if mapping is not None:
        check.against_mapping(mapping, allow_incomplete=allow_incomplete)
    return check.problems


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`unknown X 'name' (did you mean 'near'? known: a, b)`'s tail, for any list of names."""
    known = sorted(known)
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"({hint}known: {', '.join(known) or 'none'})"


class _Check:
    def __init__(self, config: Config):
        self.config = config
        self.problems: list[str] = []
        source = config.source
        self.name = str(source) if source else "config"
        try:
            self.lines = key_lines(source.read_text(encoding="utf-8")) if source else {}
        except OSError:
            self.lines = {}

    def add(self, loc: Loc, message: str) -> None:
        key = ".".join(map(str, loc))
        self.problems.append(f"{where(self.name, self.lines, loc)}: {key}: {message}")

    # -- the procedure's names --------------------------------------------------------------
    def roles(self, procedure: Procedure) -> None:
        known = {r.key for r in procedure.roles}
        roles = self.config.roles
        tables = [(("roles", "default"), roles.default)]
        for section in ("by_contract", "by_organisation", "by_project"):
            tables += [(("roles", section, name), table) for name, table in getattr(roles, section).items()]
        for loc, table in tables:
            for role in table:
                if role not in known:
                    self.add(loc + (role,), f"unknown role {did_you_mean(role, known)}")

    def contracts(self, procedure: Procedure) -> None:
        known = set(procedure.contracts)
        rules = self.config.contracts
        for section in ("by_organisation", "by_project"):
            for key, name in getattr(rules, section).items():
                if name not in known:
                    self.add(("contracts", section, key), f"unknown contract {name!r} {did_you_mean(name, known)}")
        for name in self.config.roles.by_contract:
            if name not in known:
                self.add(("roles", "by_contract", name), f"unknown contract {did_you_mean(name, known)}")

    def watched_keys(self) -> None:
        """Per-project rules for a project that is not watched never apply: a typo, most likely."""
        watched = self.config.tracker.projects
        if not watched:
            return
        what = "group" if self.config.tracker.kind == "zammad" else "project"
        for loc, keys in ((("contracts", "by_project"), self.config.contracts.by_project),
                          (("roles", "by_project"), self.config.roles.by_project)):
            for key in keys:
                if key not in watched:
                    self.add(loc + (key,), f"{what} {key!r} is not in tracker.projects "
                                           f"{did_you_mean(key, watched)}")

    # -- the mapping file -------------------------------------------------------------------
    def against_mapping(self, mapping: TrackerMapping, *, allow_incomplete: bool) -> None:
        tracker = self.config.tracker
        file = self.config.mapping_file
        if mapping.tracker != tracker.kind:
            self.add(("tracker", "kind"), f"{tracker.kind!r}, but {file} maps a {mapping.tracker} tracker "
                                          "(mapping_file names another tracker's mapping?)")
            return
        if mapping.base_url.rstrip("/") != tracker.url:
            self.add(("tracker", "url"), f"{tracker.url}, but {file} was written for {mapping.base_url}: "
                                         "run `escalator mapping apply` for this tracker")
        if tracker.kind == "jira" and mapping.flavour and mapping.flavour != tracker.flavour:
            self.add(("tracker", "flavour"), f"{tracker.flavour!r}, but {file} was written for Jira "
                                             f"{mapping.flavour!r}")
        what = "group" if tracker.kind == "zammad" else "project"
        config_keys, mapped = list(tracker.projects), list(mapping.projects)
        unmapped = [k for k in config_keys if k not in mapped]
        unlisted = [k for k in mapped if k not in config_keys]
        for key in unmapped:
            hint = f" - did you mean {near[0]!r}?" if (near := difflib.get_close_matches(key, mapped, n=1)) else ""
            self.add(("tracker", "projects"), f"{what} {key!r} is not in {file} ({', '.join(mapped) or 'none'})"
                                              f"{hint}; if it exists on the tracker, run `escalator mapping "
                                              "apply` again")
        if unlisted:
            self.add(("tracker", "projects"), f"{file} maps {what}(s) {', '.join(unlisted)} that are not "
                                              f"listed here: the daemon would act on them; list them, or run "
                                              "`escalator mapping apply` again")
        if mapping.manual and not allow_incomplete:
            path = self.config.path(file)
            self.problems.append(
                f"{path}: {len(mapping.manual)} step(s) of `mapping apply` are still left to do by hand: "
                f"{'; '.join(mapping.manual)} - do them and run `escalator mapping apply` again "
                "(or pass --allow-incomplete to run with the tickets they concern unreadable)")
