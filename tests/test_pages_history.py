"""Diagnosis history on PostgreSQL: server-side paging, sorting and filtering, the
CSV export of the filtered set, analysts' reviews, the daily trend; all scoped by
organisation."""

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import Diagnosis, User
from dashboard.fleet.history import (
    FilterError,
    HistoryFilter,
    daily_health,
    filter_from_args,
    filter_from_model,
    filter_model,
    filter_to_args,
)
from tests.dash_client import call_callback, output_of, text_of
from tests.factories import add_diagnoses

END = dt.datetime(2024, 6, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def history(pg_dash_app, pg_world):
    """300 diagnoses for each of A's compressors (every 10 minutes, one in four a
    "bearing"), 50 for B1."""
    server = pg_dash_app.server
    a1, a2 = pg_world.compressors["A"]
    with session_scope(server) as s:
        add_diagnoses(s, a1, pg_world.org_ids["A"], END, 300)
        add_diagnoses(s, a2, pg_world.org_ids["A"], END, 300)
        add_diagnoses(s, pg_world.compressors["B"][0], pg_world.org_ids["B"], END, 50)
    client = server.test_client()
    return server, client, pg_world


def _rows(client, app, start=0, end=100, sort=None, model=None):
    request = {"startRow": start, "endRow": end, "sortModel": sort or [],
               "filterModel": model or {}}
    resp = call_callback(client, app, "history-grid.getRowsResponse",
                         {"history-grid.getRowsRequest": request})
    return output_of(resp, "history-grid", "getRowsResponse")


def test_grid_pages_sorts_and_filters_on_the_server(history, pg_dash_app):
    _server, client, world = history
    world.login(client, "A-viewer")
    first = _rows(client, pg_dash_app)
    assert first["rowCount"] == 600 and len(first["rowData"]) == 100
    second = _rows(client, pg_dash_app, 100, 200)
    assert not {r["id"] for r in first["rowData"]} & {r["id"] for r in second["rowData"]}
    assert first["rowData"][0]["ts"] >= first["rowData"][-1]["ts"]  # newest first
    by_score = _rows(client, pg_dash_app, sort=[{"colId": "health_score", "sort": "asc"}])
    scores = [r["health_score"] for r in by_score["rowData"]]
    assert scores == sorted(scores) and scores[0] == 41.0
    a1 = world.compressors["A"][0]
    only = _rows(client, pg_dash_app, model=filter_model(HistoryFilter(compressor_id=a1)))
    assert only["rowCount"] == 300 and {r["compressor_id"] for r in only["rowData"]} == {a1}
    bearing = _rows(client, pg_dash_app, model=filter_model(HistoryFilter(label="bearing")))
    assert bearing["rowCount"] == 150
    window = HistoryFilter(start=END - dt.timedelta(hours=1), end=END + dt.timedelta(seconds=1),
                           min_score=85)
    narrow = _rows(client, pg_dash_app, model=filter_model(window))
    # the last hour holds 7 diagnoses per compressor, scores 90..84
    assert narrow["rowCount"] == 12
    assert _rows(client, pg_dash_app, model={"secret": {"filter": 1}})["rowCount"] == 0


def test_each_organisation_sees_only_its_own_rows(history, pg_dash_app):
    _server, client, world = history
    world.login(client, "B-viewer")
    rows = _rows(client, pg_dash_app, 0, 1000)
    assert rows["rowCount"] == 50
    assert {r["compressor_id"] for r in rows["rowData"]} == {world.compressors["B"][0]}
    a1 = world.compressors["A"][0]
    sneaky = _rows(client, pg_dash_app, model=filter_model(HistoryFilter(compressor_id=a1)))
    assert sneaky["rowCount"] == 0


def test_filter_controls_drive_the_grid_the_export_and_the_trend(history, pg_dash_app):
    _server, client, world = history
    world.login(client, "A-analyst")
    a1 = world.compressors["A"][0]
    resp = call_callback(client, pg_dash_app, "history-grid.filterModel", {
        "history-compressor.value": a1, "history-label.value": "bearing",
        "history-dates.start_date": "2024-06-29", "history-dates.end_date": "2024-06-30",
        "history-score.value": [0, 100],
    })
    model = output_of(resp, "history-grid", "filterModel")
    expected = HistoryFilter(compressor_id=a1, label="bearing",
                             start=dt.datetime(2024, 6, 28, 15, tzinfo=dt.UTC),  # Seoul midnight
                             end=dt.datetime(2024, 6, 30, 15, tzinfo=dt.UTC))
    assert filter_from_model(model) == expected
    href = output_of(resp, "history-export", "href")
    assert href.startswith("/export/diagnoses.csv?") and f"compressor={a1}" in href
    # 75 "bearing" clips of A1, less the 8 before Seoul midnight of the 29th
    assert "진단 67건" == output_of(resp, "history-count", "children")
    trend = output_of(resp, "history-trend", "figure")
    assert [t["name"] for t in trend["data"]] == ["Comp A1"]
    bad = call_callback(client, pg_dash_app, "history-grid.filterModel",
                        {"history-dates.start_date": "2024-06-30",
                         "history-dates.end_date": "2024-06-01"})
    assert output_of(bad, "history-filter-error", "is_open") is True


def _csv(resp):
    assert resp.status_code == 200, resp.data[:300]
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


def test_csv_export_streams_the_filtered_set_to_own_analysts(history):
    _server, client, world = history
    a1 = world.compressors["A"][0]
    world.login(client, "A-viewer")
    assert client.get("/export/diagnoses.csv").status_code == 403
    client.post("/logout")
    world.login(client, "A-analyst")
    resp = client.get(f"/export/diagnoses.csv?compressor={a1}&label=bearing")
    assert resp.mimetype == "text/csv" and resp.is_streamed
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = _csv(resp)
    assert len(rows) == 75
    assert {r["compressor"] for r in rows} == {"Comp A1"} and {r["label"] for r in rows} == {
        "bearing"}
    assert len(_csv(client.get("/export/diagnoses.csv"))) == 600
    bad = client.get("/export/diagnoses.csv?min_score=abc")
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_filter"
    client.post("/logout")
    world.login(client, "B-analyst")
    assert client.get(f"/export/diagnoses.csv?compressor={a1}").status_code == 404
    assert {r["compressor"] for r in _csv(client.get("/export/diagnoses.csv"))} == {"Comp B1"}


def _review(client, app, did, verdict, label=None):
    return call_callback(client, app, "history-refresh.data", {
        "history-review-save.n_clicks": 1, "history-grid.selectedRows": [{"id": did}],
        "history-review-verdict.value": verdict, "history-review-label.value": label,
        "history-refresh.data": 0,
    })


def test_analysts_review_diagnoses_and_the_verdict_is_kept(history, pg_dash_app):
    server, client, world = history
    with session_scope(server) as s:
        did = s.scalar(sa.select(Diagnosis.id).where(
            Diagnosis.org_id == world.org_ids["A"], Diagnosis.label == "bearing").limit(1))
    world.login(client, "A-viewer")
    assert _review(client, pg_dash_app, did, "invalid", "belt_slip").status_code == 204
    client.post("/logout")
    world.login(client, "B-analyst")
    refused = _review(client, pg_dash_app, did, "invalid", "belt_slip")
    assert "찾을 수 없습니다" in text_of(output_of(refused, "history-review-message", "children"))
    client.post("/logout")
    world.login(client, "A-analyst")
    same = _review(client, pg_dash_app, did, "invalid", "bearing")
    assert "다른 라벨" in text_of(output_of(same, "history-review-message", "children"))
    saved = _review(client, pg_dash_app, did, "invalid", "belt_slip")
    assert output_of(saved, "history-refresh", "data") == 1
    with session_scope(server) as s:
        d = s.get(Diagnosis, did)
        reviewer = s.get(User, d.reviewed_by_id)
        assert (d.analyst_valid, d.analyst_label, d.label) == (False, "belt_slip", "bearing")
        assert reviewer.email == world.users["A-analyst"] and d.reviewed_at is not None
    relabelled = _rows(client, pg_dash_app, model=filter_model(HistoryFilter(label="belt_slip")))
    assert [r["id"] for r in relabelled["rowData"]] == [did]
    assert relabelled["rowData"][0]["review_text"] == "✗ 틀림"


def test_daily_trend_is_the_mean_per_compressor_and_local_day(history):
    server, _client, world = history
    with server.app_context():
        from dashboard.core.database import db_session

        rows = daily_health(db_session(), world.org_ids["A"],
                            HistoryFilter(compressor_id=world.compressors["A"][0]), "Asia/Seoul")
    assert sum(n for *_rest, n in rows) == 300
    # 300 clips every 10 minutes end at 21:00 Seoul time on 2024-06-30
    assert rows[-1][0] == dt.date(2024, 6, 30) and rows[-1][4] == 127
    assert rows[0][0] == dt.date(2024, 6, 28)


def test_filters_round_trip_and_refuse_nonsense():
    f = HistoryFilter(site_id=3, compressor_id=7, label="bearing",
                      start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                      end=dt.datetime(2024, 2, 1, tzinfo=dt.UTC), min_score=10, max_score=60)
    assert filter_from_model(filter_model(f)) == f
    assert filter_from_args(filter_to_args(f)) == f
    for args in ({"min_score": "x"}, {"min_score": "70", "max_score": "20"},
                 {"label": "DROP TABLE"}, {"start": "yesterday"}, {"max_score": "120"}):
        with pytest.raises(FilterError):
            filter_from_args(args)
