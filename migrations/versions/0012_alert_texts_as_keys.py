"""alert texts from before 0010 ("English · 한국어") rewritten as the message keys the
app translates at display

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Before 0010 the alert engine stored its titles, details and automatic comments in both
languages, "Health warning · 설비 상태 주의 — Chiller 2", "No data for 12 min (last seen
... UTC) · 12분 동안 수신 없음"; 0010 renamed the default rules but left the alerts
already written, so their rows still show both languages. Each such text is parsed from
its English half (the formats of dashboard/alerts/conditions.py and engine.py before
0010) and stored as the key the engine writes now (``dashboard.alerts.messages.keyed``,
the same JSON); a machine-written text in no known format keeps its English half.
Comments people wrote (acknowledge, resolve) are left as they are, except the engine's
own "Condition clear" comment. The downgrade leaves the keys: revision 0011's code
shows them.
"""
import json
import re

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SEPARATOR = " · "
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# The default rules' names before 0010 (0010's OLD_NAMES): now catalogue keys.
OLD_RULE_NAMES = {
    'Device silent · 장치 무응답': 'Device silent',
    'Health warning · 설비 상태 주의': 'Health warning',
    'Likely fault · 고장 가능성': 'Likely fault',
    'Unusual sound · 이상 소음': 'Unusual sound',
    'High vibration · 진동 과다': 'High vibration',
}
# dashboard.core.status.STATUS_LABELS: the status as the detail names it now.
STATUS_LABELS = {"healthy": "Healthy", "watch": "Watch", "warning": "Warning",
                 "critical": "Critical", "learning": "Learning", "offline": "Offline"}


def keyed(msgid, translate=(), **params):
    """dashboard.alerts.messages.keyed, as of this revision."""
    return json.dumps({"msg": msgid, "params": params, "tr": list(translate)},
                      ensure_ascii=False, separators=(",", ":"))


def _status(m):
    status = m["status"]
    return keyed("Status %(status)s, health %(health)s, diagnosis %(label)s",
                 translate=("status",), status=STATUS_LABELS.get(status, status),
                 health=m["health"], label=m["label"])


def _sensor(m):
    msgid = ("%(metric)s %(value)s %(unit)s above %(limit)s %(unit)s for %(minutes)s min"
             if m["op"] == "above" else
             "%(metric)s %(value)s %(unit)s below %(limit)s %(unit)s for %(minutes)s min")
    return keyed(msgid, translate=("metric",), metric=m["metric"], value=m["value"],
                 unit=m["unit"], limit=m["limit"], minutes=int(m["minutes"]))


# (English half of an old detail, its key now)
DETAILS = (
    (re.compile(r"Status (?P<status>\w+), health (?P<health>-?\d+), diagnosis (?P<label>.+)"),
     _status),
    (re.compile(r"P\((?P<fault>.+)\) = (?P<p>[\d.]+) > (?P<threshold>[\d.]+)"),
     lambda m: keyed("Probability of %(fault)s %(p)s > %(threshold)s", fault=m["fault"],
                     p=m["p"], threshold=m["threshold"])),
    (re.compile(r"Anomaly score (?P<score>\S+) above the compressor's baseline"),
     lambda m: keyed("Anomaly score %(score)s above the compressor's baseline",
                     score=m["score"])),
    (re.compile(r"Never heard from since registration"),
     lambda m: keyed("Never heard from since registration")),
    (re.compile(r"No data for (?P<minutes>\d+) min \(last seen .+ UTC\)"),
     lambda m: keyed("No data for %(minutes)s min", minutes=int(m["minutes"]))),
    (re.compile(r"(?P<metric>.+) (?P<value>\S+) (?P<unit>\S*) ?(?P<op>above|below) "
                r"(?P<limit>\S+) (?P=unit) ?for (?P<minutes>\d+) min"), _sensor),
)
CLEAR = re.compile(r"Condition clear for (?P<count>\d+) evaluations")


def _english(text):
    """The English half of a two-language text, or None when it is not one."""
    if not text or SEPARATOR not in text or text.startswith('{"msg":'):
        return None
    english, other = text.rsplit(SEPARATOR, 1)
    return english if HANGUL.search(other) else None


def rewritten_title(text):
    for old, name in OLD_RULE_NAMES.items():
        prefix = f"{old} — "
        if text and text.startswith(prefix):
            return keyed("%(rule)s — %(compressor)s", translate=("rule",), rule=name,
                         compressor=text[len(prefix):])
    return None


def rewritten_detail(text):
    english = _english(text)
    if english is None:
        return None
    for pattern, key in DETAILS:
        m = pattern.fullmatch(english)
        if m:
            return key(m)
    return english


def rewritten_comment(text):
    english = _english(text)
    m = CLEAR.fullmatch(english) if english is not None else None
    return keyed("Condition clear for %(count)s evaluations", count=int(m["count"])) \
        if m else None


def _rewrite(conn, table, column, rewrite, where=None):
    t = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.Text),
                 sa.column('kind', sa.String))
    query = sa.select(t.c.id, t.c[column]).where(t.c[column].like(f"%{SEPARATOR}%"))
    if where is not None:
        query = query.where(where(t))
    for row_id, text in conn.execute(query).all():
        new = rewrite(text)
        if new is not None and new != text:
            conn.execute(t.update().where(t.c.id == row_id).values({column: new}))


def upgrade() -> None:
    conn = op.get_bind()
    _rewrite(conn, 'alert', 'title', rewritten_title)
    _rewrite(conn, 'alert', 'detail', rewritten_detail)
    _rewrite(conn, 'alert', 'resolve_comment', rewritten_comment)
    # Events: what fired (the alert's detail then) and the engine's own resolve comment;
    # people's acknowledge and resolve comments stay as written.
    _rewrite(conn, 'alert_event', 'detail', rewritten_detail,
             lambda t: t.c.kind == "fired")
    _rewrite(conn, 'alert_event', 'detail', rewritten_comment,
             lambda t: t.c.kind == "auto_resolved")


def downgrade() -> None:
    pass
