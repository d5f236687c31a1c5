"""Migration 0012: alert rows written before 0010 in two languages ("Health warning ·
설비 상태 주의 — Chiller 2") are rewritten as the keys the engine stores now, so each
reader sees their own language only; people's comments stay as written. On SQLite and
PostgreSQL."""

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard.alerts.messages import keyed, shown
from dashboard.core.i18n import N_
from dashboard.core.migrations import downgrade, upgrade

OLD_ROWS = [  # (title, detail, resolve_comment) as the engine wrote them before 0010
    ("Health warning · 설비 상태 주의 — Chiller 2",
     "Status warning, health 45, diagnosis bearing · 상태 warning, 건강 점수 45, 진단 bearing",
     "Condition clear for 3 evaluations · 3회 연속 정상"),
    ("Likely fault · 고장 가능성 — Chiller 2",
     "P(bearing) = 0.91 > 0.70 · bearing 확률 0.91 > 0.70", None),
    ("Unusual sound · 이상 소음 — Booster",
     "Anomaly score 2.31 above the compressor's baseline · 이상 점수 2.31, 기준선 초과",
     "Bearing replaced · 베어링 교체"),
    ("Device silent · 장치 무응답 — Freezer room B",
     "No data for 12 min (last seen 2026-11-30 08:01 UTC) · 12분 동안 수신 없음", None),
    ("Device silent · 장치 무응답 — Air compressor 1",
     "Never heard from since registration · 등록 후 수신 없음", None),
    ("High vibration · 진동 과다 — Booster",
     "Vibration RMS 0.52 g above 0.35 g for 11 min · 진동 RMS 0.52 g, 0.35 g 초과 11분 지속", None),
    ("My own rule — Booster", "Something odd · 뭔가 이상", None),
]


def _expected():
    title = N_("%(rule)s — %(compressor)s")
    return [
        (keyed(title, translate=("rule",), rule="Health warning", compressor="Chiller 2"),
         keyed(N_("Status %(status)s, health %(health)s, diagnosis %(label)s"),
               translate=("status",), status="Warning", health="45", label="bearing"),
         keyed(N_("Condition clear for %(count)s evaluations"), count=3)),
        (keyed(title, translate=("rule",), rule="Likely fault", compressor="Chiller 2"),
         keyed(N_("Probability of %(fault)s %(p)s > %(threshold)s"), fault="bearing",
               p="0.91", threshold="0.70"), None),
        (keyed(title, translate=("rule",), rule="Unusual sound", compressor="Booster"),
         keyed(N_("Anomaly score %(score)s above the compressor's baseline"), score="2.31"),
         "Bearing replaced · 베어링 교체"),  # a person's comment: as written
        (keyed(title, translate=("rule",), rule="Device silent", compressor="Freezer room B"),
         keyed(N_("No data for %(minutes)s min"), minutes=12), None),
        (keyed(title, translate=("rule",), rule="Device silent",
               compressor="Air compressor 1"),
         keyed(N_("Never heard from since registration")), None),
        (keyed(title, translate=("rule",), rule="High vibration", compressor="Booster"),
         keyed(N_("%(metric)s %(value)s %(unit)s above %(limit)s %(unit)s for %(minutes)s min"),
               translate=("metric",), metric="Vibration RMS", value="0.52", unit="g",
               limit="0.35", minutes=11), None),
        ("My own rule — Booster", "Something odd", None),
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    url = request.getfixturevalue("pg_url")
    yield url
    upgrade(url)  # leave the shared database at head whatever happened


def test_two_language_alert_texts_become_keys(any_url, app):
    engine = sa.create_engine(any_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(any_url, "0011")
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organization (name, created_at) VALUES ('o', :t)"),
                     {"t": now})
        conn.execute(sa.text("INSERT INTO site (org_id, name, timezone, created_at) "
                             "VALUES (1, 's', 'UTC', :t)"), {"t": now})
        conn.execute(sa.text(
            "INSERT INTO compressor (org_id, site_id, name, kind, hw_model, status, "
            "last_metrics, created_at) VALUES (1, 1, 'c', 'air', 'x', 'active', '{}', :t)"),
            {"t": now})
        for i, (title, detail, comment) in enumerate(OLD_ROWS, start=1):
            conn.execute(sa.text(
                "INSERT INTO alert (org_id, compressor_id, severity, state, title, detail, "
                "count, opened_at, last_seen_at, resolve_comment, escalation_level, "
                "clear_count) VALUES (1, 1, 'warning', :state, :title, :detail, 1, :t, :t, "
                ":comment, 0, 0)"),
                {"state": "resolved" if comment else "open", "title": title,
                 "detail": detail, "comment": comment, "t": now})
            conn.execute(sa.text("INSERT INTO alert_event (alert_id, ts, kind, detail) "
                                 "VALUES (:a, :t, 'fired', :d)"), {"a": i, "t": now, "d": detail})
            if comment:
                kind = "auto_resolved" if comment.startswith("Condition") else "resolved"
                conn.execute(sa.text("INSERT INTO alert_event (alert_id, ts, kind, detail) "
                                     "VALUES (:a, :t, :k, :d)"),
                             {"a": i, "t": now, "k": kind, "d": comment})
    upgrade(any_url)
    expected = _expected()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT title, detail, resolve_comment FROM alert "
                                    "ORDER BY id")).all()
        assert [tuple(r) for r in rows] == expected
        events = conn.execute(sa.text("SELECT alert_id, kind, detail FROM alert_event "
                                      "ORDER BY id")).all()
    for alert_id, kind, detail in events:
        title, fired, comment = expected[alert_id - 1]
        assert detail == (fired if kind == "fired" else comment)
    with app.app_context():  # each reader sees one language
        assert shown(rows[0].title, "en") == "Health warning — Chiller 2"
        assert shown(rows[0].title, "ko") == "설비 상태 주의 — Chiller 2"
        assert shown(rows[3].detail, "en") == "No data for 12 min"
        for row in rows[:6]:
            for text in (row.title, row.detail):
                assert " · " not in shown(text, "en") and " · " not in shown(text, "ko")
    # Down and up again: the keys stay keys.
    downgrade(any_url, "0011")
    upgrade(any_url)
    with engine.connect() as conn:
        again = conn.execute(sa.text("SELECT title, detail, resolve_comment FROM alert "
                                     "ORDER BY id")).all()
    assert [tuple(r) for r in again] == expected
    engine.dispose()
