"""What a tracker's webhook is to the receiver: how its body is signed, which ticket it names.

Both trackers sign the raw body with an HMAC keyed by the shared secret and send it as
`X-Hub-Signature: <algorithm>=<hex>` (WebSub style); they differ in the algorithm and
in where the body names the ticket. Each connector package describes its own
(`connectors/jira/webhook.py`, `connectors/zammad/webhook.py`) as a `Webhook`;
the HTTP receiver (`plugin.webhooks`) only routes, checks with `verify` and hands on
the ticket `ticket_of` finds.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature"


def hub_signature(secret: str, body: bytes, algorithm: str) -> str:
    """`<algorithm>=<hex HMAC of body>`, as the tracker sends it."""
    return f"{algorithm}=" + hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()


def check_hub_signature(secret: str, body: bytes, header: str | None, algorithm: str) -> str | None:
    """None when `header` signs `body`; otherwise why not: 'unsigned' or 'bad signature'.

    Compared in constant time (`hmac.compare_digest`), so the answer's timing tells a
    forger nothing about how much of a guess was right.
    """
    if not header:
        return "unsigned"
    expected = hub_signature(secret, body, algorithm).encode("ascii")
    if not hmac.compare_digest(expected, header.strip().encode("ascii", "replace")):
        return "bad signature"
    return None


@dataclass(frozen=True)
class Webhook:
    """One tracker's webhook: the HMAC algorithm of its signature and where its body names the ticket."""

    tracker: str
    algorithm: str  # a hashlib name: "sha256", "sha1"
    ticket_of: Callable[[Any], str | None]  # the parsed JSON body -> the ticket it names, or None
    header: str = SIGNATURE_HEADER

    def sign(self, secret: str, body: bytes) -> str:
        """The signature header's value the tracker sends for `body` (tests and the demo send it too)."""
        return hub_signature(secret, body, self.algorithm)

    def verify(self, secret: str, body: bytes, header: str | None) -> str | None:
        """None when the signature is right; otherwise the reason ('unsigned', 'bad signature')."""
        return check_hub_signature(secret, body, header, self.algorithm)
