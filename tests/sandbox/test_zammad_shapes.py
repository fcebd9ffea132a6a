"""The sandbox Zammad answers with the shapes a real Zammad recorded.

Every interaction of the four shared cassettes is replayed, in order, against a sandbox
seeded like the recorded server (a fresh Zammad: user "-", Nicole Braun, group Users,
the welcome ticket, and the admin John Doe as user 3). The status must match and the
answer's shape — keys and value types, recursively, not values — must equal the
recording's. Ids the recording created (POST) are mapped onto the sandbox's ids for the
requests that follow. Skips with a clear reason when the cassettes are absent.
"""

from __future__ import annotations

import email.utils
import gzip
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import yaml

from sandbox.zammad import ZammadSandbox
from tests.cassettes import CASSETTES, load_cassette, parse_cassette

TOKEN = "shape-token"
#: RFC 9110 §5.6.7 IMF-fixdate, as the recorded Zammad (behind its web server) sends `Date`
HTTP_DATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT")


def shape_diff(recorded: Any, got: Any, where: str = "$") -> list[str]:
    """Differences in shape; null on either side stands for any type (a nullable value).

    Empty lists/objects carry no shape to compare. List elements are matched by `id`
    when both have one, else against the recorded element they resemble most.
    """
    if recorded is None or got is None:
        return []
    if isinstance(recorded, bool) or isinstance(got, bool):
        same = isinstance(recorded, bool) and isinstance(got, bool)
        return [] if same else [f"{where}: {type(got).__name__} where the recording has {type(recorded).__name__}"]
    if isinstance(recorded, dict):
        if not isinstance(got, dict):
            return [f"{where}: {type(got).__name__} where the recording has an object"]
        if not recorded or not got:
            return []
        problems = [f"{where}: missing key {k!r}" for k in recorded.keys() - got.keys()]
        problems += [f"{where}: extra key {k!r}" for k in got.keys() - recorded.keys()]
        for key in recorded.keys() & got.keys():
            problems += shape_diff(recorded[key], got[key], f"{where}.{key}")
        return problems
    if isinstance(recorded, list):
        if not isinstance(got, list):
            return [f"{where}: {type(got).__name__} where the recording has a list"]
        if not recorded or not got:
            return []
        by_id = {e.get("id"): e for e in recorded if isinstance(e, dict) and "id" in e}
        problems = []
        for i, element in enumerate(got):
            twin = by_id.get(element.get("id")) if isinstance(element, dict) else None
            candidates = [twin] if twin is not None else recorded
            problems += min((shape_diff(c, element, f"{where}[{i}]") for c in candidates), key=len)
        return problems
    if isinstance(recorded, int | float) and isinstance(got, int | float):
        return [] if type(recorded) is type(got) else [f"{where}: {type(got).__name__} vs {type(recorded).__name__}"]
    if type(recorded) is not type(got):
        return [f"{where}: {type(got).__name__} where the recording has {type(recorded).__name__}"]
    return []


def test_shape_diff_sees_missing_keys_types_and_list_elements():
    assert shape_diff({"a": 1, "b": "x"}, {"a": 2, "b": "y"}) == []
    assert shape_diff({"a": 1, "b": "x"}, {"a": 2}) == ["$: missing key 'b'"]
    assert shape_diff({"a": 1}, {"a": "1"}) == ["$.a: str where the recording has int"]
    assert shape_diff({"a": True}, {"a": 1}) == ["$.a: int where the recording has bool"]
    assert shape_diff({"a": None}, {"a": "set"}) == []  # nullable
    assert shape_diff([{"id": 1, "x": 1}, {"id": 2, "y": 1}], [{"id": 2, "y": 5}]) == []
    assert shape_diff([{"id": 1, "x": 1}], [{"id": 9, "z": 1}]) == ["$[0]: missing key 'x'", "$[0]: extra key 'z'"]
    assert shape_diff([{"x": 1}, {"y": 1}], [{"y": 2}]) == []  # the closest recorded element
    assert shape_diff([{"x": 1}], [[1]]) == ["$[0]: list where the recording has an object"]


