"""`escalator deadlines` and `escalator procedure show` import only what they use (issue 14: a command
starts in ≤ 0.2 s, measured by bench/bench_startup.py). Each runs in a fresh interpreter, through the
same group the `escalator` script runs, and lists the modules it ended with: validating the procedure
(no cache yet, or none), and reading it from `mapping.procedure_cache` (run again, same inputs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: what neither command uses: the HTTP client, the tracker connectors, the daemon's services and
#: page, the PostgreSQL driver, the models of incidents, actions, configs and tracker mappings, and
#: wcwidth's tables (the default procedure's tables are Latin and CJK text, measured without them)
UNUSED = ("requests", "urllib3", "prometheus_client", "jinja2", "psycopg", "connectors", "plugin.config",
          "plugin.daemon", "plugin.journal", "mapping.incident", "mapping.actions", "mapping.fieldmap",
          "mapping.decide", "mapping.duties", "wcwidth")
#: what validating the procedure takes, and a run again with the same inputs does without: the
#: validation library and its models, the YAML parser, the `holidays` package
VALIDATION = ("pydantic", "pydantic_core", "yaml", "holidays", "mapping.loader", "mapping.procedure_schema")

_RUN = """
import json, sys
from plugin.cli.main import main
try:
    main(sys.argv[1:], prog_name="escalator")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _modules(*args: str, env: dict[str, str] | None = None) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _RUN, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    result = json.loads(done.stderr.strip().splitlines()[-1])
    assert result["code"] in (0, None), done.stderr
    return result["modules"]


COMMANDS = [("deadlines", "--severity", "2", "--reported", "2026-11-20T09:00"),
            ("deadlines", "--severity", "1", "--reported", "2026-11-20T09:00", "--contract", "24x7", "--lang", "en"),
            ("procedure", "show"), ("procedure", "show", "--lang", "en")]


def _among(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_command_imports_only_what_it_uses(args):
    modules = _modules(*args, env={"ESCALATOR_NO_CACHE": "1"})
    assert _among(modules, UNUSED) == []
    # the procedure's calendars name one country (CN): its holidays alone, not the package's ~250
    assert [m for m in modules if m.startswith("holidays.countries")] == ["holidays.countries.china"]
    assert "pydantic" in modules  # validated: no cache was read


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_run_again_a_command_reads_the_cache_and_imports_no_validation(args):
    first = _modules(*args)  # validates, and writes the cache
    assert "pydantic" in first and "yaml" in first
    again = _modules(*args)
    assert _among(again, VALIDATION + UNUSED) == []
    assert "mapping.procedure_cache" in again


def test_a_config_is_read_only_when_one_is_given(tmp_path):
    # the config's models are loaded when --config names an escalator config, and only then
    config = tmp_path / "escalator.yaml"
    config.write_text("tracker: {kind: jira, url: 'https://example.atlassian.net', email: bot@example.com, "
                      "token: {env: UNUSED_TOKEN}, projects: [OPS]}\nlanguage: en\n", encoding="utf-8")
    modules = _modules("deadlines", "--severity", "2", "--reported", "2026-11-20T09:00", "--config", str(config))
    assert "plugin.config" in modules
    assert not [m for m in modules if m.split(".")[0] in ("requests", "prometheus_client", "jinja2", "psycopg")]
