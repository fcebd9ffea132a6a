"""The sandbox Zammad's refusals, each rendered the way Zammad renders it.

Zammad's API errors are `{"error": "...", "error_human": "..."}`
(app/controllers/application_controller/handles_errors.rb, `humanize_error`); a refused
login or permission also carries the message in an `X-Failure` header (the same file's
`unauthorized`/`not_authorized` handlers). A `ZammadError` raised anywhere below the
routes becomes that answer. Rails' unknown-route 404 and Rack::Attack's throttle answer
(plain text) are built here too.
"""

from __future__ import annotations

from sandbox.server import HttpError, Response


class ZammadError(HttpError, ValueError):
    """A refusal answered with `{error, error_human}` and its status (a ValueError too, so
    the seed API's callers can catch a refused value as one)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status = status
        self.message = message
        extra = {"X-Failure": message} if status in (401, 403) else {}
        super().__init__(status, {"error": message, "error_human": message}, {**extra, **(headers or {})})
        self.args = (message,)

    def __str__(self) -> str:
        return self.message


def no_route(method: str, path: str) -> Response:
    """Rails answers an unknown route with 404 and this body (errors_controller#routing)."""
    msg = f"No route matches [{method}] {path}"
    return Response(404, {"error": msg, "error_human": msg})


def throttled(wait: float) -> Response:
    """Rack::Attack's default throttled responder with `throttled_response_retry_after_header`."""
    return Response(429, "Retry later\n", {"Retry-After": str(max(1, round(wait + 0.4999))),
                                           "Content-Type": "text/plain"})
