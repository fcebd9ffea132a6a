"""The validated procedure kept between runs (`mapping.procedure_cache`): the same procedure the loader
gives, never a stale one, never a bad one, and a cache problem is never the user's."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mapping import loader, procedure_cache
from mapping.errors import ProcedureError
from mapping.procedure import Procedure

ACME = "contracts:\n  default:\n    timetable:\n      2: {project_manager: 3h, division_director: 5h, company_management: 7h}\n"


@pytest.fixture
def validations(monkeypatch) -> list[Path | None]:
    """The paths the loader was asked to validate (the cache asks it on a miss only)."""
    asked: list[Path | None] = []
    real = loader.load_procedure

    def counting(path: Path | None = None) -> Procedure:
        asked.append(path)
        return real(path)

    monkeypatch.setattr(loader, "load_procedure", counting)
    return asked


def _entries() -> list[Path]:
    root = procedure_cache.cache_dir()
    return sorted(root.glob("procedure-*.pickle")) if root.is_dir() else []


def test_a_run_again_reads_what_the_loader_gave(tmp_path, validations):
    acme = tmp_path / "acme.yaml"
    acme.write_text(ACME, encoding="utf-8")
    first = procedure_cache.load_procedure(acme)
    assert first == loader.load_procedure(acme)  # the real loader's answer, from the same file
    validations.clear()
    again = procedure_cache.load_procedure(acme)
    assert validations == []  # from the cache
    assert again == first and again is not first
    assert procedure_cache.load_procedure(None) == loader.load_procedure(None)


def test_the_cache_lives_under_xdg_cache_home_private(tmp_path):
    procedure_cache.load_procedure(None)
    [entry] = _entries()
    assert entry.parent == Path(os.environ["XDG_CACHE_HOME"]) / "incident-escalator"
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) & 0o077 == 0
    assert not [p for p in entry.parent.iterdir() if p.suffix == ".tmp"]  # written whole, then renamed


def test_a_changed_procedure_file_is_read_again(tmp_path, validations):
    acme = tmp_path / "acme.yaml"
    acme.write_text(ACME, encoding="utf-8")
    before = procedure_cache.load_procedure(acme)
    acme.write_text(ACME.replace("3h", "2h"), encoding="utf-8")
    after = procedure_cache.load_procedure(acme)
    assert validations == [acme, acme]
    assert str(before.contracts["default"].timetable[2]["project_manager"]) == "3:00:00"
    assert str(after.contracts["default"].timetable[2]["project_manager"]) == "2:00:00"
    assert len(_entries()) == 1  # one entry per file, replaced


def test_a_changed_default_profile_or_code_is_another_key(tmp_path, monkeypatch):
    key = procedure_cache._key(None)
    monkeypatch.setattr(procedure_cache, "__version__", "99.0")
    assert procedure_cache._key(None) != key
    monkeypatch.undo()
    here = tmp_path / "mapping"
    here.mkdir()
    for name in (procedure_cache.DEFAULT_PROFILE, *procedure_cache.CODE):
        (here / name).write_bytes((procedure_cache._HERE / name).read_bytes())
    monkeypatch.setattr(procedure_cache, "_HERE", here)
    assert procedure_cache._key(None) == key
    for name in (procedure_cache.DEFAULT_PROFILE, "procedure_schema.py"):
        original = (here / name).read_bytes()
        (here / name).write_bytes(original + b"\n# changed\n")
        assert procedure_cache._key(None) != key, name
        (here / name).write_bytes(original)


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05K\x01."])
def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path, validations, damage):
    procedure_cache.load_procedure(None)
    [entry] = _entries()
    entry.write_bytes(damage)
    validations.clear()
    assert procedure_cache.load_procedure(None) == loader.load_procedure(None)
    assert validations[0] is None  # validated afresh, nothing said
    validations.clear()
    procedure_cache.load_procedure(None)
    assert validations == []  # and the entry written again


def test_a_cache_file_others_may_write_is_not_read(tmp_path, validations):
    procedure_cache.load_procedure(None)
    [entry] = _entries()
    entry.chmod(0o666)
    validations.clear()
    procedure_cache.load_procedure(None)
    assert validations == [None]


def test_a_bad_procedure_is_never_cached(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("escalation:\n  timetable:\n    2: {project_manager: 7h}\n", encoding="utf-8")
    with pytest.raises(ProcedureError) as first:
        procedure_cache.load_procedure(bad)
    assert _entries() == []
    with pytest.raises(ProcedureError) as again:  # the loader's own lines, every time
        procedure_cache.load_procedure(bad)
    assert again.value.problems == first.value.problems
    with pytest.raises(ProcedureError) as direct:
        loader.load_procedure(bad)
    assert direct.value.problems == first.value.problems


def test_an_unreadable_procedure_file_is_the_loaders_error(tmp_path):
    with pytest.raises(ProcedureError, match="cannot read"):
        procedure_cache.load_procedure(tmp_path / "missing.yaml")
    assert _entries() == []


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path, monkeypatch, validations):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory would be", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert procedure_cache.load_procedure(None) == loader.load_procedure(None)


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch, validations):
    monkeypatch.setenv("ESCALATOR_NO_CACHE", "1")
    procedure_cache.load_procedure(None)
    procedure_cache.load_procedure(None)
    assert validations == [None, None]
    assert _entries() == []
