"""Trend problems (§6.1.3): which patterns a rule sees, with what key, and which near-misses it does not."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mapping.loader import load_procedure
from mapping.trends import TrendRule, detect_trends, period_of
from tests.duties import CST, at, incident

PROCEDURE = load_procedure()
NETWORK_WEEK = TrendRule(name="net", by="category", count=3, window="week")


def reported(*times: str, category: str = "1.2", **extra):
    return [incident(f"T-{n}", when, category=category, **extra) for n, when in enumerate(times, start=1)]


def keys(found) -> list[str]:
    return [d.key for d in found]


def test_n_incidents_of_one_category_in_a_week_make_one_pattern():
    # Monday, Wednesday, Friday of ISO week 47, and a printer incident that is not of the pattern
    items = reported("2026-11-16 09:00", "2026-11-18 10:00", "2026-11-20 11:00")
    items.append(incident("P-1", "2026-11-19 09:00", category="1.3"))
    found = detect_trends(items, PROCEDURE, [NETWORK_WEEK], at("2026-11-20 12:00"))
    assert keys(found) == ["trend:net:default:category=1.2:2026-W47"]
    (due,) = found
    assert [i.ref for i in due.incidents] == ["T-1", "T-2", "T-3"]
    assert (due.start, due.end) == (at("2026-11-16 00:00"), at("2026-11-23 00:00"))
    # asked again later (next week), the same pattern comes back with the same key: filed once by it
    again = detect_trends(items, PROCEDURE, [NETWORK_WEEK], at("2026-11-25 09:00"))
    assert keys(again) == keys(found)


@pytest.mark.parametrize(("times", "why"), [
    (("2026-11-16 09:00", "2026-11-18 10:00"), "only two"),
    (("2026-11-21 09:00", "2026-11-22 10:00", "2026-11-23 11:00"), "Saturday, Sunday and the next Monday: two weeks"),
    (("2026-11-20 11:00", "2026-11-20 12:30"), "the third is reported after now"),
])
def test_near_misses_make_no_pattern(times, why):
    items = reported(*times)
    if len(times) == 2 and "after now" in why:
        items.append(incident("T-9", "2026-11-20 13:00"))
    assert detect_trends(items, PROCEDURE, [NETWORK_WEEK], at("2026-11-23 12:00" if "two weeks" in why
                                                                 else "2026-11-20 12:45")) == [], why


def test_only_the_current_and_the_previous_period_are_judged():
    items = reported("2026-11-02 09:00", "2026-11-03 09:00", "2026-11-04 09:00")  # week 45
    assert keys(detect_trends(items, PROCEDURE, [NETWORK_WEEK], at("2026-11-10 09:00"))) == [
        "trend:net:default:category=1.2:2026-W45"]  # week 46 now: last week is caught up
    assert detect_trends(items, PROCEDURE, [NETWORK_WEEK], at("2026-11-17 09:00")) == []  # two weeks on


def test_one_configuration_item_whatever_its_spelling_and_a_day_window():
    rule = TrendRule(name="ci-day", by="configuration_item", count=2, window="day")
    items = [incident("C-1", "2026-11-20 09:00", facts={"affected_ci": "Core-Switch-01"}),
             incident("C-2", "2026-11-20 15:00", facts={"affected_ci": "core-switch-01 "}),
             incident("C-3", "2026-11-20 16:00", facts={"affected_ci": "ups-02"}),
             incident("C-4", "2026-11-20 16:30")]  # no CI recorded: of no item's pattern
    found = detect_trends(items, PROCEDURE, [rule], at("2026-11-20 17:00"))
    assert keys(found) == ["trend:ci-day:default:configuration_item=core-switch-01:2026-11-20"]
    assert [i.ref for i in found[0].incidents] == ["C-1", "C-2"]


def test_all_incidents_in_a_month_and_contracts_apart():
    rule = TrendRule(name="busy", by="all", count=3, window="month")
    items = reported("2026-11-02 09:00", "2026-11-12 09:00", category="1.2")
    items += reported("2026-11-20 09:00", category="3.1")
    items.append(incident("N-1", "2026-11-21 09:00", contract="24x7"))
    found = detect_trends(items, PROCEDURE, [rule], at("2026-11-30 09:00"))
    assert keys(found) == ["trend:busy:default:all:2026-11"]
    assert found[0].value is None


def test_a_week_on_week_rise():
    rule = TrendRule(name="rise", kind="rise", by="all", count=4, rise=0.5)
    # four a week before (weeks 45 and 46: no rise), six in week 47
    last_week = reported("2026-11-02 09:00", "2026-11-03 09:00", "2026-11-04 09:00", "2026-11-05 09:00",
                         "2026-11-09 09:00", "2026-11-10 09:00", "2026-11-11 09:00", "2026-11-12 09:00")
    this_week = [incident(f"W-{n}", f"2026-11-1{6 + n // 3} 1{n % 3}:00") for n in range(6)]
    # 6 >= 1.5 x 4: a rise; with five it is not (a near miss)
    found = detect_trends(last_week + this_week, PROCEDURE, [rule], at("2026-11-18 18:00"))
    assert keys(found) == ["trend:rise:default:all:2026-W47"] and found[0].previous == 4
    assert len(found[0].incidents) == 6
    assert detect_trends(last_week + this_week[:5], PROCEDURE, [rule], at("2026-11-18 18:00")) == []
    # from nothing, the minimum count decides
    assert keys(detect_trends(this_week[:4], PROCEDURE, [rule], at("2026-11-18 18:00"))) == [
        "trend:rise:default:all:2026-W47"]
    assert detect_trends(this_week[:3], PROCEDURE, [rule], at("2026-11-18 18:00")) == []


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "x", "kind": "rise", "count": 3}, "a `rise` rule needs `rise`"),
    ({"name": "x", "count": 3, "rise": 0.5}, "`rise` belongs to a `kind: rise` rule"),
    ({"name": "x", "kind": "rise", "count": 3, "rise": 0.5, "window": "month"}, "compares ISO weeks"),
    ({"name": "x y", "count": 3}, "should match pattern"),
    ({"name": "x", "count": 1}, "greater than or equal to 2"),
    ({"name": "x", "count": 3, "by": "group"}, "'category', 'configuration_item' or 'all'"),
])
def test_bad_rules_are_refused(data, message):
    with pytest.raises(ValidationError, match=message):
        TrendRule.model_validate(data)


def test_periods_are_local():
    assert period_of(at("2026-11-22 23:59"), "week", CST)[0] == "2026-W47"
    assert period_of(at("2026-12-31 23:00"), "month", CST)[1:] == (at("2026-12-01 00:00"), at("2027-01-01 00:00"))
    assert period_of(at("2026-11-20 00:30"), "day", CST)[0] == "2026-11-20"


@pytest.mark.parametrize("now", ["2026-11-01 00:30", "2026-11-20 12:00", "2026-12-31 23:30", "2027-01-04 08:00"])
def test_no_incident_reported_before_counted_since_counts(now):
    """The daemon hands `detect_trends` only the incidents reported since `counted_since` (the rest
    are not rebuilt from their compact copies): the patterns must be the same as with all of them."""
    from datetime import timedelta

    from mapping.trends import counted_since
    rules = [NETWORK_WEEK, TrendRule(name="ci-day", by="configuration_item", count=2, window="day"),
             TrendRule(name="busy", by="all", count=3, window="month"),
             TrendRule(name="rise", kind="rise", by="all", count=4, rise=0.5)]
    moment = at(now)
    # three a day, every day of the 240 days before now (some on the 24x7 contract, in its own zone)
    items = [incident(f"T-{d}-{k}", (moment - timedelta(days=d, hours=5 * k)).strftime("%Y-%m-%d %H:%M"),
                      contract="24x7" if k == 2 else None, facts={"affected_ci": f"ci-{d % 3}"})
             for d in range(240) for k in range(3)]
    # and a rise: sixty more over the last week
    items += [incident(f"R-{n}", (moment - timedelta(hours=2.8 * n)).strftime("%Y-%m-%d %H:%M"),
                       facts={"affected_ci": "core-switch"}) for n in range(60)]
    since = counted_since(rules, moment)
    recent = [i for i in items if i.reported_at >= since]
    assert len(recent) < len(items) / 2  # the horizon leaves most of them out
    for rule in rules:
        assert keys(detect_trends(recent, PROCEDURE, [rule], moment)) == \
            keys(detect_trends(items, PROCEDURE, [rule], moment)) != []
