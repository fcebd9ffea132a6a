"""Recorded Zammad interactions from `../shared/reference/zammad_cassettes/`, decoded.

The cassettes are vcrpy (v1 format) YAML: each interaction has a request (method,
uri, headers, body) and a response (status {code, message}, headers, body {string}).
Response bodies are gzip-compressed and stored as `!!binary` (PyYAML's safe loader
turns those into bytes). `load_cassette(name)` decodes all that into `Interaction`s
with parsed JSON, so connector parsing tests and the sandbox shape checks read real
server answers. A missing cassette skips the test with a clear reason (via
`tests/reference.py`).

    for it in load_cassette("TestAPI.test_tickets"):
        it.method, it.path, it.query, it.request_json, it.status, it.response_json
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.reference import reference_file

FOLDER = "zammad_cassettes"

#: the four recordings kept in the shared reference
CASSETTES = ("TestAPI.test_groups", "TestAPI.test_pagination", "TestAPI.test_tickets", "TestAPI.test_users")


@dataclass(frozen=True)
class Interaction:
    """One recorded request and the real server's answer."""

    method: str
    uri: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    response_headers: dict[str, str]  # one value per name, as recorded (first value)
    response_body: bytes = field(repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.uri).query, keep_blank_values=True).items()}

    @property
    def request_json(self) -> Any:
        return json.loads(self.request_body) if self.request_body else None

    @property
    def response_json(self) -> Any:
        """The decoded JSON answer; None when the body is empty (e.g. DELETE /tickets/:id)."""
        if not self.response_body.strip():
            return None
        return json.loads(self.response_body)


def _body(raw: Any) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, dict):  # vcrpy: {"string": ...}
        raw = raw.get("string")
    if raw is None:
        return b""
    return raw if isinstance(raw, bytes) else str(raw).encode("utf-8")


def _headers(raw: dict | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (raw or {}).items():
        out[name] = value[0] if isinstance(value, list) and value else str(value)
    return out


def parse_cassette(text: str) -> list[Interaction]:
    """Decode one cassette's YAML text (gzip bodies unpacked); ValueError when it is not one."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise ValueError("not a vcrpy cassette: no `interactions` list")
    out = []
    for number, item in enumerate(data["interactions"], 1):
        try:
            req, resp = item["request"], item["response"]
            headers = _headers(resp.get("headers"))
            body = _body(resp.get("body"))
            if headers.get("Content-Encoding", "").lower() == "gzip" and body:
                body = gzip.decompress(body)
            req_body = req.get("body")
            out.append(Interaction(
                method=req["method"].upper(), uri=req["uri"], request_headers=_headers(req.get("headers")),
                request_body=_body(req_body) or None, status=int(resp["status"]["code"]),
                response_headers=headers, response_body=body))
        except (KeyError, TypeError, OSError) as exc:
            raise ValueError(f"interaction {number}: {exc!r}") from None
    return out


@cache
def _load(name: str) -> tuple[Interaction, ...]:
    path = reference_file(FOLDER, f"{name}.yaml")
    try:
        return tuple(parse_cassette(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_cassette(name: str) -> list[Interaction]:
    """The interactions of `name` (with or without `.yaml`); skips the test when it is absent."""
    return list(_load(name.removesuffix(".yaml")))
