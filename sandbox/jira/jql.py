"""The subset of JQL the sandbox Jira understands, parsed into predicates and a sort order.

Covered: `AND` / `OR` / `NOT` and parentheses; `project`, `issuetype` (alias `type`),
`status`, `statusCategory`, `priority`, `key` / `issuekey` / `id`, `assignee`,
`reporter`, `labels`, `cf[NNNNN]` / `customfield_NNNNN` with `=`, `!=`, `in`, `not in`,
`is [not] EMPTY`; `updated` / `created` with `=`, `!=`, `>`, `>=`, `<`, `<=`;
`ORDER BY` any of `updated`, `created`, `key`, `id`, `priority`, `status` with
`ASC|DESC`. Anything else is a 400 with Jira's own wording, so a connector that sends
JQL the sandbox does not know fails loudly instead of reading the wrong issues.

Dates follow Jira's rules (JQL reference, "Advanced searching - fields reference",
https://support.atlassian.com/jira-software-cloud/docs/jql-fields/): the formats
"yyyy/MM/dd HH:mm", "yyyy-MM-dd HH:mm", "yyyy/MM/dd", "yyyy-MM-dd" or a relative period
("-5m", "-2h", "-1d", "-1w", "4w 2d"), read in the searching user's time zone, at
minute precision (a date-only value means 00:00).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sandbox.jira.exceptions import JqlError


class Issue(Protocol):  # what the evaluator reads; sandbox.jira.types.Issue satisfies it
    id: int
    key: str
    fields: dict[str, Any]


class Resolver(Protocol):
    """Turns the names a query uses into the sandbox's ids (raising JqlError when unknown)."""

    def project_ids(self, value: str) -> set[str]: ...
    def issue_type_ids(self, value: str) -> set[str]: ...
    def status_ids(self, value: str) -> set[str]: ...
    def status_category_keys(self, value: str) -> set[str]: ...
    def priority_ids(self, value: str) -> set[str]: ...
    def issue_id(self, value: str) -> int | None: ...
    def user_key(self, value: str) -> str: ...
    def custom_field(self, field_id: str) -> str: ...
    def option_ids(self, field_id: str, value: str) -> set[str]: ...
    def status_category_of(self, status_id: str) -> str: ...
    def priority_rank(self, priority_id: str) -> int: ...


