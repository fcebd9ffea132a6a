"""Allowed state changes (§4) and every illegal one, named with the rule it breaks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mapping.actions import FlagTransition
from mapping.escalation import UnknownContract
from mapping.incident import Incident, StateChange
from mapping.loader import load_procedure
from mapping.procedure import Contract, Procedure
from mapping.transitions import broken_rule, illegal_changes, is_allowed

PROC = load_procedure()
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

ALLOWED = {
    (1, 2): "dispatch", (2, 3): "start", (3, 4): "suspend", (3, 5): "pause",
    (4, 3): "resume", (5, 3): "resume", (6, 3): "resume",
    (3, 6): "resolve", (4, 6): "resolve", (5, 6): "resolve", (6, 7): "archive",
    (2, 1): "misdispatch", (3, 1): "misdispatch",
}

# every other change between two different states: (source, target) -> (rule broken, section)
ILLEGAL = {
    **{(s, 1): ("misdispatch", "§4.3.1.1") for s in (4, 5, 6, 7)},
    **{(s, 2): ("dispatch", "§4.2") for s in (3, 4, 5, 6, 7)},
    (1, 3): ("start", "§4.3"),  # skipped 已派单
    (7, 3): ("resume", "§4.3, §4.5.2"),  # reopened after archiving
    **{(s, 4): ("suspend", "§4.3") for s in (1, 2, 5, 6, 7)},
    **{(s, 5): ("pause", "§4.3") for s in (1, 2, 4, 6, 7)},
    **{(s, 6): ("resolve", "§4.4") for s in (1, 2, 7)},
    **{(s, 7): ("archive", "§4.5.2") for s in (1, 2, 3, 4, 5)},
}


def test_the_tables_cover_every_pair() -> None:
    pairs = {(s, t) for s in range(1, 8) for t in range(1, 8) if s != t}
    assert set(ALLOWED) | set(ILLEGAL) == pairs
    assert not set(ALLOWED) & set(ILLEGAL)
    assert len(ILLEGAL) == 49 - 7 - 13


@pytest.mark.parametrize("pair,name", ALLOWED.items(), ids=[f"{s}->{t}" for s, t in ALLOWED])
def test_allowed(pair: tuple[int, int], name: str) -> None:
    transition = is_allowed(PROC, *pair)
    assert transition is not None and transition.name == name


def incident(states: list[int], current: int | None = None, contract: str | None = None) -> Incident:
    history = tuple(StateChange(at=T0 + timedelta(hours=i), state=s, by=f"user{i}", by_name=f"User {i}")
                    for i, s in enumerate(states))
    return Incident(tracker="zammad", id="7", ref="31007", reported_at=T0, updated_at=history[-1].at,
                    state=current if current is not None else states[-1], severity=3,
                    state_history=history, contract=contract)


@pytest.mark.parametrize("pair,expected", ILLEGAL.items(), ids=[f"{s}->{t}" for s, t in ILLEGAL])
def test_illegal(pair: tuple[int, int], expected: tuple[str, str]) -> None:
    source, target = pair
    assert is_allowed(PROC, source, target) is None
    rule, section = expected
    flags = illegal_changes(incident([source, target]), PROC, None)
    assert flags == [FlagTransition(source=source, target=target, at=T0 + timedelta(hours=1), by="user1",
                                    by_name="User 1", rule=rule, section=section, revert=False)]
    assert broken_rule(PROC, source, target).name == rule


def test_a_legal_life_has_no_flags() -> None:
    # dispatched, misdispatched back, dispatched again, worked, suspended, paused, resolved,
    # reopened by the project manager, resolved, archived
    assert illegal_changes(incident([1, 2, 1, 2, 3, 4, 3, 5, 6, 3, 6, 7]), PROC, None) == []


def test_same_state_entries_are_not_changes() -> None:
    # the tracker logged 3 -> 3 (e.g. a status id that maps to the same state)
    assert illegal_changes(incident([1, 2, 3, 3, 6]), PROC, None) == []
    flags = illegal_changes(incident([1, 2, 2, 6]), PROC, None)
    assert [(f.source, f.target) for f in flags] == [(2, 6)]


def enforcing(procedure: Procedure) -> Procedure:
    contracts = {**procedure.contracts, "strict": Contract(calendar="24x7", enforce_transitions=True)}
    return replace(procedure, contracts=contracts)


def test_revert_only_the_latest_change_still_in_place_under_an_enforcing_contract() -> None:
    strict = enforcing(PROC)
    # 1 -> 3 (skipped dispatch), then 3 -> 7 (archived without review): only the last is undone
    flags = illegal_changes(incident([1, 3, 7], contract="strict"), strict, "strict")
    assert [(f.source, f.target, f.revert) for f in flags] == [(1, 3, False), (3, 7, True)]
    # the same history on a contract that does not enforce: flagged, never reverted
    flags = illegal_changes(incident([1, 3, 7]), strict, None)
    assert [f.revert for f in flags] == [False, False]
    # the ticket has moved on since the history was read: nothing to put back
    flags = illegal_changes(incident([1, 3, 7], current=6, contract="strict"), strict, "strict")
    assert [f.revert for f in flags] == [False, False]
    # an illegal change followed by a legal one: history, not undone
    flags = illegal_changes(incident([1, 3, 6], contract="strict"), strict, "strict")
    assert [(f.source, f.target, f.revert) for f in flags] == [(1, 3, False)]


def test_unknown_contract_is_an_error() -> None:
    with pytest.raises(UnknownContract):
        illegal_changes(incident([1, 3]), PROC, "gold")


def test_a_state_no_rule_leads_to() -> None:
    no_archive = replace(PROC, transitions=tuple(t for t in PROC.transitions if t.name != "archive"))
    assert broken_rule(no_archive, 6, 7) is None
    [flag] = illegal_changes(incident([6, 7]), no_archive, None)
    assert (flag.rule, flag.section) == ("(none)", "§4")


def test_the_exact_undo_of_an_illegal_change_is_not_flagged() -> None:
    # 3 -> 7 is illegal; putting it back (7 -> 3) restores the allowed state: one flag only
    flags = illegal_changes(incident([1, 2, 3, 7, 3]), PROC, None)
    assert [(f.source, f.target) for f in flags] == [(3, 7)]


def test_the_illegal_change_made_again_after_its_undo_is_flagged_again() -> None:
    # 3 -> 7 illegal, 7 -> 3 its undo (the escalator's put-back, or the person's own), 3 -> 7 again: the
    # second archive is no undo of the undo, it breaks the same rule once more and is put back again
    flags = illegal_changes(incident([1, 2, 3, 7, 3, 7]), enforcing(PROC), "strict")
    assert [(f.source, f.target, f.revert) for f in flags] == [(3, 7, False), (3, 7, True)]
    assert flags[0].marker != flags[1].marker
    # and an undo of that second one is spared again
    flags = illegal_changes(incident([1, 2, 3, 7, 3, 7, 3]), PROC, None)
    assert [(f.source, f.target) for f in flags] == [(3, 7), (3, 7)]


def test_a_move_on_from_an_illegal_state_that_is_no_undo_is_flagged() -> None:
    # 3 -> 7 illegal, then 7 -> 6 is not its undo and not allowed either
    flags = illegal_changes(incident([1, 2, 3, 7, 6]), PROC, None)
    assert [(f.source, f.target) for f in flags] == [(3, 7), (7, 6)]
