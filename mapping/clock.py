"""The SLA clock of one incident: working time counted while its state runs the clock.

The clock starts at the report time and counts the contract calendar's working time,
but only while the incident's state has clock mode "running" (SPEC.md: 暂停 paused
stops it, 挂起 suspended does not, 待审核/已归档 stop it, a reopen resumes it; a
contract may override any state's mode). `now` is always passed in.

`SlaClock` walks the state history once and then answers both questions the rules ask
— how much SLA time has elapsed, and when it reached (or will reach) an amount — for
as many amounts as needed; the two module functions are the one-question forms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mapping.calendar import BusinessCalendar
from mapping.incident import Incident
from mapping.procedure import ClockMode, Contract, Procedure


def _contract(procedure: Procedure, contract: Contract | str | None) -> Contract:
    return contract if isinstance(contract, Contract) else procedure.contract(contract)


_MODES: dict[tuple[int, int], tuple[Procedure, Contract, dict[int, ClockMode]]] = {}


def clock_modes(procedure: Procedure, contract: Contract) -> dict[int, ClockMode]:
    """State code -> clock mode under `contract` (`Procedure.clock_mode` for every state), cached."""
    key = (id(procedure), id(contract))
    hit = _MODES.get(key)
    if hit is not None and hit[0] is procedure and hit[1] is contract:
        return hit[2]
    modes = {s.code: procedure.clock_mode(contract, s.code) for s in procedure.states}
    if len(_MODES) >= 256:
        _MODES.pop(next(iter(_MODES)))
    _MODES[key] = (procedure, contract, modes)  # holding both keeps their ids from being reused
    return modes


class SlaClock:
    """One incident's SLA clock as of `now`, in work coordinates of its calendar."""

    __slots__ = ("calendar", "reported", "now", "running_now", "_runs", "_elapsed")

    def __init__(self, incident: Incident, procedure: Procedure, contract: Contract | str | None,
                 now: datetime):
        contract = _contract(procedure, contract)
        calendar = BusinessCalendar.from_config(procedure.calendar_of(contract))
        modes = clock_modes(procedure, contract)
        reported = incident.reported_at.timestamp()
        now_ts = now.timestamp()
        history = incident.state_history
        # the first entry is the state the incident was reported in, whatever its stamp
        points = [(reported, history[0].state if history else incident.state)]
        points += [(max(c.at.timestamp(), reported), c.state) for c in history[1:]]
        work_at = calendar.work_at
        runs: list[tuple[float, float]] = []  # running intervals up to now, as work coordinates
        state = points[0][1]
        last = len(points) - 1
        for i, (start, state_here) in enumerate(points):
            if start > now_ts:
                break
            state = state_here
            end = points[i + 1][0] if i < last else now_ts
            if end > now_ts:
                end = now_ts
            if end > start and modes[state] == "running":
                w_start, w_end = work_at(start), work_at(end)
                if w_end > w_start:
                    if runs and runs[-1][1] == w_start:  # 3 -> 4 with 4 running: one interval
                        w_start = runs.pop()[0]
                    runs.append((w_start, w_end))
        elapsed = sum(b - a for a, b in runs)
        self.calendar = calendar
        self.reported = incident.reported_at
        self.now = now
        self.running_now = modes[state] == "running"
        self._runs = runs
        self._elapsed = elapsed

    @property
    def elapsed(self) -> timedelta:
        """SLA time counted from the report time to `now`."""
        return timedelta(seconds=self._elapsed)

    def reaches(self, amount: timedelta) -> datetime | None:
        """When the elapsed SLA time reached `amount`, or will if the current state goes on.

        Zero is reached at the report time. None when `amount` has not been reached
        and the clock does not run now.
        """
        need = amount.total_seconds()
        if need <= 0:
            return self.reported.astimezone(UTC)
        counted = 0.0
        for w_start, w_end in self._runs:
            if counted + (w_end - w_start) >= need:
                return self._instant(w_start + (need - counted))
            counted += w_end - w_start
        if not self.running_now:
            return None
        start = max(self.now, self.reported)
        return self._instant(self.calendar.work_at(start.timestamp()) + (need - counted))

    def _instant(self, work: float) -> datetime:
        return datetime.fromtimestamp(self.calendar.instant_at(work), UTC)


def sla_elapsed(incident: Incident, procedure: Procedure, contract: Contract | str | None,
                now: datetime) -> timedelta:
    """Working time on the contract's calendar from the report time to `now`, clock running."""
    return SlaClock(incident, procedure, contract, now).elapsed


def when_elapsed_reaches(incident: Incident, procedure: Procedure, contract: Contract | str | None,
                         amount: timedelta, now: datetime) -> datetime | None:
    """The instant the SLA time reached (past) or will reach (projected from `now`) `amount`."""
    return SlaClock(incident, procedure, contract, now).reaches(amount)
