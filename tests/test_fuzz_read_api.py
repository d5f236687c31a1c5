"""Hostile input on the read API (/api/v1), fuzzed like the device API: whatever the
query string, path or token, the answer is never a 5xx, an error always has the
{error, detail} shape, and a token never reaches another organisation's rows.

FUZZ_EXAMPLES sets the cases per property (default 1250), capped here at 400 per
property and 200 per schemathesis operation (about 3,000 requests in all, ~1.5 min on
the development machine): each call checks a token against the database."""

import datetime as dt
import os

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.accounts.api_tokens import create_api_token
from dashboard.core.database import session_scope
from dashboard.core.models import User
from tests.factories import add_diagnosis, add_readings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1250"))
FUZZ = settings(max_examples=min(EXAMPLES, 400), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
SCHEMA_FUZZ = settings(FUZZ, max_examples=min(EXAMPLES, 200))
PATHS = ["/api/v1/compressors", "/api/v1/compressors/{a}", "/api/v1/compressors/{a}/readings",
         "/api/v1/compressors/{b}/readings", "/api/v1/diagnoses", "/api/v1/alerts",
         "/api/v1/compressors/{b}"]
KEYS = st.sampled_from(["limit", "cursor", "bucket", "start", "end", "since", "until",
                        "compressor_id", "state", "x", ""])
VALUES = st.one_of(st.text(max_size=30), st.integers(min_value=-2**70, max_value=2**70).map(str),
                   st.datetimes(min_value=dt.datetime(1, 1, 2)).map(lambda d: d.isoformat()),
                   st.sampled_from(["raw", "minute", "hour", "open", "0", "-1", "NaN",
                                    "eyJ4IjoxfQ", "WyIyMDI2LTExLTMwVDEwOjAwOjAwKzAwOjAwIiwxXQ"]))
T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def fuzz_world(app, world):
    with session_scope(app) as s:
        for org in ("A", "B"):
            cid = world.compressors[org][0]
            add_readings(s, cid, T0, 30, step_s=60)
            add_diagnosis(s, cid, T0, label=f"{org}-label")
        analyst = s.scalar(sa.select(User).where(User.email == world.users["A-analyst"]))
        world.api_token = create_api_token(s, analyst, "fuzz")
    return world


def _assert_clean(resp) -> None:
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    if resp.status_code >= 400:
        body = resp.get_json()
        assert set(body) == {"error", "detail"} and body["detail"]


def test_fuzzed_query_strings_never_cause_5xx_or_leak(app, fuzz_world):
    client = app.test_client()
    a, b = fuzz_world.compressors["A"][0], fuzz_world.compressors["B"][0]
    headers = {"Authorization": f"Bearer {fuzz_world.api_token}"}

    @FUZZ
    @given(path=st.sampled_from(PATHS), params=st.dictionaries(KEYS, VALUES, max_size=5))
    def check(path, params):
        url = path.format(a=a, b=b)
        resp = client.get(url, query_string=params or None, headers=headers)
        _assert_clean(resp)
        if str(b) in url and resp.status_code < 400:
            raise AssertionError(f"another organisation's compressor answered: {url}")
        if resp.status_code == 200 and "data" in (resp.get_json() or {}):
            for row in resp.get_json()["data"]:
                assert row.get("label") != "B-label"

    check()


def test_fuzzed_paths_and_ids_never_cause_5xx(app, fuzz_world):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {fuzz_world.api_token}"}

    @FUZZ
    @given(ident=st.one_of(st.integers(min_value=-5, max_value=2**80).map(str),
                           st.text(max_size=20).filter(lambda t: "/" not in t and "?" not in t
                                                       and "#" not in t)),
           tail=st.sampled_from(["", "/readings", "/readings/", "/x"]))
    def check(ident, tail):
        resp = client.get(f"/api/v1/compressors/{ident}{tail}", headers=headers)
        assert resp.status_code < 500, (ident, tail)

    check()


def test_fuzzed_tokens_are_refused_with_401(app, fuzz_world):
    client = app.test_client()

    @FUZZ
    @given(token=st.one_of(st.text(max_size=120),
                           st.text(max_size=60).map(lambda t: f"scapi_{t}"),
                           st.just(fuzz_world.api_token[:-1]),
                           st.just(fuzz_world.api_token + "x")).filter(
        lambda t: t.isprintable() and t.strip() and "\n" not in t))
    def check(token):
        resp = client.get("/api/v1/compressors", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401

    check()


def test_openapi_operations_fuzzed_by_schemathesis(app, fuzz_world):
    """Every operation of the read API's description, positive and negative cases."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {fuzz_world.api_token}"}
    total = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @SCHEMA_FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            nonlocal total
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.path, response.text[:300])
            total += 1

        check()
    assert total >= 5 * min(EXAMPLES, 50)