Predicate = Callable[[Issue], bool]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>!=|>=|<=|!~|=|>|<|~|\(|\)|,)
    | (?P<word>[A-Za-z0-9_.\-\[\]:/+*]+(?:\(\))?)
    )""", re.X)

_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.I)
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])", re.I)
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_CF = re.compile(r"^(?:cf\[(\d+)\]|customfield_(\d+))$", re.I)


@dataclass
class Tok:
    kind: str  # str | op | word
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text

    @property
    def value(self) -> str:
        if self.kind == "str":
            return re.sub(r"\\(.)", r"\1", self.text[1:-1])
        return self.text


@dataclass
class Query:
    where: Predicate | None
    order: list[tuple[str, bool]]  # (field, descending)

    @property
    def bounded(self) -> bool:
        return self.where is not None


def tokenize(jql: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    text = jql.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            rest = text[pos:].lstrip()
            if rest[:1] in ("'", '"'):
                raise JqlError(f"Error in the JQL Query: The quoted string '{rest[1:]}' has not been completed. "
                               f"(line 1, character {len(text) - len(rest) + 1})")
            bad = rest[:1]
            raise JqlError(f"Error in the JQL Query: The character '{bad}' is a reserved JQL character. "
                           f"You must enclose it in a string or use the escape '\\u{ord(bad):04x}' instead. "
                           f"(line 1, character {pos + 1})")
        kind = match.lastgroup or "word"
        out.append(Tok(kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, jql: str, resolver: Resolver, now: datetime, tz: ZoneInfo):
        self.toks = tokenize(jql)
        self.i = 0
        self.r = resolver
        self.now = now
        self.tz = tz

    # -- token helpers -------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise JqlError("Error in the JQL Query: Expecting either a value, list or function but got "
                           "end of query.")
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.upper in words

    def expect_op(self, op: str) -> None:
        tok = self.take()
        if tok.kind != "op" or tok.text != op:
            raise JqlError(f"Error in the JQL Query: Expecting '{op}' but got '{tok.text}'.")

    # -- grammar -------------------------------------------------------------------------
    def query(self) -> Query:
        where = None
        if self.peek() is not None and not self.at_word("ORDER"):
            where = self.or_expr()
        order: list[tuple[str, bool]] = []
        if self.at_word("ORDER"):
            self.take()
            if not self.at_word("BY"):
                raise JqlError("Error in the JQL Query: Expecting 'by' after 'order'.")
            self.take()
            while True:
                name = self.take().value.lower()
                if name not in ("updated", "created", "key", "issuekey", "id", "priority", "status"):
                    raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
                desc = False
                if self.at_word("ASC", "DESC"):
                    desc = self.take().upper == "DESC"
                order.append(("key" if name == "issuekey" else name, desc))
                tok = self.peek()
                if tok is not None and tok.kind == "op" and tok.text == ",":
                    self.take()
                    continue
                break
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got "
                           f"'{self.peek().text}'.")
        return Query(where, order)

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at_word("OR"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.at_word("AND"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def not_expr(self) -> Predicate:
        if self.at_word("NOT"):
            self.take()
            inner = self.not_expr()
            return lambda issue: not inner(issue)
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect_op(")")
            return inner
        return self.clause()

    def operator(self) -> str:
        tok = self.take()
        if tok.kind == "op" and tok.text in ("=", "!=", ">", ">=", "<", "<=", "~", "!~"):
            return tok.text
        if tok.kind == "word" and tok.upper == "IN":
            return "in"
        if tok.kind == "word" and tok.upper == "NOT" and self.at_word("IN"):
            self.take()
            return "not in"
        if tok.kind == "word" and tok.upper == "IS":
            if self.at_word("NOT"):
                self.take()
                return "is not"
            return "is"
        raise JqlError(f"Error in the JQL Query: Expecting operator but got '{tok.text}'.")

    def values(self, op: str) -> list[str]:
        if op in ("in", "not in"):
            self.expect_op("(")
            out = [self.take().value]
            while True:
                tok = self.take()
                if tok.kind == "op" and tok.text == ")":
                    return out
                if tok.kind != "op" or tok.text != ",":
                    raise JqlError(f"Error in the JQL Query: Expecting ',' or ')' but got '{tok.text}'.")
                out.append(self.take().value)
        tok = self.take()
        if tok.kind == "op":
            raise JqlError(f"Error in the JQL Query: Expecting either a value, list or function but got "
                           f"'{tok.text}'.")
        return [tok.value if tok.kind == "str" else tok.text]

    def clause(self) -> Predicate:
        name_tok = self.take()
        name = name_tok.value
        field = name.lower()
        op = self.operator()
        vals = self.values(op)
        if op in ("is", "is not"):
            if vals[0].upper() not in ("EMPTY", "NULL"):
                raise JqlError(f"Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after 'is' but got "
                               f"'{vals[0]}'.")
            return self._emptiness(field, name, op == "is not")
        if field in ("updated", "created"):
            return self._date(field, op, vals)
        if op in ("~", "!~", ">", ">=", "<", "<="):
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        positive = op in ("=", "in")
        getter, wanted = self._ids(field, name, vals)
        if isinstance(wanted, set):
            def pred(issue: Issue) -> bool:
                got = getter(issue)
                hit = bool(got & wanted) if isinstance(got, set) else got in wanted
                return hit if positive else not hit
            return pred
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")

    # -- fields --------------------------------------------------------------------------
    def _ids(self, field: str, name: str, vals: list[str]) -> tuple[Callable[[Issue], Any], set]:
        r = self.r
        if field == "project":
            return (lambda i: i.fields["project"]), _union(r.project_ids, vals)
        if field in ("issuetype", "type"):
            return (lambda i: i.fields["issuetype"]), _union(r.issue_type_ids, vals)
        if field == "status":
            return (lambda i: i.fields["status"]), _union(r.status_ids, vals)
        if field == "statuscategory":
            return (lambda i: r.status_category_of(i.fields["status"])), _union(r.status_category_keys, vals)
        if field == "priority":
            return (lambda i: i.fields.get("priority")), _union(r.priority_ids, vals)
        if field in ("key", "issuekey", "id"):
            ids = {r.issue_id(v) for v in vals}
            return (lambda i: i.id), {x for x in ids if x is not None}
        if field in ("assignee", "reporter"):
            return (lambda i: i.fields.get(field)), {r.user_key(v) for v in vals}
        if field == "labels":
            return (lambda i: set(i.fields.get("labels") or ())), set(vals)
        match = _CF.match(field)
        if match:
            fid = r.custom_field(f"customfield_{match.group(1) or match.group(2)}")
            wanted = set().union(*(r.option_ids(fid, v) for v in vals))
            return (lambda i: _option_set(i.fields.get(fid))), wanted
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")

    def _emptiness(self, field: str, name: str, negate: bool) -> Predicate:
        if field in ("assignee", "priority", "labels"):
            key = field
        elif _CF.match(field):
            match = _CF.match(field)
            key = self.r.custom_field(f"customfield_{match.group(1) or match.group(2)}")
        else:
            raise JqlError(f"The operator 'is' is not supported by the '{name}' field.")

        def pred(issue: Issue) -> bool:
            value = issue.fields.get(key)
            empty = value is None or value == [] or value == ""
            return not empty if negate else empty
        return pred

    def _date(self, field: str, op: str, vals: list[str]) -> Predicate:
        if op not in ("=", "!=", ">", ">=", "<", "<="):
            raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
        when = self.parse_date(field, vals[0])
        cmp: dict[str, Callable[[datetime], bool]] = {
            "=": lambda t: t == when, "!=": lambda t: t != when, ">": lambda t: t > when,
            ">=": lambda t: t >= when, "<": lambda t: t < when, "<=": lambda t: t <= when}
        test = cmp[op]
        return lambda issue: test(issue.fields[field])

    def parse_date(self, field: str, text: str) -> datetime:
        text = text.strip()
        if text.lower() in ("now()", "now"):
            return self.now.replace(second=0, microsecond=0)
        if text.lower() in ("startofday()",):
            local = self.now.astimezone(self.tz)
            return datetime.combine(local.date(), time(0), self.tz)
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return parsed.replace(tzinfo=self.tz)
        match = _PERIOD.match(text)
        if match:
            span = sum((int(n) * _UNITS[u.lower()] for n, u in _PERIOD_PART.findall(match.group(2))), timedelta())
            base = self.now.replace(second=0, microsecond=0)
            return base - span if match.group(1) == "-" else base + span
        raise JqlError(f"Date value '{text}' for field '{field}' is invalid. Valid formats include: "
                       f"'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
                       f"format e.g. '-5d', '4w 2d'.")


def _union(fn: Callable[[str], set[str]], vals: list[str]) -> set[str]:
    out: set[str] = set()
    for v in vals:
        out |= fn(v)
    return out


def _option_set(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, tuple):  # cascading: (parent, child)
        return {v for v in value if v}
    if isinstance(value, list):
        return set(value)
    return {str(value)}


def parse(jql: str, resolver: Resolver, *, now: datetime, tz: ZoneInfo) -> Query:
    """Parse `jql`; raises JqlError with Jira's message for what it cannot take."""
    return _Parser(jql or "", resolver, now, tz).query()


def sort_key(field: str, resolver: Resolver) -> Callable[[Issue], Any]:
    if field in ("updated", "created"):
        return lambda i: i.fields[field]
    if field == "key":
        return lambda i: (i.fields["project_key"], i.fields["number"])
    if field == "id":
        return lambda i: i.id
    if field == "priority":
        return lambda i: resolver.priority_rank(i.fields.get("priority") or "")
    if field == "status":
        return lambda i: i.fields["status"]
    raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")


def order(issues: list, query: Query, resolver: Resolver) -> list:
    """Sort per ORDER BY; ties (and no ORDER BY at all) fall back to key descending."""
    result = sorted(issues, key=sort_key("key", resolver), reverse=True)
    for field, desc in reversed(query.order):
        result.sort(key=sort_key(field, resolver), reverse=desc)
    return result
