"""The compressor page: downsampled sensor series that keep spikes, the range picker,
organisation scoping (404 for another organisation's compressor) and maintenance
notes written by managers only."""

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import MaintenanceNote, utcnow
from dashboard.fleet.notes import NoteError, update_note
from dashboard.fleet.timeseries import (
    TimeRange,
    bucket_seconds,
    diagnosis_series,
    sensor_series,
)
from tests.dash_client import call_callback, ids_in, output_of, text_of
from tests.factories import add_diagnosis, add_note, add_readings


def _series_on(server, org_id, cid, time_range, **kwargs):
    with server.app_context():
        from dashboard.core.database import db_session

        return sensor_series(db_session(), org_id, cid, time_range, **kwargs)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_buckets_keep_min_max_so_a_one_second_spike_survives(backend, request):
    fixture = "world" if backend == "sqlite" else "pg_world"
    world = request.getfixturevalue(fixture)
    server = world.server
    cid = world.compressors["A"][0]
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    with session_scope(server) as s:
        add_readings(s, cid, start, 6 * 3600, spikes=[4000])
    time_range = TimeRange(start, start + dt.timedelta(hours=6))
    frame, width = _series_on(server, world.org_ids["A"], cid, time_range, max_points=500)
    assert width == 60 and len(frame) == 360  # 6 h of 1 Hz -> 360 one-minute buckets
    assert frame["n"].sum() == 6 * 3600
    spike_bucket = frame.loc[frame["current_a_max"].idxmax()]
    assert spike_bucket["current_a_max"] == pytest.approx(99.0)
    assert spike_bucket["ts"] == start + dt.timedelta(seconds=4000 // 60 * 60)
    assert spike_bucket["current_a_mean"] < 15  # the mean alone would hide it
    assert frame["temperature_c_min"].le(frame["temperature_c_mean"]).all()
    assert frame["temperature_c_mean"].le(frame["temperature_c_max"]).all()
    # Another organisation gets nothing, even with the right compressor id.
    other, _ = _series_on(server, world.org_ids["B"], cid, time_range)
    assert other.empty


def test_thirty_days_of_one_hertz_stay_under_the_point_budget():
    assert bucket_seconds(30 * 86400) == 1800
    assert 30 * 86400 / bucket_seconds(30 * 86400) <= 2000
    assert bucket_seconds(3600) == 2
    assert bucket_seconds(7 * 86400) == 600


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_long_ranges_read_the_minute_rollup_kept_by_ingest(backend, request):
    """Readings posted by a device land in the rollup at once (late ones too), a
    retried batch is not counted twice, and raw and rolled-up buckets agree."""
    world = request.getfixturevalue("world" if backend == "sqlite" else "pg_world")
    server = world.server
    client = server.test_client()
    cid = world.compressors["A"][0]
    org = world.org_ids["A"]
    now = utcnow().replace(microsecond=0)
    base = now - dt.timedelta(days=2)
    batch = [{"seq": i, "ts": int((base + dt.timedelta(seconds=7 * i)).timestamp() * 1000),
              "metrics": {"temperature_c": 4.0 + (i % 5), "current_a": 10.0}}
             for i in range(400)]
    batch[123]["metrics"]["current_a"] = 77.0
    headers = {"Authorization": f"Bearer {world.tokens[cid]}"}
    assert client.post("/api/esp32/data", json=batch, headers=headers).status_code == 201
    assert client.post("/api/esp32/data", json=batch[:200], headers=headers
                       ).get_json() == {"accepted": 0, "duplicates": 200}
    week = TimeRange(now - dt.timedelta(days=7), now)
    frame, width = _series_on(server, org, cid, week)
    assert width == 600
    assert frame["n"].sum() == 400
    assert frame["current_a_max"].max() == pytest.approx(77.0)
    assert frame["temperature_c_min"].min() == pytest.approx(4.0)
    late = {"seq": 9999, "ts": int((base + dt.timedelta(seconds=30)).timestamp() * 1000),
            "metrics": {"temperature_c": -12.5}}
    client.post("/api/esp32/data", json=late, headers=headers)
    frame, _ = _series_on(server, org, cid, week)
    assert frame["n"].sum() == 401 and frame["temperature_c_min"].min() == pytest.approx(-12.5)
    # The same hour read raw (2 s buckets) and from the rollup (1 min buckets) agree.
    hour = TimeRange(base, base + dt.timedelta(hours=1))
    raw, raw_width = _series_on(server, org, cid, hour)
    rolled, rolled_width = _series_on(server, org, cid, hour, max_points=60)
    assert (raw_width, rolled_width) == (2, 60)
    assert raw["n"].sum() == rolled["n"].sum()
    assert raw["temperature_c_max"].max() == rolled["temperature_c_max"].max()
    assert _series_on(server, world.org_ids["B"], cid, week)[0].empty


def test_another_organisations_compressor_page_is_404_and_says_not_found(client, world,
                                                                          dash_app):
    a1 = world.compressors["A"][0]
    world.login(client, "B-viewer")
    assert client.get(f"/compressor/{a1}").status_code == 404
    assert client.get("/compressor/not-a-number").status_code == 404
    resp = call_callback(client, dash_app, "compressor-header.children",
                         {"compressor-id.data": str(a1)})
    assert "compressor-not-found" in ids_in(output_of(resp, "compressor-header", "children"))
    assert output_of(resp, "compressor-body", "style") == {"display": "none"}
    client.post("/logout")
    world.login(client, "A-viewer")
    assert client.get(f"/compressor/{a1}").status_code == 200
    resp = call_callback(client, dash_app, "compressor-header.children",
                         {"compressor-id.data": str(a1)})
    assert "Comp A1" in text_of(output_of(resp, "compressor-header", "children"))


def _sensor_call(client, dash_app, cid, **values):
    base = {"compressor-id.data": str(cid), "compressor-range.value": "24h",
            "compressor-live.value": True}
    base.update({f"compressor-{k}": v for k, v in values.items()})
    return call_callback(client, dash_app, "compressor-sensors.figure", base)


def test_range_picker_changes_resolution_and_bad_ranges_are_messages(client, world, dash_app):
    cid = world.compressors["A"][0]
    with session_scope(dash_app.server) as s:
        add_readings(s, cid, utcnow() - dt.timedelta(minutes=50), 600, step_s=5)
    world.login(client, "A-viewer")
    one_hour = _sensor_call(client, dash_app, cid, **{"range.value": "1h"})
    assert "600" in output_of(one_hour, "compressor-resolution", "children")
    assert len(output_of(one_hour, "compressor-sensors", "figure")["data"]) == 15  # 5 x 3
    day = _sensor_call(client, dash_app, cid, **{"range.value": "24h"})
    assert "1분" in output_of(day, "compressor-resolution", "children")
    today = utcnow().astimezone(dt.timezone(dt.timedelta(hours=9))).date()
    custom = _sensor_call(client, dash_app, cid, **{
        "range.value": "custom", "custom.start_date": str(today - dt.timedelta(days=1)),
        "custom.end_date": str(today)})  # yesterday and today, Seoul calendar
    assert "600" in output_of(custom, "compressor-resolution", "children")
    assert output_of(custom, "compressor-range-error", "is_open") is False
    bad = _sensor_call(client, dash_app, cid, **{"range.value": "custom",
                                                "custom.start_date": "2024-05-03",
                                                "custom.end_date": "2024-05-01"})
    assert output_of(bad, "compressor-range-error", "is_open") is True
    assert "종료일" in output_of(bad, "compressor-range-error", "children")
    garbage = _sensor_call(client, dash_app, cid, **{"range.value": "custom",
                                                    "custom.start_date": "yesterday",
                                                    "custom.end_date": "2024-05-01"})
    assert output_of(garbage, "compressor-range-error", "is_open") is True


def test_timeline_shows_diagnoses_and_notes(client, world, dash_app):
    cid = world.compressors["A"][0]
    now = utcnow()
    with session_scope(dash_app.server) as s:
        add_diagnosis(s, cid, now - dt.timedelta(hours=2), health_score=30.0, label="bearing")
        add_diagnosis(s, cid, now - dt.timedelta(hours=1), health_score=85.0)
        add_note(s, cid, now - dt.timedelta(minutes=90), "Bearing greased")
    world.login(client, "A-viewer")
    resp = call_callback(client, dash_app, "compressor-timeline.figure",
                         {"compressor-id.data": str(cid), "compressor-range.value": "24h"})
    fig = output_of(resp, "compressor-timeline", "figure")
    scores = fig["data"][-1]
    assert list(scores["customdata"]) == ["bearing", "normal"]
    assert scores["marker"]["color"] == ["#ffc107", "#198754"]  # warning, healthy
    assert any(a.get("hovertext") == "Bearing greased" for a in fig["layout"]["annotations"])
    with world.server.app_context():
        from dashboard.core.database import db_session

        frame = diagnosis_series(db_session(), world.org_ids["B"], cid,
                                 TimeRange(now - dt.timedelta(days=1), now))
    assert frame.empty


def _save_note(client, dash_app, cid, text, ts="2024-05-01T09:30", editing=None,
               trigger="compressor-note-save.n_clicks"):
    return call_callback(client, dash_app, "compressor-notes-version.data", {
        "compressor-note-save.n_clicks": 1, "compressor-id.data": str(cid),
        "compressor-note-ts.value": ts, "compressor-note-text.value": text,
        "compressor-note-editing.data": editing, "compressor-notes-version.data": 0,
    }, triggered=trigger)


def _notes(server, cid):
    with session_scope(server) as s:
        return [(n.text, n.ts) for n in s.scalars(
            sa.select(MaintenanceNote).where(MaintenanceNote.compressor_id == cid))]


def test_managers_add_edit_and_delete_notes(client, world, dash_app):
    cid = world.compressors["A"][0]
    world.login(client, "A-manager")
    resp = _save_note(client, dash_app, cid, "Belt replaced")
    assert output_of(resp, "compressor-notes-version", "data") == 1
    # The manager typed Seoul wall-clock time; it is stored in UTC.
    assert _notes(dash_app.server, cid) == [
        ("Belt replaced", dt.datetime(2024, 5, 1, 0, 30, tzinfo=dt.UTC))]
    listing = call_callback(client, dash_app, "compressor-notes.children",
                            {"compressor-id.data": str(cid)})
    assert "Belt replaced" in text_of(output_of(listing, "compressor-notes", "children"))
    with session_scope(dash_app.server) as s:
        note_id = s.scalar(sa.select(MaintenanceNote.id))
    _save_note(client, dash_app, cid, "Belt replaced and tensioned", editing=note_id)
    assert _notes(dash_app.server, cid)[0][0] == "Belt replaced and tensioned"
    empty = _save_note(client, dash_app, cid, "   ")
    assert "작업 내용" in text_of(output_of(empty, "compressor-note-message", "children"))
    _save_note(client, dash_app, cid, "", editing=note_id,
               trigger="compressor-note-delete.n_clicks")
    assert _notes(dash_app.server, cid) == []


def test_viewers_and_other_organisations_cannot_write_notes(client, world, dash_app):
    cid = world.compressors["A"][0]
    with session_scope(dash_app.server) as s:
        note_id = add_note(s, cid, utcnow(), "Original").id
    world.login(client, "A-viewer")
    assert _save_note(client, dash_app, cid, "Viewer note").status_code == 204
    client.post("/logout")
    world.login(client, "B-manager")
    resp = _save_note(client, dash_app, cid, "Hijack", editing=note_id)
    assert "찾을 수 없습니다" in text_of(output_of(resp, "compressor-note-message", "children"))
    assert [t for t, _ in _notes(dash_app.server, cid)] == ["Original"]
    with dash_app.server.test_request_context():
        from dashboard.core.database import db_session

        with pytest.raises(NoteError):
            update_note(db_session(), world.org_ids["B"], note_id, utcnow(), "Hijack")
