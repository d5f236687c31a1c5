"""The read API (/api/v1): personal tokens (shown once, hashed, revocable, created in
Settings), organisation isolation, role scope, bucketed readings, cursor pagination,
its OpenAPI description and its rate limit."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard.accounts.api_tokens import create_api_token, revoke_api_token
from dashboard.core.database import session_scope
from dashboard.core.models import Alert, ApiToken, User, utcnow
from tests.factories import add_diagnosis, add_readings
from tests.test_settings import invoke, open_tab, response_text

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


def token_for(app, email: str, name: str = "script") -> str:
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        return create_api_token(s, user, name)


def api(client, token, path, **params):
    return client.get(path, query_string=params or None,
                      headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def data(app, world):
    """Readings (2 hours, one a minute), diagnoses and alerts in both organisations."""
    with session_scope(app) as s:
        for org in ("A", "B"):
            cid = world.compressors[org][0]
            add_readings(s, cid, T0, 120, step_s=60)
            for n in range(5):
                add_diagnosis(s, cid, T0 + dt.timedelta(minutes=n), label=f"{org}-label")
            s.add(Alert(org_id=world.org_ids[org], compressor_id=cid, severity="warning",
                        state="open", title=f"{org} alert"))
    return world


def test_a_token_is_stored_hashed_and_acts_as_its_user(app, data):
    token = token_for(app, data.users["A-viewer"])
    with session_scope(app) as s:
        row = s.scalar(sa.select(ApiToken))
        assert token not in (row.token_hash, row.token_prefix) and len(row.token_hash) == 64
    resp = api(app.test_client(), token, "/api/v1/compressors")
    assert resp.status_code == 200
    names = [c["name"] for c in resp.get_json()["data"]]
    assert names == ["Comp A1", "Comp A2"]
    with session_scope(app) as s:
        assert s.scalar(sa.select(ApiToken)).last_used_at is not None


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer scapi_nope_nope", "Basic abc",
                                    "Bearer sc_abcdef123456_devicetokenlike"])
def test_missing_or_wrong_tokens_are_refused(app, data, header):
    headers = {"Authorization": header} if header is not None else {}
    resp = app.test_client().get("/api/v1/compressors", headers=headers)
    assert resp.status_code == 401
    assert set(resp.get_json()) == {"error", "detail"}
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_logged_in_session_is_not_enough(app, data):
    client = data.login(app.test_client(), "A-admin")
    assert client.get("/api/v1/compressors").status_code == 401


def test_a_device_token_does_not_open_the_read_api(app, data):
    device = data.tokens[data.compressors["A"][0]]
    assert api(app.test_client(), device, "/api/v1/compressors").status_code == 401


def test_a_revoked_token_is_refused_at_once(app, data):
    token = token_for(app, data.users["A-analyst"])
    client = app.test_client()
    assert api(client, token, "/api/v1/alerts").status_code == 200
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == data.users["A-analyst"]))
        revoke_api_token(s, user, s.scalar(sa.select(ApiToken.id)))
    assert api(client, token, "/api/v1/alerts").status_code == 401


def test_a_disabled_user_s_tokens_stop_working(app, data):
    token = token_for(app, data.users["A-analyst"])
    with session_scope(app) as s:
        s.scalar(sa.select(User).where(User.email == data.users["A-analyst"])).active = False
    assert api(app.test_client(), token, "/api/v1/compressors").status_code == 401


def test_one_user_cannot_revoke_another_s_token(app, data):
    token = token_for(app, data.users["A-analyst"])
    with session_scope(app) as s:
        other = s.scalar(sa.select(User).where(User.email == data.users["A-admin"]))
        from dashboard.accounts.users import AccountError
        with pytest.raises(AccountError):
            revoke_api_token(s, other, s.scalar(sa.select(ApiToken.id)))
    assert api(app.test_client(), token, "/api/v1/compressors").status_code == 200


def test_organisations_never_see_each_other(app, data):
    token = token_for(app, data.users["A-admin"])
    client = app.test_client()
    mine, theirs = data.compressors["A"][0], data.compressors["B"][0]
    assert api(client, token, f"/api/v1/compressors/{mine}").status_code == 200
    for path in (f"/api/v1/compressors/{theirs}", f"/api/v1/compressors/{theirs}/readings"):
        resp = api(client, token, path, bucket="minute", start=T0.isoformat())
        assert resp.status_code == 404, path
    diagnoses = api(client, token, "/api/v1/diagnoses", compressor_id=theirs).get_json()
    assert diagnoses["data"] == []
    labels = {d["label"] for d in api(client, token, "/api/v1/diagnoses").get_json()["data"]}
    assert labels == {"A-label"}
    alerts = api(client, token, "/api/v1/alerts").get_json()["data"]
    assert [a["title"] for a in alerts] == ["A alert"]
    assert api(client, token, "/api/v1/alerts", compressor_id=theirs).get_json()["data"] == []


def test_a_viewer_reads_rollups_but_not_raw_readings_or_diagnosis_details(app, data):
    viewer = token_for(app, data.users["A-viewer"])
    analyst = token_for(app, data.users["A-analyst"])
    client = app.test_client()
    cid = data.compressors["A"][0]
    path = f"/api/v1/compressors/{cid}/readings"
    window = {"start": T0.isoformat(), "end": (T0 + dt.timedelta(hours=3)).isoformat()}
    raw = api(client, viewer, path, bucket="raw", **window)
    assert raw.status_code == 403 and raw.get_json()["error"] == "forbidden"
    assert api(client, viewer, path, bucket="hour", **window).status_code == 200
    assert api(client, analyst, path, bucket="raw", **window).status_code == 200
    seen = api(client, viewer, "/api/v1/diagnoses").get_json()["data"][0]
    assert "probabilities" not in seen and "analyst_label" not in seen
    detailed = api(client, analyst, "/api/v1/diagnoses").get_json()["data"][0]
    assert detailed["probabilities"]["A-label"] == pytest.approx(0.9)


def test_readings_come_raw_per_minute_or_per_hour(app, data):
    token = token_for(app, data.users["A-analyst"])
    client = app.test_client()
    cid = data.compressors["A"][0]
    path = f"/api/v1/compressors/{cid}/readings"
    window = {"start": T0.isoformat(), "end": (T0 + dt.timedelta(hours=3)).isoformat()}
    raw = api(client, token, path, bucket="raw", **window).get_json()["data"]
    assert len(raw) == 120 and raw[0]["ts"] == "2026-11-30T10:00:00Z" and raw[0]["seq"] == 0
    minutes = api(client, token, path, bucket="minute", **window).get_json()["data"]
    assert len(minutes) == 120 and all(m["n"] == 1 for m in minutes)
    hours = api(client, token, path, bucket="hour", **window).get_json()["data"]
    assert [h["ts"] for h in hours] == ["2026-11-30T10:00:00Z", "2026-11-30T11:00:00Z"]
    assert [h["n"] for h in hours] == [60, 60]
    first_hour = raw[:60]
    assert hours[0]["temperature_c_max"] == pytest.approx(max(r["temperature_c"]
                                                              for r in first_hour))
    assert hours[0]["temperature_c_mean"] == pytest.approx(
        sum(r["temperature_c"] for r in first_hour) / 60)
    # The default window is the last 24 hours: these readings are older.
    assert api(client, token, path).get_json()["data"] == []


def test_pages_follow_the_next_link_without_gaps_or_repeats(app, data):
    token = token_for(app, data.users["A-analyst"])
    client = app.test_client()
    cid = data.compressors["A"][0]
    url = f"/api/v1/compressors/{cid}/readings"
    params = {"bucket": "raw", "start": T0.isoformat(), "limit": 50,
              "end": (T0 + dt.timedelta(hours=3)).isoformat()}
    seqs, pages = [], 0
    while url:
        body = api(client, token, url, **params).get_json()
        params = {}
        seqs += [r["seq"] for r in body["data"]]
        pages += 1
        url = body["next"].split("localhost", 1)[-1] if body["next"] else None
    assert seqs == list(range(120)) and pages == 3
    ids, cursor = [], None
    while True:
        body = api(client, token, "/api/v1/diagnoses", limit=2,
                   **({"cursor": cursor} if cursor else {})).get_json()
        ids += [d["id"] for d in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == 5 and ids == sorted(ids, reverse=True) and len(set(ids)) == 5


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "100000"}, {"cursor": "%%%"},
                                    {"cursor": "bm90IGpzb24"}, {"state": "exploded"},
                                    {"unknown": "1"}, {"since": "yesterday"}])
def test_bad_parameters_are_400_in_the_error_shape(app, data, params):
    token = token_for(app, data.users["A-viewer"])
    resp = api(app.test_client(), token, "/api/v1/alerts" if "state" in params
               else "/api/v1/diagnoses", **params)
    assert resp.status_code == 400 and set(resp.get_json()) == {"error", "detail"}


def test_the_read_api_is_rate_limited_per_token(app, data):
    app.config["READ_API_RATE_LIMIT"] = "3 per minute"
    token = token_for(app, data.users["A-viewer"])
    client = app.test_client()
    codes = [api(client, token, "/api/v1/alerts").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_openapi_description_lists_every_endpoint(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    assert set(spec["paths"]) == {
        "/api/v1/compressors", "/api/v1/compressors/{compressor_id}",
        "/api/v1/compressors/{compressor_id}/readings", "/api/v1/diagnoses",
        "/api/v1/alerts"}
    described = {r.rule.replace("<int:compressor_id>", "{compressor_id}")
                 for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    assert described - {"/api/v1/openapi.json"} == set(spec["paths"])


# ------------------------------------------------------------------ Settings → API tokens
def test_settings_creates_a_token_shown_once_and_revokes_it(dash_app, app, world):
    client = world.login(app.test_client(), "A-viewer")
    with session_scope(app) as s:
        s.scalar(sa.select(User).where(User.email == world.users["A-viewer"])).language = "en"
    resp = invoke(client, dash_app, "settings-api-create", "settings-api-create", "n_clicks",
                  1, state={"settings-api-name": "pandas notebook"},
                  output="settings-api-feedback")
    out = resp.get_json()["response"]
    token = out["settings-api-token-value"]["children"]
    assert token.startswith("scapi_") and out["settings-api-token-modal"]["is_open"] is True
    assert api(app.test_client(), token, "/api/v1/compressors").status_code == 200
    listing = response_text(open_tab(client, dash_app, "api", "settings-api-list"))
    assert "pandas notebook" in listing and token not in listing
    # The window's close empties it: the token is never shown again.
    closed = invoke(client, dash_app, "settings-api-token-close", "settings-api-token-close",
                    "n_clicks", 1).get_json()["response"]
    assert closed["settings-api-token-value"]["children"] == ""
    with session_scope(app) as s:
        token_id = s.scalar(sa.select(ApiToken.id))
    revoked = invoke(client, dash_app, "settings-api-revoke",
                     {"type": "settings-api-revoke", "token": token_id}, "submit_n_clicks", 1)
    assert "Revoked" in response_text(revoked)
    assert api(app.test_client(), token, "/api/v1/compressors").status_code == 401


def test_settings_refuses_a_nameless_token(dash_app, app, world):
    client = world.login(app.test_client(), "A-viewer")
    resp = invoke(client, dash_app, "settings-api-create", "settings-api-create", "n_clicks",
                  1, state={"settings-api-name": "  "}, output="settings-api-feedback")
    assert "settings-api-token-value" not in resp.get_json()["response"]
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_token_times_are_utc(app, data):
    token = token_for(app, data.users["A-viewer"])
    api(app.test_client(), token, "/api/v1/compressors")
    with session_scope(app) as s:
        used = s.scalar(sa.select(ApiToken.last_used_at))
    assert abs((utcnow() - used).total_seconds()) < 60


def test_on_postgresql_readings_pages_and_rollups_agree(pg_dash_app, pg_world):
    app = pg_dash_app.server
    with session_scope(app) as s:
        for org in ("A", "B"):
            add_readings(s, pg_world.compressors[org][0], T0, 120, step_s=60)
    token = token_for(app, pg_world.users["A-analyst"])
    client = app.test_client()
    cid = pg_world.compressors["A"][0]
    path = f"/api/v1/compressors/{cid}/readings"
    window = {"start": T0.isoformat(), "end": (T0 + dt.timedelta(hours=3)).isoformat()}
    first = api(client, token, path, bucket="raw", limit=70, **window).get_json()
    rest = api(client, token, path, bucket="raw", limit=70, cursor=first["next_cursor"],
               **window).get_json()
    assert [r["seq"] for r in first["data"] + rest["data"]] == list(range(120))
    assert rest["next"] is None
    hours = api(client, token, path, bucket="hour", **window).get_json()["data"]
    minutes = api(client, token, path, bucket="minute", **window).get_json()["data"]
    assert [h["n"] for h in hours] == [60, 60] and len(minutes) == 120
    other = pg_world.compressors["B"][0]
    assert api(client, token, f"/api/v1/compressors/{other}/readings",
               bucket="hour", **window).status_code == 404
