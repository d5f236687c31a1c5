"""Issue 17, finding 5: crafted input that used to answer 500. Each case is what the
probe sent; the answer is now a 4xx or a message, never a 5xx."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import MaintenanceNote
from tests.dash_client import call_callback, output_of


def test_deeply_nested_json_to_the_device_api_is_a_400(client, world):
    cid = world.compressors["A"][0]
    resp = client.post("/api/esp32/data", data="[" * 100_000, content_type="application/json",
                       headers={"Authorization": f"Bearer {world.tokens[cid]}"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed_json"


@pytest.mark.parametrize("editing", ["abc", "1.5", [1], {"x": 1}, "9" * 40, True])
def test_a_forged_note_being_edited_is_a_message(client, world, dash_app, editing):
    cid = world.compressors["A"][0]
    world.login(client, "A-manager")
    resp = call_callback(client, dash_app, "compressor-notes-version.data", {
        "compressor-note-save.n_clicks": 1, "compressor-id.data": str(cid),
        "compressor-note-ts.value": "2024-05-01T09:30", "compressor-note-text.value": "x",
        "compressor-note-editing.data": editing, "compressor-notes-version.data": 0,
    }, triggered="compressor-note-save.n_clicks")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    message = output_of(resp, "compressor-note-message", "children")
    assert message["props"]["className"] == "text-danger"
    with session_scope(dash_app.server) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(MaintenanceNote)) == 0


@pytest.mark.parametrize("start, end", [("x", 100), (1e19, 1e19 + 100), (None, "y"),
                                        (-5, 10**30), ("nan", "inf")])
def test_grid_row_numbers_from_anyone_are_bounded(client, world, dash_app, start, end):
    world.login(client, "A-analyst")
    request = {"startRow": start, "endRow": end, "sortModel": [], "filterModel": {}}
    resp = call_callback(client, dash_app, "history-grid.getRowsResponse",
                         {"history-grid.getRowsRequest": request})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]


@pytest.mark.parametrize("query", [
    "start=9999-12-31T23:59:59-23:59", "end=0001-01-01T00:00:00%2B23:59"])
def test_export_dates_past_the_calendar_are_a_400(client, world, query):
    world.login(client, "A-analyst")
    resp = client.get(f"/export/diagnoses.csv?{query}")
    assert resp.status_code == 400 and resp.get_json()["error"] == "bad_filter"


@pytest.mark.parametrize("start, end", [("0001-01-01", "9999-12-31"),
                                        ("0001-01-01", "0001-01-02"),
                                        ("0001-01-01", "0001-12-31")])
def test_a_custom_range_at_the_ends_of_the_calendar_is_a_message(client, world, dash_app,
                                                                 start, end):
    cid = world.compressors["A"][0]
    world.login(client, "A-viewer")
    resp = call_callback(client, dash_app, "compressor-sensors.figure", {
        "compressor-id.data": str(cid), "compressor-range.value": "custom",
        "compressor-custom.start_date": start, "compressor-custom.end_date": end,
        "compressor-live.value": True})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert output_of(resp, "compressor-range-error", "is_open") is True


def test_history_date_pickers_at_the_ends_of_the_calendar_refuse():
    from dashboard.fleet.history import FilterError, local_day_range

    for start, end in (("0001-01-01", None), (None, "9999-12-31"), ("0001-01-01", "9999-12-31")):
        for tz in ("Asia/Seoul", "America/Los_Angeles", "Pacific/Kiritimati", "UTC"):
            try:
                local_day_range(start, end, tz)
            except FilterError:
                pass
    assert local_day_range("2024-05-01", None, "Asia/Seoul")[0] == dt.datetime(
        2024, 4, 30, 15, tzinfo=dt.UTC)
