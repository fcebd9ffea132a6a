"""What the bot may do on its tracker, asked before anything runs: one `Missing` per gap.

Each tracker's provisioner asks its own way (`JiraProvisioner.preflight`: GET mypermissions
per mapped project; `ZammadProvisioner.preflight`: the token user's group access from GET
users/me) and names, for each permission the bot lacks, the feature that breaks. A
`blocking` gap stops the escalator doing its job at all (it cannot read the tickets or write
a note); the others degrade one feature, which the escalator then works around as said.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Missing:
    """One permission the bot lacks, where, and what it breaks."""

    permission: str
    where: str
    breaks: str
    blocking: bool = False

    def __str__(self) -> str:
        return f"{self.permission} missing in {self.where}: {self.breaks}"
