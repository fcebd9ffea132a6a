"""`mapping.public_holidays`: one country's holidays from the `holidays` package, that country alone
imported — the same answer and the same refusals as the package's own `country_holidays`."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest

from mapping.public_holidays import country_holidays

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("country", "subdiv"), [("CN", None), ("CHN", None), ("China", None), ("DE", "BY"),
                                                 ("US", "CA")])
def test_the_same_days_as_the_package(country, subdiv):
    ours, theirs = country_holidays(country, subdiv), holidays.country_holidays(country, subdiv=subdiv)
    assert type(ours) is type(theirs) and ours.subdiv == theirs.subdiv
    days = [date(2025, 1, 1) + timedelta(days=n) for n in range(730)]  # 2025 and 2026
    assert [(d in ours, ours.get(d), ours.is_working_day(d)) for d in days] == \
        [(d in theirs, theirs.get(d), theirs.is_working_day(d)) for d in days]


def test_china_s_working_weekend_days_are_the_package_s():
    cn = country_holidays("CN")
    # 2026-02-14, a Saturday: a make-up working day (调休) of the Spring Festival arrangement
    assert cn.is_working_day(date(2026, 2, 14)) == holidays.country_holidays("CN").is_working_day(date(2026, 2, 14))


@pytest.mark.parametrize(("country", "subdiv"), [("XX", None), ("cn", None), ("CN", "NOWHERE")])
def test_an_unknown_country_or_subdivision_is_refused_as_the_package_refuses_it(country, subdiv):
    with pytest.raises(NotImplementedError):
        holidays.country_holidays(country, subdiv=subdiv)
    with pytest.raises(NotImplementedError):
        country_holidays(country, subdiv)


def test_only_the_country_asked_for_is_imported():
    code = ("import sys; from mapping.public_holidays import country_holidays; country_holidays('CN'); "
            "print(sorted(m for m in sys.modules if m.startswith('holidays.countries')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['holidays.countries.china']"
    # the package imports them all when asked the same thing itself: what the module avoids
    code = ("import sys, holidays; holidays.country_holidays('CN'); "
            "print(sum(m.startswith('holidays.countries.') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert int(done.stdout) > 100


def test_the_package_imported_later_reuses_the_country_loaded_alone():
    code = ("from mapping.public_holidays import country_holidays; cn = country_holidays('CN'); "
            "import holidays.countries; print(type(cn) is holidays.countries.CN is holidays.CN.get_entity())")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
