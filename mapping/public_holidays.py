"""One country's public holidays from the `holidays` package, importing that country alone.

`holidays.country_holidays("CN")` imports the package's `holidays.countries`, whose
`__init__` imports every one of its ~250 countries (vacanza/holidays#998, #1049: the
lazy `EntityLoader` of `holidays/__init__.py` defers that only until the first
country is asked for). That is the largest part of the start of every command that
loads the procedure — `escalator deadlines`, `procedure show` — for a calendar that
names one country. `country_holidays` here finds the country's module in the package's
own registry (`holidays.registry.COUNTRIES`: module -> class name and codes, the table
the `EntityLoader`s are made from) and imports that module alone.

Same answer, same errors as the package's function: the class is the package's own
(a later `import holidays.countries` finds this module already loaded and reuses it),
built with the same defaults; an unknown country raises NotImplementedError, as an
unknown subdivision does from the class itself. Should a release of the package lay
its countries out otherwise (no registry, no such file, a module that cannot load
alone), the package's own `country_holidays` is used: slower to start, never wrong.

`CountryDays` asks the package one year at a time and keeps each year's answer (its days
off and its make-up working days) as plain dates, in a table shared by every calendar of
the same country; `years`/`preload` hand that table to `mapping.procedure_cache` and take
it back, so a command run again with a warm cache does not import the package at all.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_CLASSES: dict[str, Any] = {}

#: (country, subdivision) -> year -> (days off, make-up working days on the weekend)
YearTable = dict[tuple[str, str | None], dict[int, tuple[frozenset[date], frozenset[date]]]]
_YEARS: YearTable = {}
_YEARS_LOCK = threading.Lock()
_grown = False  # a year was asked of the package since `preload`


class CountryDays:
    """One country's (and subdivision's) days off and make-up working days, a year at a time.

    `off(d)`: a public holiday or a day off in lieu (调休 "Day off (substituted ...)"), i.e.
    `d in holidays.country_holidays(...)`; `makeup(d)`: a day of the country's weekend it
    lists as working (HolidayBase.is_working_day, holidays >= 0.60,
    https://holidays.readthedocs.io: on the weekend True only for `weekend_workdays`, 调休).
    The package is imported and built only for a year not yet in the table.
    """

    def __init__(self, country: str, subdiv: str | None = None):
        self.key = (country, subdiv)
        self._package: Any = None
        with _YEARS_LOCK:
            self._years = _YEARS.setdefault(self.key, {})

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        known = self._years.get(year)
        if known is None:
            known = self._ask(year)
        return known

    def _ask(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        global _grown
        with _YEARS_LOCK:
            if year in self._years:
                return self._years[year]
            if self._package is None:
                self._package = country_holidays(*self.key)
            package = self._package
            # the years beside it first: a holiday observed across New Year belongs to the year it
            # falls in, whichever year the package was asked for first
            for near in (year - 1, year + 1):
                _ = date(near, 6, 1) in package
            days = [date.fromordinal(o) for o in range(date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal())]
            off = frozenset(d for d in days if d in package)
            makeup = frozenset(d for d in days if d.weekday() in package.weekend and package.is_working_day(d))
            self._years[year] = (off, makeup)
            _grown = True
            return off, makeup

    def off(self, d: date) -> bool:
        return d in self._year(d.year)[0]

    def makeup(self, d: date) -> bool:
        return d in self._year(d.year)[1]


def years() -> YearTable:
    """Every year the package was asked for (or preloaded) in this process, as plain data."""
    with _YEARS_LOCK:
        return {key: dict(table) for key, table in _YEARS.items()}


def preload(table: YearTable) -> None:
    """Take years computed by an earlier process (the same package version's) as known."""
    global _grown
    with _YEARS_LOCK:
        for key, known in table.items():
            _YEARS.setdefault(key, {}).update(known)
        _grown = False


def grown() -> bool:
    """Whether a year was asked of the package since the last `preload`."""
    return _grown


def country_holidays(country: str, subdiv: str | None = None) -> Any:
    """`holidays.country_holidays(country, subdiv=subdiv)` (a `holidays.HolidayBase`)."""
    entity = _entity(country)
    if entity is None:
        import holidays

        return holidays.country_holidays(country, subdiv=subdiv)
    return entity(subdiv=subdiv)


def _entity(code: str) -> Any | None:
    """The package's class for the country `code` (its class name or an ISO code, as
    `getattr(holidays, code)` takes), imported alone; None to let the package do it."""
    with _LOCK:
        if code not in _CLASSES:
            _CLASSES[code] = _load(code)
        return _CLASSES[code]


def _load(code: str) -> Any | None:
    try:
        import holidays  # the base classes and the registry, not the countries
        from holidays.registry import COUNTRIES
    except ImportError:
        return None
    module = next((module for module, entities in COUNTRIES.items() if code in entities), None)
    if module is None:
        return None  # unknown: the package says so, in its words
    name = f"holidays.countries.{module}"
    loaded = sys.modules.get(name)
    if loaded is None:
        path = Path(holidays.__file__).parent / "countries" / f"{module}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None or not path.is_file():
            return None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        try:
            spec.loader.exec_module(loaded)
        except Exception:  # noqa: BLE001 - a layout this module does not know: the package's way
            del sys.modules[name]
            return None
    # the class named by the code itself, as `getattr(holidays, code)` finds it (CN and CHN are subclasses of China)
    return getattr(loaded, code, None)
