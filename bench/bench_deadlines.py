"""Benchmark: escalation decisions (`mapping.escalation.evaluate`) for 100,000 incidents.

Builds 100,000 incidents with realistic state histories (3-8 changes: dispatch, work,
suspensions, customer pauses, resolution, reopen, archive) and a mix of severities on
the default contract (cn-business calendar: working hours, Chinese holidays, 调休), then
times `evaluate` over all of them. Two baselines are measured in the same run:

- a naive day-by-day walk (what the calendar index replaces): the same SLA clock and
  timetable, with business time found by walking the days between two instants and
  asking the `holidays` package about each day — on a sample, whose answers are also
  checked against `evaluate`'s;
- the same evaluations on the 24x7 contract, where business time is clock arithmetic.

Target: under 5 s in all for 100,000 incidents on the business calendar.

    python3 bench/bench_deadlines.py [--incidents 100000] [--naive-sample 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mapping.escalation import evaluate  # noqa: E402
from mapping.incident import EscalationRecord, Incident, ManualEscalationRequest, StateChange  # noqa: E402
from mapping.loader import load_procedure  # noqa: E402

TARGET_SECONDS = 5.0
CST = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 1, tzinfo=CST)


def _history(rng: random.Random, reported: datetime) -> list[StateChange]:
    """A plausible life: 1 -> 2 -> 3, some 4/5 detours, maybe resolved, reopened, archived."""
    at = reported
    states = [1, 2, 3]
    while len(states) < 8 and rng.random() < 0.55:
        states += [rng.choice((4, 5, 5)), 3]  # customer pauses are the commoner detour
    if rng.random() < 0.6:
        states.append(6)
        if rng.random() < 0.15 and len(states) < 8:
            states += [3, 6]
        if rng.random() < 0.7 and len(states) < 9:
            states.append(7)
    states = states[:9]  # the initial state plus at most 8 changes
    cut = rng.randint(4, len(states)) if len(states) > 4 else len(states)  # some are still open
    history = [StateChange(at=at, state=states[0], by="desk")]
    for state in states[1:cut]:
        at = at + timedelta(minutes=rng.choice((5, 20, 45, 90, 240, 600, 1500, 3000)))
        history.append(StateChange(at=at, state=state, by="engineer"))
    return history


def build(n: int, seed: int, contract: str) -> list[tuple[Incident, datetime]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        # reported at any time of 2026, more often in the working day
        day = START + timedelta(days=rng.randrange(365))
        hour = rng.choice((9, 10, 11, 14, 15, 16, 17)) if rng.random() < 0.8 else rng.randrange(24)
        reported = day.replace(hour=hour, minute=rng.randrange(60))
        history = _history(rng, reported)
        severity = rng.choices((1, 2, 3, 4), weights=(5, 20, 45, 30))[0]
        escalations = ()
        if rng.random() < 0.3:
            escalations = (EscalationRecord(at=reported + timedelta(hours=rng.randint(1, 30)), level=1),)
        manual = ()
        if rng.random() < 0.05:
            manual = (ManualEscalationRequest(at=reported + timedelta(minutes=rng.randint(10, 600))),)
        inc = Incident(tracker="jira", id=str(i), ref=f"OPS-{i}", reported_at=reported, updated_at=history[-1].at,
                       severity=severity, state=history[-1].state, contract=contract,
                       escalation_level=len(escalations), state_history=tuple(history),
                       escalations=escalations, manual_requests=manual)
        now = history[-1].at + timedelta(minutes=rng.randint(0, 5 * 24 * 60))
        out.append((inc, now))
    return out


class NaiveWalk:
    """Business time on cn-business by walking day by day, nothing precomputed or cached."""

    def __init__(self, procedure):
        import holidays

        config = procedure.calendars["cn-business"]
        self.zone = ZoneInfo(config.timezone)
        self.hours = [[tuple(int(x) for x in r.replace("-", ":").split(":")) for r in config.hours.get(day, ())]
                      for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
        self.makeup = next(h for h in self.hours if h)
        self.country = holidays.country_holidays(config.country)

    def ranges(self, day) -> list[tuple[datetime, datetime]]:
        if day in self.country:
            return []
        hours = self.hours[day.weekday()]
        if not hours:
            if day.weekday() < 5 or not self.country.is_working_day(day):
                return []
            hours = self.makeup
        return [(datetime(day.year, day.month, day.day, h1, m1, tzinfo=self.zone),
                 datetime(day.year, day.month, day.day, h2, m2, tzinfo=self.zone)) for h1, m1, h2, m2 in hours]

    def measure(self, start: datetime, end: datetime) -> float:
        total, day, last = 0.0, start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            for a, b in self.ranges(day):
                a, b = max(a, start), min(b, end)
                if b > a:
                    total += (b - a).total_seconds()
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        day = start.astimezone(self.zone).date()
        while True:
            for a, b in self.ranges(day):
                a = max(a, start)
                if b > a:
                    if (b - a).total_seconds() >= seconds:
                        return a + timedelta(seconds=seconds)
                    seconds -= (b - a).total_seconds()
            day += timedelta(days=1)

    def next_deadline(self, inc: Incident, procedure, now: datetime) -> datetime | None:
        """`evaluate`'s next deadline for incidents without manual requests, the slow way."""
        contract = procedure.contract(inc.contract)
        if procedure.clock_mode(contract, inc.state_at(now)) == "stopped":
            return None
        history = inc.state_history
        runs = []
        for i, change in enumerate(history):
            start = max(change.at, inc.reported_at)
            end = min(history[i + 1].at if i + 1 < len(history) else now, now)
            if end > start and procedure.clock_mode(contract, change.state) == "running":
                runs.append((start, end))
        running_now = procedure.clock_mode(contract, inc.state_at(now)) == "running"
        row = procedure.timetable_for(contract)[inc.severity]
        done = max([inc.escalation_level, *(e.level for e in inc.escalations)])
        for level, role in enumerate(procedure.escalation.targets, start=1):
            need = row[role].total_seconds()
            if level <= done or need == 0:
                continue
            crossing, counted = None, 0.0
            for start, end in runs:
                worked = self.measure(start, end)
                if counted + worked >= need:
                    crossing = self.add(start, need - counted)
                    break
                counted += worked
            if crossing is None and running_now:
                crossing = self.add(now, need - counted)
            if crossing is not None and crossing > now:
                return crossing
        return None


