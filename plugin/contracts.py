"""Which contract an incident is under: the one rule the daemon and the reports share.

The snapshot's own contract (a mapped field, the only one a connector reports) wins; else
the config's `contracts:` rules
(`Config.contract_for`: by organisation, then by project); else the procedure's default.
The reports must resolve exactly as the daemon does, or their figures (the incidents of
a contract, the timetable a breach is measured against) disagree with what it enforced.
"""

from __future__ import annotations

from mapping.incident import Incident
from mapping.procedure import Procedure
from plugin.config import Config


def contract_of(incident: Incident, config: Config, procedure: Procedure) -> str:
    """The contract name the incident is under (possibly unknown to the procedure: the caller checks)."""
    return incident.contract or config.contract_for(incident.organisation, incident.project) \
        or procedure.default_contract


def with_contract(incident: Incident, config: Config, procedure: Procedure) -> Incident:
    """The incident with its contract resolved (`contract_of`), a copy only when it changes."""
    contract = contract_of(incident, config, procedure)
    return incident if incident.contract == contract else incident.model_copy(update={"contract": contract})