def test_parse_cassette_unpacks_gzip_binary_bodies():
    body = gzip.compress(b'[{"id": 1, "name": "Users"}]')
    text = yaml.safe_dump({"interactions": [{
        "request": {"method": "GET", "uri": "http://z/api/v1/groups?page=1&expand=true", "body": None,
                    "headers": {"Authorization": ["user"]}},
        "response": {"status": {"code": 200, "message": "OK"}, "body": {"string": body},
                     "headers": {"Content-Encoding": ["gzip"], "Content-Type": ["application/json"]}}}]})
    assert "!!binary" in text
    [it] = parse_cassette(text)
    assert (it.method, it.path, it.query, it.status) == ("GET", "/api/v1/groups", {"page": "1", "expand": "true"},
                                                         200)
    assert it.response_json == [{"id": 1, "name": "Users"}] and it.request_json is None
    with pytest.raises(ValueError, match="interactions"):
        parse_cassette("just: text")


# "/api/v1/users/67" -> ("users", "67")
_RESOURCE = re.compile(r"^/api/v1/(?P<coll>[a-z_]+)/(?P<id>\d+)$")


def _translate(path: str, ids: dict[tuple[str, str], str]) -> str:
    m = _RESOURCE.match(path)
    if m and (m["coll"], m["id"]) in ids:
        return f"/api/v1/{m['coll']}/{ids[(m['coll'], m['id'])]}"
    return path


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


@pytest.mark.parametrize("name", CASSETTES)
def test_replayed_requests_answer_like_the_recording(name: str):
    interactions = load_cassette(name)
    start = datetime(2025, 5, 13, 8, 37, 13, tzinfo=UTC)
    ticks = iter(range(1_000_000))

    def clock() -> datetime:  # every stamp a little later than the last
        return start + timedelta(milliseconds=250 * next(ticks))

    compared = 0
    with ZammadSandbox(token=TOKEN, clock=clock, admin_login="johndoe@example.com", admin_firstname="John",
                       admin_lastname="Doe") as sandbox:
        session = requests.Session()
        session.headers["Authorization"] = f"Token token={TOKEN}"
        ids: dict[tuple[str, str], str] = {}
        for number, it in enumerate(interactions, 1):
            path = _translate(it.path, ids)
            resp = session.request(it.method, sandbox.base_url + path, params=it.query or None,
                                   json=it.request_json, timeout=10)
            what = f"{name} #{number}: {it.method} {it.uri}"
            assert resp.status_code == it.status, f"{what}: HTTP {resp.status_code}: {resp.text[:300]}"
            # dated as Zammad dates its answers, by the sandbox's clock (what `Cursor.read_at` reckons by)
            assert HTTP_DATE.fullmatch(it.response_headers["Date"]), what
            assert HTTP_DATE.fullmatch(resp.headers["Date"]), what
            assert start <= email.utils.parsedate_to_datetime(resp.headers["Date"]) <= clock(), what
            recorded = it.response_json
            got = resp.json() if resp.content.strip() else None
            assert (recorded is None) == (got is None), f"{what}: body presence differs"
            if recorded is None:
                continue
            assert _media_type(resp.headers.get("Content-Type")) == \
                _media_type(it.response_headers.get("Content-Type")), what
            problems = shape_diff(recorded, got)
            assert not problems, f"{what}:\n" + "\n".join(problems)
            compared += 1
            if it.method == "POST" and isinstance(recorded, dict) and isinstance(got, dict) and "id" in recorded:
                coll = it.path.rstrip("/").rsplit("/", 1)[-1]
                ids[(coll, str(recorded["id"]))] = str(got["id"])
    assert compared >= 4, f"{name}: only {compared} answers had a shape to compare"
