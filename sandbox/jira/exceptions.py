"""The sandbox Jira's refusals, each rendered the way Jira renders it.

Jira's REST error body is `{"errorMessages": [...], "errors": {"<field>": "..."}}`
(`ErrorCollection` in the v3 spec, ../shared/reference/jira-platform-v3.json). A
`JiraError` raised anywhere below the routes (models, JQL, handlers) becomes that body
with its status; the few answers that are not an ErrorCollection (Cloud's plain-text
401, the 405 with no body) are built here too, so every shape of refusal lives in one
module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.server import HttpError, Response


class JiraError(HttpError):
    """An error answer in Jira's shape: {errorMessages: [...], errors: {field: message}}."""

    def __init__(self, status: int, messages: Iterable[str] = (), errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        super().__init__(status, self.body, headers)
        self.args = (status, self.messages, self.errors)

    @property
    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


class ServiceDeskError(HttpError):
    """Jira Service Management's own error shape: {errorMessage, i18nErrorMessage: {i18nKey,
    parameters}} (developer.atlassian.com/cloud/jira/service-desk/rest/intro/#status-codes)."""

    def __init__(self, status: int, message: str, i18n_key: str):
        super().__init__(status, {"errorMessage": message,
                                  "i18nErrorMessage": {"i18nKey": i18n_key, "parameters": []}})


class JqlError(JiraError):
    """A query Jira refuses (400); the message is Jira's `errorMessages` entry."""

    def __init__(self, message: str):
        super().__init__(400, [message])

    def __str__(self) -> str:
        return self.messages[0]


def issue_not_found() -> JiraError:
    """What Jira answers for an issue that is missing or that the caller may not browse: the
    two are not told apart (the v3 spec, 404 of GET /rest/api/3/issue/{issueIdOrKey}: "the
    issue is not found or the user does not have permission to view it")."""
    return JiraError(404, ["Issue does not exist or you do not have permission to see it."])


#: Old Cloud search, removed by CHANGE-2046 (developer.atlassian.com/changelog/#CHANGE-2046);
#: the body is what Cloud returns (quoted in github.com/taylorwilsdon/open-webui-tools/issues/6).
GONE = {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                          "API. A full migration guideline is available at "
                          "https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}}


def unauthorized(flavour: str) -> Response:
    if flavour == "cloud":
        # Cloud answers a bad API token in plain text with these headers (seen in
        # github.com/atlassian/gajira-login/issues/59 and jira-node/node-jira-client#255).
        return Response(401, "Client must be authenticated to access this resource.",
                        {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
                         "WWW-Authenticate": 'Basic realm="protected-area"'})
    return Response(401, {"errorMessages": ["You are not authenticated. Authentication required to perform "
                                            "this operation."], "errors": {}},
                    {"WWW-Authenticate": 'OAuth realm="http%3A%2F%2Flocalhost"'})


def no_route(base: str, path: str, *, method_not_allowed: bool) -> Response:
    """Jersey's answers: 405 with no body for a known path, else 404 "null for uri"."""
    if method_not_allowed:
        return Response(405, None)
    return Response(404, {"errorMessages": [f"null for uri: {base}{path}"], "errors": {}})


def internal_error(exc: Exception) -> JiraError:
    """A sandbox bug answered as Jira's 500, not a dropped socket."""
    return JiraError(500, [f"Internal server error: {type(exc).__name__}: {exc}"])
