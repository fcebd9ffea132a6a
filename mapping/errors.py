"""The one base class of the errors a user can cause: bad config, procedure, mapping file, refusals.

The `escalator` command prints any of them as one line and exits 2. They share this small
module so the command can catch them all without importing the HTTP client, pydantic
models or the config loader before a command has even been chosen.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the person running the escalator can mend; `hint` says where to look."""

    hint: str | None = None


class ProcedureError(UserError, ValueError):
    """A procedure that cannot be used; `problems` holds one line per problem (`mapping.loader`)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))
