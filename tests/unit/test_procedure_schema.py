"""The pydantic models of `mapping.procedure_schema` mirror `mapping.procedure`'s dataclasses field for
field (names, defaults), and a country's days off asked a year at a time are the `holidays` package's."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from mapping import procedure as plain
from mapping import procedure_schema
from mapping.public_holidays import CountryDays, country_holidays

PAIRS = sorted(procedure_schema._MODELS.items())


def test_every_dataclass_has_its_model():
    dataclasses_ = {name for name, value in vars(plain).items()
                    if dataclasses.is_dataclass(value) and value.__module__ == plain.__name__}
    assert dataclasses_ == set(procedure_schema._MODELS)


@pytest.mark.parametrize(("name", "model"), PAIRS, ids=[name for name, _ in PAIRS])
def test_a_model_and_its_dataclass_have_the_same_fields_and_defaults(name, model):
    cls = getattr(plain, name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert list(fields) == list(model.model_fields)
    for key, info in model.model_fields.items():
        f = fields[key]
        if info.is_required():
            assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, key
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert default == procedure_schema.to_dataclass(info.get_default(call_default_factory=True)), key


def test_validated_builds_the_dataclasses():
    rule = procedure_schema.validated(plain.WarningRule, {"lead": "30m"})
    assert rule == plain.WarningRule(lead=timedelta(minutes=30))
    contract = procedure_schema.validated(plain.Contract, {"calendar": "x", "acknowledge": {"repeat_every": "1h"}})
    assert type(contract.warnings) is plain.Warnings and type(contract.acknowledge) is plain.Acknowledgement
    assert contract == plain.Contract(calendar="x", acknowledge=plain.Acknowledgement(repeat_every=timedelta(hours=1)))


@pytest.mark.parametrize("year", [2019, 2025, 2026, 2027, 2031])
def test_a_countrys_days_a_year_at_a_time_are_the_packages(year):
    days = CountryDays("CN")
    package = country_holidays("CN")
    for ordinal in range(date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal()):
        d = date.fromordinal(ordinal)
        assert days.off(d) == (d in package), d
        assert days.makeup(d) == (d.weekday() in package.weekend and package.is_working_day(d)), d
