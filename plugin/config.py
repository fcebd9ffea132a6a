"""The escalator's own configuration file (YAML): tracker, mapping, contracts, roles, daemon.

Secrets never sit in this file or on the command line: a `*_env` key names an
environment variable and a `*_file` key a file that holds the secret. Relative paths
are relative to the config file. Every problem is reported at once, one line each,
naming the key and the file.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors.provisioning import WebhookSettings
from connectors.settings import TrackerSettings
from mapping.errors import UserError
from mapping.fieldmap import recorded_webhook
from mapping.trends import TrendRule
from plugin.private import ExposedSecret, check_secret_file
from plugin.yamlpos import key_lines, where


class ConfigError(UserError, ValueError):
    """A configuration that cannot be used; the message has one line per problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Secret(_Strict):
    """Where a secret comes from."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_the_secret_itself(cls, value: object) -> object:
        # the value is never echoed: it may be the secret
        if isinstance(value, str):
            raise ValueError("write where the secret comes from, not the secret: {env: VARIABLE} or {file: PATH}")
        if isinstance(value, dict) and isinstance(value.get("env"), str) \
                and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value["env"]):
            raise ValueError("env: not an environment variable's name (was the secret pasted here?)")
        return value

    def resolve(self, what: str, base: Path) -> str:
        if self.env:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{what}: environment variable {self.env} is not set")
            return value.strip()
        if self.file:
            path = self.file if self.file.is_absolute() else base / self.file
            try:
                check_secret_file(path, what)
            except ExposedSecret as exc:
                raise ConfigError(str(exc)) from None
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{what}: cannot read secret file {path}: {exc.strerror}") from None
        raise ConfigError(f"{what}: give `env` (a variable name) or `file` (a path)")


class TrackerConfig(_Strict):
    kind: Literal["jira", "zammad"]
    url: str
    flavour: Literal["cloud", "datacenter"] = Field(default="cloud", description="Jira only")
    email: str | None = Field(default=None, description="Jira Cloud: the account's e-mail for basic auth")
    token: Secret = Field(description="API token (Jira Cloud), personal access token (Jira DC), Zammad token")
    auth: Literal["token", "oauth2"] = Field(default="token", description="Zammad: token or OAuth2 bearer")
    on_behalf_of: str | None = Field(default=None, description="Zammad: `From` header, act as this user")
    projects: list[str] = Field(default_factory=list, description="Jira project keys / Zammad group names")
    issue_types: list[str] = Field(default_factory=list, description="Jira issue type names")
    timeout: float = 30.0
    page_size: int = Field(default=100, ge=1, le=1000)
    severity_source: Literal["field", "priority"] = Field(
        default="field", description="Jira: severity in a select field of its own, or on existing priorities")
    severity_priorities: dict[int, str] = Field(
        default_factory=dict, description="Jira, severity_source priority: severity 1-4 -> priority name")
    states: dict[int, list[str]] = Field(
        default_factory=dict, description="procedure state 1-7 -> more tracker status names that mean it")
    pending_default: float = Field(
        default=24.0, gt=0, description="Zammad: hours ahead for the reminder when the escalator puts a ticket "
                                         "back into 挂起/暂停 and its history names no reminder still to come")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL (write e.g. https://example.atlassian.net)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _jira_needs(self) -> TrackerConfig:
        problems = []
        if self.kind == "jira" and self.flavour == "cloud" and not self.email:
            problems.append("Jira Cloud authenticates with e-mail and API token: set tracker.email")
        if self.kind == "jira" and not self.projects:
            # Jira Cloud refuses unbounded JQL ("Unbounded JQL queries are not allowed here"),
            # and an escalator watching every project of a site is rarely what anyone meant
            problems.append("Jira: set tracker.projects, the keys of the projects to watch")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _severity_and_state_keys(self) -> TrackerConfig:
        problems = []
        if self.severity_source == "priority" and sorted(self.severity_priorities) != [1, 2, 3, 4]:
            problems.append("severity_source priority needs severity_priorities for severities 1, 2, 3 and 4")
        problems += [f"states: unknown procedure state {k} (1-7)" for k in self.states if not 1 <= k <= 7]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ContractRules(_Strict):
    """Which contract an incident falls under: first match wins, then the default."""

    by_organisation: dict[str, str] = Field(default_factory=dict)
    by_project: dict[str, str] = Field(default_factory=dict)


RoleTable = dict[str, list[str]]  # role key -> tracker user ids (Jira accountId / name, Zammad login)


class RoleDirectory(_Strict):
    """Who holds each role, most specific first: contract, organisation, project, default."""

    default: RoleTable = Field(default_factory=dict)
    by_contract: dict[str, RoleTable] = Field(default_factory=dict)
    by_organisation: dict[str, RoleTable] = Field(default_factory=dict)
    by_project: dict[str, RoleTable] = Field(default_factory=dict)

    def people(self, role: str, *, contract: str | None = None, organisation: str | None = None,
               project: str | None = None) -> list[str]:
        for table, key in ((self.by_contract, contract), (self.by_organisation, organisation),
                           (self.by_project, project)):
            if key and role in table.get(key, {}):
                return list(table[key][role])
        return list(self.default.get(role, []))

    def everyone(self) -> list[str]:
        """Every user id the directory names, in any role and table, sorted."""
        tables = [self.default, *self.by_contract.values(), *self.by_organisation.values(),
                  *self.by_project.values()]
        return sorted({user for table in tables for users in table.values() for user in users})


class DaemonConfig(_Strict):
    journal: Path | str = Field(
        default=Path("escalator.sqlite"),
        description="the embedded journal's file (SQLite, one daemon), or a PostgreSQL URL "
                    "postgresql://user@host:5432/database shared by several daemons, one leading")
    journal_password: Secret | None = Field(default=None, description="PostgreSQL journal: its password's source")
    lease: float | None = Field(
        default=None, ge=1.0, le=3600.0,
        description="PostgreSQL journal: seconds a leader's lease lasts; a standby takes over within "
                    "1.25 times that after the leader stopped (default 15)")
    poll_interval: float = Field(default=60.0, gt=0, description="seconds between reads at most")
    metrics_port: int | None = Field(default=None, description="Prometheus text endpoint on 127.0.0.1")
    metrics_host: str = "127.0.0.1"
    watch_from: datetime | None = Field(
        default=None, description="lowerings and state changes before this are history, never flagged; "
                                  "default: the daemon's first pass, as recorded in the journal")

    @field_validator("journal", mode="before")
    @classmethod
    def _file_or_url(cls, value: object) -> object:
        if not isinstance(value, str) or not value.startswith(("postgresql://", "postgres://")):
            return Path(value) if isinstance(value, str) else value
        # the URL is never echoed: it may hold a password
        try:
            parts = urlsplit(value)
            password = parts.password
        except ValueError:
            raise ValueError("not a PostgreSQL URL (write postgresql://user@host:5432/database)") from None
        if password is not None or re.search(r"(^|&)password=", parts.query):
            raise ValueError("the URL holds a password: give it with daemon.journal_password "
                             "({env: VARIABLE} or {file: PATH}), never in the file")
        from psycopg.conninfo import conninfo_to_dict
        try:
            conninfo_to_dict(value)
        except Exception as exc:  # noqa: BLE001 - psycopg.ProgrammingError: libpq's own words
            raise ValueError(f"not a PostgreSQL URL libpq can read: {str(exc).strip()}") from None
        return value

    @property
    def journal_url(self) -> str | None:
        """The PostgreSQL URL of a shared journal; None for the embedded one."""
        return self.journal if isinstance(self.journal, str) else None

    @model_validator(mode="after")
    def _postgres_only(self) -> DaemonConfig:
        if self.journal_url is None:
            given = [k for k in ("journal_password", "lease") if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: only for a PostgreSQL journal "
                                 "(daemon.journal: postgresql://…); an SQLite journal has one daemon")
        return self

    @field_validator("watch_from")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no time zone: write an offset, e.g. 2026-03-01T09:00:00+08:00")
        return value


class WebhookConfig(_Strict):
    """The receiver (`plugin.webhooks`) and, with `public_url`, the tracker side `mapping apply` sets up."""

    enabled: bool = False
    listen: str = "127.0.0.1:8089"
    secret: Secret | None = None
    public_url: str | None = Field(
        default=None, description="where the tracker reaches the receiver (e.g. https://escalator.example.com, "
                                  "a TLS reverse proxy in front of `listen`); `mapping apply` registers "
                                  "<public_url>/webhooks/<tracker> with the tracker")

    @field_validator("public_url")
    @classmethod
    def _reachable_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL (write e.g. https://escalator.example.com)")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: no query or fragment; the escalator appends /webhooks/<tracker>")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _public_url_needs(self) -> WebhookConfig:
        problems = []
        if self.public_url and not self.enabled:
            problems.append("public_url is set but webhooks are not enabled (enabled: true): "
                            "the tracker would call a receiver that does not run")
        if self.public_url and self.secret is None:
            problems.append("public_url is set but there is no secret: the tracker must sign what it sends")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def endpoint(self, tracker: str) -> str | None:
        """The URL the tracker posts to, or None when the tracker side is not managed."""
        return f"{self.public_url}/webhooks/{tracker}" if self.public_url else None


class StatusPageConfig(_Strict):
    """The daemon's status page, `/healthz`, `/readyz` and `/metrics` (`plugin.statuspage`), opt-in."""

    enabled: bool = False
    listen: str = Field(default="127.0.0.1:8090", description="host:port; loopback unless you mean otherwise")
    max_pass_age: float | None = Field(
        default=None, gt=0, description="seconds: /healthz is unhealthy when the last pass is older; "
                                        "default three poll intervals, at least 60")
    refresh: int = Field(default=30, ge=5, description="seconds between two reloads of the page")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:8090)")
        return value


