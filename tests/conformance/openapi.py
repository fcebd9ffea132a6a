"""Validate Jira Cloud requests and responses against Atlassian's official v3 OpenAPI document.

The document is `../shared/reference/jira-platform-v3.json`, found through
`tests/reference.py` (a test that uses it is skipped when it is absent). It is
2.4 MB, so it is parsed once per session.

Use from any test:

    from tests.conformance.openapi import validate_request, validate_response
    validate_request("POST", "https://x/rest/api/3/search/jql", {"jql": "project = SD"})
    validate_response("GET", url, 200, body)          # or validate_exchange(requests_response)
    session.hooks["response"].append(response_hook)   # check every call a session makes

Each raises `AssertionError` naming the operation and every schema error.

Two quirks of the document are handled here (see the reference README):
- 4 parameters carry a `default: ''` outside their `enum`, which fails spec
  validation, so the spec validator is switched off (`spec_validator_cls=None`).
- Jira writes timestamps as `2026-11-20T09:00:00.000+0000` (no colon in the offset)
  while the document types them `format: date-time` (RFC 3339). Real Jira fails its own
  spec there, so `date-time` accepts Jira's form as well as RFC 3339.

And one the README does not list: the `ScreenTypes` schema (a screen scheme's screen ids)
is marked `writeOnly`, yet `GET /rest/api/3/screenscheme` answers with it - the
document's own example of that answer holds `"screens": {"default": 10017, "edit": 10019,
...}` - so the mark is dropped when the document is loaded.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import MissingData

from tests.reference import reference_file

SPEC_FILE = "jira-platform-v3.json"
#: the document's `servers` entry; any sandbox or real host is mapped onto it
SERVER = "https://your-domain.atlassian.net"

_JIRA_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?([+-]\d{2}:?\d{2}|Z)$")


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # type checks are the schema's job, not the format's
    return bool(_JIRA_TIME.match(value))


@lru_cache(maxsize=1)
def _load() -> OpenAPI:
    path = reference_file(SPEC_FILE)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["components"]["schemas"].get("ScreenTypes", {}).pop("writeOnly", None)
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": _date_time})
    return OpenAPI.from_dict(data, config=config)


def spec() -> OpenAPI:
    """The parsed document (skips the calling test when the reference file is absent)."""
    return _load()


def _request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> MockRequest:
    parts = urlsplit(url)
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    hdrs = dict(headers or {})
    # validate the shape, not the credentials: any basic credential satisfies `security`
    if not any(k.lower() == "authorization" for k in hdrs):
        hdrs["Authorization"] = "Basic Ym90QGV4YW1wbGUuY29tOnRva2Vu"
    ctype = next((v for k, v in hdrs.items() if k.lower() == "content-type"), "application/json")
    return MockRequest(SERVER, method, parts.path, args=parse_qsl(parts.query, keep_blank_values=True),
                       headers=hdrs, data=data, content_type=ctype.split(";")[0])


def _explain(kind: str, method: str, url: str, exc: Exception) -> AssertionError:
    details: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        err = stack.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        for schema_err in getattr(err, "schema_errors", None) or ():
            where = "/".join(str(p) for p in schema_err.absolute_path) or "(root)"
            details.append(f"at {where}: {schema_err.message}")
        for nested in (err.__cause__, err.__context__):
            if nested is not None:
                stack.append(nested)
    text = "; ".join(details[:10]) or f"{type(exc).__name__}: {exc}"
    return AssertionError(f"{kind} of {method.upper()} {urlsplit(url).path} does not match the Jira v3 "
                          f"spec: {text}")


def validate_request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> None:
    """Check a request the connector sends (path, query parameters, JSON body) against the spec."""
    try:
        spec().validate_request(_request(method, url, body, headers))
    except Exception as exc:  # openapi-core raises several unrelated types
        raise _explain("request", method, url, exc) from exc


def validate_response(method: str, url: str, status: int, body: Any = None,
                      headers: dict[str, str] | None = None, request_body: Any = None) -> None:
    """Check a response (status and JSON body) the sandbox or Jira returned for this request."""
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    hdrs = dict(headers or {})
    ctype = next((v for k, v in hdrs.items() if k.lower() == "content-type"), "application/json")
    response = MockResponse(data, status_code=status, headers=hdrs, content_type=ctype.split(";")[0])
    try:
        spec().validate_response(_request(method, url, request_body), response)
    except MissingData:
        # the document gives bodiless answers (204s, the 200/201 of PUT .../properties/{key})
        # an `application/json: {}` content; Jira sends no body there. The status was found.
        if data:
            raise
    except Exception as exc:
        raise _explain("response", method, url, exc) from exc


def validate_exchange(resp: Any) -> None:
    """Check both halves of a `requests.Response` (its `.request` is what was sent)."""
    req = resp.request
    body = req.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    validate_request(req.method, req.url, body, dict(req.headers))
    validate_response(req.method, req.url, resp.status_code, resp.content or None, dict(resp.headers), body)


def response_hook(resp: Any, *args: Any, **kwargs: Any) -> Any:
    """A `requests` response hook: validates each exchange of a session (Cloud v3 paths only)."""
    if "/rest/api/3/" in resp.request.url:
        validate_exchange(resp)
    return resp