def run_naive(cases: list[tuple[Incident, datetime]], procedure) -> tuple[float, int]:
    walk = NaiveWalk(procedure)
    mismatches = 0
    began = time.perf_counter()
    answers = [walk.next_deadline(inc, procedure, now) for inc, now in cases]
    took = time.perf_counter() - began
    for (inc, now), answer in zip(cases, answers, strict=True):
        expected = evaluate(inc, procedure, now).next_deadline
        if (answer is None) != (expected is None) or (answer and abs(answer - expected) > timedelta(seconds=1)):
            mismatches += 1
    return took, mismatches


def run(cases: list[tuple[Incident, datetime]], procedure) -> tuple[float, int, int]:
    due = with_next = 0
    began = time.perf_counter()
    for inc, now in cases:
        outcome = evaluate(inc, procedure, now)
        due += len(outcome.due)
        with_next += outcome.next_deadline is not None
    return time.perf_counter() - began, due, with_next


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=2000,
                        help="incidents timed with the naive day-by-day walk")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    procedure = load_procedure()
    n = args.incidents
    print(f"building {n:,} incidents (seed {args.seed}) ...", flush=True)
    business = build(n, args.seed, "default")
    always = build(n, args.seed, "24x7")  # the same histories on the 24x7 contract
    changes = sum(len(inc.state_history) - 1 for inc, _ in business) / n
    print(f"  {changes:.1f} state changes per incident on average")

    base_s, base_due, base_next = run(always, procedure)
    bus_s, bus_due, bus_next = run(business, procedure)
    print(f"baseline (24x7 contract):        {base_s:6.2f} s  {base_s / n * 1e6:6.1f} us/incident  "
          f"{base_due:,} escalations due, {base_next:,} with a next deadline")
    print(f"business calendar (cn-business): {bus_s:6.2f} s  {bus_s / n * 1e6:6.1f} us/incident  "
          f"{bus_due:,} escalations due, {bus_next:,} with a next deadline")
    print(f"ratio business / 24x7:           {bus_s / base_s:6.2f}x")
    sample = [(inc, now) for inc, now in business if not inc.manual_requests][:args.naive_sample]
    naive_s, mismatches = run_naive(sample, procedure)
    per_naive, per_indexed = naive_s / len(sample), bus_s / n
    print(f"naive day-by-day walk:           {naive_s:6.2f} s  {per_naive * 1e6:6.1f} us/incident  "
          f"({len(sample):,} incidents; {mismatches} answers differ from evaluate's)")
    print(f"ratio naive / business:          {per_naive / per_indexed:6.1f}x "
          f"(100,000 naive: ~{per_naive * 100_000:.0f} s)")
    met = bus_s < TARGET_SECONDS * n / 100_000
    print(f"target: under {TARGET_SECONDS:.0f} s for 100,000 incidents -> "
          f"{'MET' if met else 'NOT MET'} ({bus_s:.2f} s for {n:,})")
    return 0 if met and not mismatches else 1


if __name__ == "__main__":
    raise SystemExit(main())