class SmtpConfig(_Strict):
    """E-mail delivery of the duty digests (`plugin.mailer`); the password is a Secret."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls (port 587), ssl (implicit TLS, port 465) or none (relay on a LAN)")
    sender: str = Field(description="the From address")
    username: str | None = None
    password: Secret | None = None
    timeout: float = Field(default=30.0, gt=0)
    addresses: dict[str, str] = Field(
        default_factory=dict, description="tracker user id -> e-mail address; ids that are addresses need none")


class ReportsConfig(_Strict):
    """Settings of `escalator report ...` and the duties."""

    first_line_groups: list[str] | None = Field(
        default=None, description="support groups that count as the first line (KPI); None = never changed group")


class ProblemsConfig(_Strict):
    """Problem records (§4.3.6, §6.1.3): one per severity-1 incident or one resolved with its root cause unknown."""

    enabled: bool = True
    project: str | None = Field(default=None, description="Jira project key of the problem; None = the incident's")
    issue_type: str = Field(default="Problem", description="Jira issue type of the problem")
    link_type: str | None = Field(
        default=None, description="Jira link type; None = 'Problem/Incident' where it exists, else 'Relates'")
    group: str | None = Field(default=None, description="Zammad group of the problem ticket; None = the incident's")
    trends: list[TrendRule] = Field(
        default_factory=list, description="patterns that call for one problem each (§6.1.3); see mapping.trends")

    @field_validator("trends")
    @classmethod
    def _unique_names(cls, rules: list[TrendRule]) -> list[TrendRule]:
        names = [r.name for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"trend rule name(s) {', '.join(twice)} used twice: each names its problems")
        return rules


class CallbacksTaskConfig(_Strict):
    """The weekly call-back list (§4.6.3) as a task in the tracker, assigned to the service desk."""

    enabled: bool = False
    project: str | None = Field(default=None, description="Jira project key; None = the first of tracker.projects")
    issue_type: str = Field(default="Task", description="Jira issue type of the task")
    group: str | None = Field(default=None, description="Zammad group; None = the first of tracker.projects")


class DutiesConfig(_Strict):
    """The procedure's duties on a clock (§4.5, §4.6) and problem records, carried out by the daemon."""

    enabled: bool = Field(default=False, description="carry out the duties (off: escalation only)")
    delivery: Literal["tracker", "email"] = Field(
        default="tracker", description="digests and lists as notes on the tickets, or by e-mail (needs smtp:)")
    problems: ProblemsConfig = ProblemsConfig()
    callbacks_task: CallbacksTaskConfig = CallbacksTaskConfig()


