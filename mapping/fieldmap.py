"""The admin's field mapping: procedure term <-> tracker field, option, status.

`escalator mapping apply` writes this file; the daemon and the connectors read it.
It names tracker objects by id (Jira custom field and option ids, status ids; Zammad
attribute names, state and priority ids) so a rename on the tracker does not break it,
and `escalator mapping check` reports drift.

Also here: the provisioning plan, shown to the admin before anything is changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mapping.errors import UserError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeverityMap(_Strict):
    """Severity in a select field of its own, or on the tracker's priorities."""

    source: Literal["field", "priority"] = "field"
    field: str | None = Field(default=None, description="custom field id / attribute name; None for priority")
    values: dict[int, str] = Field(description="severity 1-4 -> option id or priority id")


class CategoryMap(_Strict):
    """The two-level tree in a cascading select (Jira) or tree_select (Zammad)."""

    field: str
    values: dict[str, str] = Field(description="category code ('1', '1.2') -> option id or tree value")


class LevelMap(_Strict):
    field: str
    values: dict[int, str] = Field(description="escalation level 0-3 -> option id or value")


class OptionalField(_Strict):
    field: str | None = None


class Labels(_Strict):
    """Labels (Jira) / tags (Zammad) people add to ask something of the escalator."""

    escalate: str = Field(default="escalate", description="a manual escalation request (§5.2.1)")
    approve_downgrade: str = Field(default="severity-downgrade-approved",
                                   description="an authorised exception to the no-downgrade rule")
    acknowledge: str = Field(default="escalation-acknowledged",
                             description="a role holder acknowledges the escalations so far (mapping.acknowledge)")


class WebhookRecord(_Strict):
    """The webhook `mapping apply` registered on the tracker, as it left it (`mapping check` compares).

    `updated` is Jira's `lastUpdated` stamp: Jira never shows a webhook's secret back, so an edit
    made after apply is the only sign that the secret may have been taken off or changed.
    `secret_fingerprint` is an HMAC of a fixed text keyed with the secret apply set (never the
    secret itself): it tells when the config's secret changed after apply.
    """

    url: str = Field(description="the endpoint the tracker posts to")
    id: str = Field(description="Jira webhook id / Zammad webhook id")
    trigger: str | None = Field(default=None, description="Zammad: the id of the trigger that fires it")
    updated: str | None = Field(default=None, description="Jira: the webhook's lastUpdated after apply")
    secret_fingerprint: str | None = None


