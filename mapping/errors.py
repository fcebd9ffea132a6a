"""The one base class of the errors a user can cause: bad config, procedure, mapping file, refusals.

The `escalator` command prints any of them as one line and exits 2. They share this small
module so the command can catch them all without importing the HTTP client, pydantic
models or the config loader before a command has even been chosen.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the person running the escalator can mend; `hint` says where to look."""

    hint: str | None = None