class Config(_Strict):
    tracker: TrackerConfig
    language: Literal["zh", "en"] | None = Field(
        default=None, description="one language for everything: the notes on the tickets (every contract's), "
                                  "the reports, the CLI's tables, the status page; none: each contract's own "
                                  "(the procedure's contracts.<name>.language), reports and tables in Chinese")
    mapping_file: Path = Path("mapping.yaml")
    procedure: Path | None = Field(default=None, description="the admin's procedure overrides (YAML)")
    contracts: ContractRules = ContractRules()
    roles: RoleDirectory = RoleDirectory()
    daemon: DaemonConfig = DaemonConfig()
    webhooks: WebhookConfig = WebhookConfig()
    status_page: StatusPageConfig = StatusPageConfig()
    smtp: SmtpConfig | None = None
    reports: ReportsConfig = ReportsConfig()
    duties: DutiesConfig = DutiesConfig()

    @model_validator(mode="after")
    def _email_needs_smtp(self) -> Config:
        if self.duties.enabled and self.duties.delivery == "email" and self.smtp is None:
            raise ValueError("duties.delivery is email but there is no smtp: section")
        return self

    #: the folder of the config file; relative paths are resolved against it
    base_dir: Path = Field(default=Path("."), exclude=True)
    #: the file it was read from, for messages
    source: Path | None = Field(default=None, exclude=True)

    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else self.base_dir / p

    def token(self) -> str:
        where = f"{self.source}: tracker.token" if self.source else "tracker.token"
        return self.tracker.token.resolve(where, self.base_dir)

    def tracker_settings(self) -> TrackerSettings:
        """What the connectors are built from; resolves the token (ConfigError when it cannot)."""
        t = self.tracker
        return TrackerSettings(
            kind=t.kind, url=t.url, token=self.token(), flavour=t.flavour, email=t.email, auth=t.auth,
            on_behalf_of=t.on_behalf_of, projects=tuple(t.projects), issue_types=tuple(t.issue_types),
            timeout=t.timeout,
            # unset: the connector takes its tracker's best page size (Zammad serves 200, Jira 100)
            page_size=t.page_size if "page_size" in t.model_fields_set else None,
            severity_source=t.severity_source, severity_priorities=dict(t.severity_priorities),
            state_aliases={k: tuple(v) for k, v in t.states.items()}, pending_default_hours=t.pending_default)

    def webhook_settings(self) -> WebhookSettings | None:
        """The tracker side of the webhooks, for `mapping plan|apply|check` (None without
        `webhooks.public_url`); resolves the secret (ConfigError when it cannot)."""
        hooks = self.webhooks
        endpoint = hooks.endpoint(self.tracker.kind)
        if endpoint is None or hooks.secret is None:  # a public_url without a secret is refused on load
            return None
        secret = hooks.secret.resolve(f"{self.source}: webhooks.secret" if self.source else "webhooks.secret",
                                      self.base_dir)
        source = (f"the value of the environment variable {hooks.secret.env}" if hooks.secret.env
                  else f"the content of the file {self.path(hooks.secret.file)}" if hooks.secret.file
                  else "webhooks.secret")
        return WebhookSettings(endpoint=endpoint, secret=secret, secret_source=source,
                               recorded=recorded_webhook(self.path(self.mapping_file)))

    def journal_password(self) -> str | None:
        """The PostgreSQL journal's password, None when the config gives none (libpq's own
        ways then apply: a ~/.pgpass file, a client certificate, peer authentication)."""
        if self.daemon.journal_password is None:
            return None
        where = f"{self.source}: daemon.journal_password" if self.source else "daemon.journal_password"
        return self.daemon.journal_password.resolve(where, self.base_dir)

    def contract_for(self, organisation: str | None, project: str | None) -> str | None:
        if organisation and organisation in self.contracts.by_organisation:
            return self.contracts.by_organisation[organisation]
        if project and project in self.contracts.by_project:
            return self.contracts.by_project[project]
        return None


def load_config(path: Path) -> Config:
    """Read and validate a config file; ConfigError listing every problem, each as `file:line: key: ...`."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        raise ConfigError("\n".join(_error_line(path, e, lines) for e in exc.errors())) from None
    config.base_dir = path.resolve().parent
    config.source = path
    return config


def _error_line(path: Path, error: dict, lines: dict) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{where(path, lines, error['loc'])}: {loc or '(top)'}: {msg}"
