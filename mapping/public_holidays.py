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
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_CLASSES: dict[str, Any] = {}


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