class TrackerMapping(_Strict):
    """The mapping file."""

    tracker: Literal["jira", "zammad"]
    base_url: str
    flavour: Literal["cloud", "datacenter"] | None = None  # Jira only
    projects: list[str] = Field(default_factory=list, description="Jira project keys / Zammad group names")
    issue_types: list[str] = Field(default_factory=list, description="Jira issue type ids")
    severity: SeverityMap
    category: CategoryMap
    escalation_level: LevelMap
    report_time: OptionalField = OptionalField()
    occurred_at: OptionalField = OptionalField()
    affected_ci: OptionalField = OptionalField()
    root_cause_unknown: OptionalField = OptionalField()
    support_group: OptionalField = Field(
        default=OptionalField(),
        description="Jira: a field holding the support group (§1.3, §4.2.2) — a select, a team or "
                    "`components`; its history gives the first-line KPI. Zammad: its own group, always")
    contract: OptionalField = Field(default=OptionalField(),
                                    description="a field naming the contract; else organisation/project rules")
    states: dict[int, list[str]] = Field(description="procedure state 1-7 -> tracker status/state ids")
    labels: Labels = Labels()
    manual: list[str] = Field(
        default_factory=list, description="what `mapping apply` left to the admin (its MANUAL steps); "
                                          "`run` and `once` refuse while any is left, unless --allow-incomplete")
    webhook: WebhookRecord | None = Field(default=None, description="set by apply when webhooks.public_url is")

    def gaps(self) -> list[str]:
        """What the daemon needs and this mapping lacks, one line each (empty: usable)."""
        gaps = []
        if self.severity.source == "field" and not self.severity.field:
            gaps.append("severity: mapped to no field")
        gaps += [f"severity {s}: mapped to no option" for s in (1, 2, 3, 4) if not self.severity.values.get(s)]
        if not self.category.field:
            gaps.append("category: mapped to no field")
        if not self.escalation_level.field:
            gaps.append("escalation_level: mapped to no field")
        gaps += [f"escalation level {lv}: mapped to no option" for lv in (0, 1, 2, 3)
                 if not self.escalation_level.values.get(lv)]
        # a state the workflow lacks only makes tickets in it unreadable (reported, named):
        # a mapping of no state at all makes every ticket so
        if not any(self.states.values()):
            gaps.append("states: no procedure state is mapped to a status")
        return gaps

    @property
    def records_groups(self) -> bool:
        """Does the tracker record each incident's support group? Zammad always does (the ticket's
        group); Jira only in a mapped support-group field."""
        return self.tracker == "zammad" or bool(self.support_group.field)

    def state_of(self, status_id: str) -> int | None:
        for state, ids in self.states.items():
            if status_id in ids:
                return state
        return None

    def fingerprint(self) -> str:
        """What reads depend on (fields, options, states, projects), hashed: a cursor remembers the mapping
        its reads were made under (`connectors.base.Cursor.mapping`), so a changed mapping — a field
        deleted and created again has a new id — has every ticket read again."""
        read = self.model_dump(mode="json", exclude={"manual", "webhook"})
        return hashlib.sha256(json.dumps(read, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]

    def save(self, path: Path) -> None:
        data = self.model_dump(mode="json", exclude_defaults=False)
        path.write_text("# Written by `escalator mapping apply`; checked by `escalator mapping check`.\n"
                        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TrackerMapping:
        """Read a mapping file; MappingFileError with one line per problem."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MappingFileError(f"{path}: no mapping file yet: run `escalator mapping apply`, which writes it"
                                   ) from None
        except OSError as exc:
            raise MappingFileError(f"{path}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise MappingFileError(f"{path}: not valid YAML: {exc}") from None
        try:
            mapping = cls.model_validate(data)
        except ValidationError as exc:
            lines = [f"{path}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            raise MappingFileError("\n".join(lines)) from None
        gaps = mapping.gaps()
        if gaps:
            raise MappingFileError("\n".join(f"{path}: {gap} (finish `escalator mapping apply` first)"
                                             for gap in gaps))
        return mapping


def recorded_webhook(path: Path) -> WebhookRecord | None:
    """The webhook a mapping file records, read leniently (None: no file, no record, or not readable);
    `mapping apply` compares it with the tracker without needing the rest of the file to be usable."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return WebhookRecord.model_validate(data["webhook"]) if isinstance(data, dict) and data.get("webhook") \
            else None
    except (OSError, yaml.YAMLError, ValidationError, TypeError):
        return None


class MappingFileError(UserError, ValueError):
    """A mapping file that cannot be used; the message has one line per problem."""


class PlanStep(_Strict):
    """One thing the procedure needs on the tracker, and what will be done about it."""

    term: str = Field(description="procedure term: severity, category, escalation_level, state:3, ...")
    status: Literal["ok", "create", "update", "manual"] = Field(
        description="ok = present; create/update = apply does it; manual = the admin must")
    detail: str
    payload: dict = Field(default_factory=dict, description="what apply sends (tracker-specific)")


class Plan(_Strict):
    tracker: Literal["jira", "zammad"]
    base_url: str
    steps: list[PlanStep]

    @property
    def changes(self) -> list[PlanStep]:
        return [s for s in self.steps if s.status in ("create", "update")]

    @property
    def manual(self) -> list[PlanStep]:
        return [s for s in self.steps if s.status == "manual"]
