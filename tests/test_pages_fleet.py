"""The live health page's callback: grouped by site, counts per status, filters,
offline detection, sparklines from one aggregate query, compact tiles for big fleets."""

import datetime as dt
import gzip
import json

import pytest
import sqlalchemy as sa

from dashboard.accounts.provisioning import add_compressor, get_or_create_site
from dashboard.core.database import engine_for, session_scope
from dashboard.core.models import Organization, utcnow
from dashboard.fleet.overview import health_sparklines
from tests.dash_client import call_callback, ids_in, output_of, text_of
from tests.factories import add_diagnosis, set_compressor_state


def _refresh(client, app, **values):
    keyed = {f"health-{k}.value": v for k, v in values.items()}
    return call_callback(client, app, "health-grid.children",
                         {"health-interval.n_intervals": 1, **keyed})


def _online(server, cid, status="healthy", score=88.0, **extra):
    with session_scope(server) as s:
        set_compressor_state(s, cid, status=status, health_score=score, last_seen_at=utcnow(),
                             **extra)


def test_fleet_shows_status_counts_and_offline_devices(client, world, dash_app):
    a1, a2 = world.compressors["A"]
    _online(dash_app.server, a1, status="warning", score=40.0, suspected_fault="bearing")
    world.login(client, "A-viewer")
    resp = _refresh(client, dash_app)
    grid = output_of(resp, "health-grid", "children")
    assert {f"health-card-{a1}", f"health-card-{a2}"} <= ids_in(grid)
    assert "bearing" in text_of(grid)
    counts = output_of(resp, "health-counts", "children")
    assert {"health-count-warning", "health-count-offline"} == ids_in(counts)
    assert "오프라인: 1" in text_of(counts)  # never heard from: offline, not "learning"


def test_fleet_refresh_is_compressed_for_browsers_that_accept_it(client, world, dash_app):
    world.login(client, "A-viewer")
    plain = _refresh(client, dash_app)
    packed = call_callback(client, dash_app, "health-grid.children",
                           {"health-interval.n_intervals": 1},
                           headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert len(packed.data) < len(plain.data)
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()


def test_status_and_site_filters_narrow_the_grid(client, world, dash_app):
    a1, a2 = world.compressors["A"]
    _online(dash_app.server, a1, status="critical", score=10.0)
    with session_scope(dash_app.server) as s:
        org = s.get(Organization, world.org_ids["A"])
        other = add_compressor(s, get_or_create_site(s, org, "Site A-2"), "Other site comp")
        other_id = other.id
    world.login(client, "A-viewer")
    grid = output_of(_refresh(client, dash_app, status=["critical"]), "health-grid", "children")
    assert f"health-card-{a1}" in ids_in(grid)
    assert f"health-card-{a2}" not in ids_in(grid)
    sites = output_of(call_callback(client, dash_app, "health-site.options"),
                      "health-site", "options")
    site2 = next(o["value"] for o in sites if o["label"] == "Site A-2")
    grid = output_of(_refresh(client, dash_app, site=site2), "health-grid", "children")
    assert ids_in(grid) & {f"health-card-{a1}", f"health-card-{a2}", f"health-card-{other_id}"} \
        == {f"health-card-{other_id}"}
    none = output_of(_refresh(client, dash_app, status=["watch"]), "health-grid", "children")
    assert "health-no-match" in ids_in(none)


def test_cards_link_to_the_compressor_page_and_carry_a_sparkline(client, world, dash_app):
    a1, _ = world.compressors["A"]
    _online(dash_app.server, a1)
    now = utcnow()
    with session_scope(dash_app.server) as s:
        for hours, score in ((20, 90.0), (10, 60.0), (1, 30.0)):
            add_diagnosis(s, a1, now - dt.timedelta(hours=hours), health_score=score)
    world.login(client, "A-viewer")
    grid = output_of(_refresh(client, dash_app, view="cards"), "health-grid", "children")
    text = json.dumps(grid)
    assert f"/compressor/{a1}" in text
    assert "data:image/svg+xml" in text and "polyline" in text


def test_sparklines_bucket_each_compressor_and_skip_other_orgs(app, world):
    a1, a2 = world.compressors["A"]
    b1 = world.compressors["B"][0]
    now = utcnow()
    with session_scope(app) as s:
        add_diagnosis(s, a1, now - dt.timedelta(minutes=30), health_score=80.0)
        add_diagnosis(s, a1, now - dt.timedelta(minutes=20), health_score=60.0)
        add_diagnosis(s, a1, now - dt.timedelta(hours=23, minutes=30), health_score=20.0)
        add_diagnosis(s, a1, now - dt.timedelta(hours=30), health_score=5.0)  # too old
        add_diagnosis(s, b1, now - dt.timedelta(minutes=5), health_score=50.0)
    with app.app_context():
        from dashboard.core.database import db_session

        lines = health_sparklines(db_session(), world.org_ids["A"], now)
    assert set(lines) == {a1}
    assert lines[a1][-1] == pytest.approx(70.0)  # the newest hour: mean of 80 and 60
    assert lines[a1][0] == pytest.approx(20.0)
    assert lines[a1][1:-1] == [None] * 22
    assert a2 not in lines


def test_big_fleet_is_two_queries_and_compact(pg_dash_app, pg_world):
    server = pg_dash_app.server
    with session_scope(server) as s:
        org = s.get(Organization, pg_world.org_ids["A"])
        for site_no in range(3):
            site = get_or_create_site(s, org, f"Plant {site_no}")
            for n in range(40):
                add_compressor(s, site, f"C{site_no}-{n:02d}")
    client = server.test_client()
    pg_world.login(client, "A-viewer")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = engine_for(server)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        resp = _refresh(client, pg_dash_app)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    grid = output_of(resp, "health-grid", "children")
    assert sum("health-card-" in i for i in ids_in(grid)) == 122
    assert "sc-tile" in str(grid)  # > 60 compressors: compact tiles by default
    data_queries = [q for q in statements if "FROM compressor" in q or "FROM diagnosis" in q]
    assert len(data_queries) <= 2, data_queries


def test_the_updated_time_is_in_the_users_own_zone_and_named(client, world, dash_app):
    from dashboard.core.models import User

    with session_scope(dash_app.server) as s:
        s.scalar(sa.select(User).where(User.email == world.users["A-viewer"])).timezone = \
            "Asia/Seoul"
    world.login(client, "A-viewer")
    updated = text_of(output_of(_refresh(client, dash_app), "health-updated", "children"))
    assert "KST" in updated and "UTC" not in updated
    shown = dt.datetime.strptime(updated.split()[0], "%H:%M:%S").time()
    seoul = (utcnow() + dt.timedelta(hours=9)).replace(tzinfo=None)
    delta = abs(dt.datetime.combine(seoul.date(), shown) - seoul)
    assert min(delta, dt.timedelta(days=1) - delta) < dt.timedelta(minutes=2)
