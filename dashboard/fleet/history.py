"""Diagnosis history: one filter shape (``HistoryFilter``) shared by the grid, the
trend chart and the CSV export; server-side paging and sorting over 100k+ rows;
analysts' reviews. Every query is scoped by the organisation.

The grid carries the filter as an AG Grid filter model (so changing it makes the
grid fetch again), the export link as query parameters; both convert to and
from ``HistoryFilter`` here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.i18n import _
from dashboard.core.models import Compressor, Diagnosis, Site, User, utcnow
from dashboard.core.timezones import local_text, zone

KNOWN_LABELS = ("normal", "bearing", "valve_leak", "belt_slip", "electrical_hum")
LABEL_PATTERN = re.compile(r"^[a-z0-9_]{1,60}$")
SORTABLE = {
    "ts": Diagnosis.ts, "label": Diagnosis.label, "confidence": Diagnosis.confidence,
    "health_score": Diagnosis.health_score, "anomaly_score": Diagnosis.anomaly_score,
    "status": Diagnosis.status, "analyst_label": Diagnosis.analyst_label,
}
MAX_PAGE = 1000


class FilterError(ValueError):
    """A filter value that makes no sense; the message is for people."""


@dataclass(frozen=True)
class HistoryFilter:
    site_id: int | None = None
    compressor_id: int | None = None
    label: str | None = None
    start: dt.datetime | None = None  # UTC, inclusive
    end: dt.datetime | None = None  # UTC, exclusive
    min_score: float | None = None
    max_score: float | None = None

    def validated(self) -> HistoryFilter:
        if self.label is not None and not LABEL_PATTERN.match(self.label):
            raise FilterError(_("Unknown label."))
        for score in (self.min_score, self.max_score):
            if score is not None and not 0 <= score <= 100:
                raise FilterError(_("Scores are between 0 and 100."))
        if (self.min_score is not None and self.max_score is not None
                and self.min_score > self.max_score):
            raise FilterError(_("The minimum score is above the maximum."))
        if self.start and self.end and self.end <= self.start:
            raise FilterError(_("The end date must be after the start."))
        return self


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise FilterError(_("Not a number: %(value)s", value=value)) from exc


def _float(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise FilterError(_("Not a number: %(value)s", value=value)) from exc
    if number != number:  # NaN
        raise FilterError(_("Not a number."))
    return number


def _time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        # 9999-12-31T23:59:59-23:59 is past the last representable UTC instant
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise FilterError(_("Not a date: %(value)s", value=value)) from exc


def filter_from_args(args: Mapping[str, Any]) -> HistoryFilter:
    """From query parameters (export link): site, compressor, label, start, end
    (ISO 8601, UTC when no offset), min_score, max_score."""
    return HistoryFilter(
        site_id=_int(args.get("site")), compressor_id=_int(args.get("compressor")),
        label=(args.get("label") or None), start=_time(args.get("start")),
        end=_time(args.get("end")), min_score=_float(args.get("min_score")),
        max_score=_float(args.get("max_score")),
    ).validated()


def filter_to_args(f: HistoryFilter) -> dict[str, str]:
    names = {"site_id": "site", "compressor_id": "compressor"}
    out: dict[str, str] = {}
    for item in fields(f):
        value = getattr(f, item.name)
        if value is None:
            continue
        out[names.get(item.name, item.name)] = (value.isoformat() if isinstance(value, dt.datetime)
                                                 else str(value))
    return out


def local_day_range(start_date: str | None, end_date: str | None, tz: str
                    ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Dates picked in the user's zone -> UTC [first midnight, midnight after the end)."""
    def midnight(value: str) -> dt.datetime:
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError as exc:
            raise FilterError(_("Not a date: %(value)s", value=value)) from exc
        try:
            return dt.datetime.combine(day, dt.time(), zone(tz)).astimezone(dt.UTC)
        except OverflowError as exc:
            raise FilterError(_("Not a date: %(value)s", value=value)) from exc

    start = midnight(start_date) if start_date else None
    try:
        end = midnight(end_date) + dt.timedelta(days=1) if end_date else None
    except OverflowError as exc:
        raise FilterError(_("Not a date: %(value)s", value=end_date)) from exc
    return start, end


# A hidden grid column that filters nothing: its value changes after a review so
# the filter model changes and the grid fetches its rows again (re-setting an
# equal model does not make AG Grid's infinite row model reload).
REFRESH_COLUMN = "refresh"


def filter_model(f: HistoryFilter, refresh: int = 0) -> dict[str, Any]:
    """The AG Grid filter model of ``f`` (columns site_id and compressor_id are hidden)."""
    model: dict[str, Any] = {}
    if refresh:
        model[REFRESH_COLUMN] = {"filterType": "number", "type": "notEqual", "filter": -refresh}
    if f.site_id is not None:
        model["site_id"] = {"filterType": "number", "type": "equals", "filter": f.site_id}
    if f.compressor_id is not None:
        model["compressor_id"] = {"filterType": "number", "type": "equals",
                                  "filter": f.compressor_id}
    if f.label is not None:
        model["label"] = {"filterType": "text", "type": "equals", "filter": f.label}
    if f.start is not None or f.end is not None:
        model["ts"] = {"filterType": "date", "type": "inRange",
                       "dateFrom": f.start.isoformat() if f.start else None,
                       "dateTo": f.end.isoformat() if f.end else None}
    if f.min_score is not None or f.max_score is not None:
        model["health_score"] = {"filterType": "number", "type": "inRange",
                                 "filter": f.min_score, "filterTo": f.max_score}
    return model


def filter_from_model(model: Mapping[str, Any] | None) -> HistoryFilter:
    """Inverse of ``filter_model``; anything else in the model is refused."""
    f = HistoryFilter()
    for column, spec in (model or {}).items():
        if not isinstance(spec, Mapping):
            raise FilterError(_("Bad filter."))
        if column == REFRESH_COLUMN:
            continue
        if column in ("site_id", "compressor_id"):
            f = replace(f, **{column: _int(spec.get("filter"))})
        elif column == "label":
            f = replace(f, label=str(spec.get("filter") or "") or None)
        elif column == "ts":
            f = replace(f, start=_time(spec.get("dateFrom")), end=_time(spec.get("dateTo")))
        elif column == "health_score":
            f = replace(f, min_score=_float(spec.get("filter")),
                        max_score=_float(spec.get("filterTo")))
        else:
            raise FilterError(_("Cannot filter on %(column)s.", column=column))
    return f.validated()


def _conditions(org_id: int, f: HistoryFilter) -> list[sa.ColumnElement]:
    where: list[sa.ColumnElement] = [Diagnosis.org_id == org_id]
    if f.compressor_id is not None:
        where.append(Diagnosis.compressor_id == f.compressor_id)
    if f.site_id is not None:
        where.append(Diagnosis.compressor_id.in_(
            sa.select(Compressor.id).where(Compressor.site_id == f.site_id,
                                           Compressor.org_id == org_id)))
    if f.label is not None:
        where.append(sa.func.coalesce(Diagnosis.analyst_label, Diagnosis.label) == f.label)
    if f.start is not None:
        where.append(Diagnosis.ts >= f.start)
    if f.end is not None:
        where.append(Diagnosis.ts < f.end)
    if f.min_score is not None:
        where.append(Diagnosis.health_score >= f.min_score)
    if f.max_score is not None:
        where.append(Diagnosis.health_score <= f.max_score)
    return where


def _order(sort_model: list[Mapping[str, Any]] | None) -> list[sa.ColumnElement]:
    order = []
    for item in sort_model or []:
        column = SORTABLE.get(str(item.get("colId")))
        if column is None:
            continue
        order.append(column.desc().nulls_last() if item.get("sort") == "desc"
                     else column.asc().nulls_last())
    # Newest first by default; the id makes the order total, so pages never overlap.
    return order + [Diagnosis.ts.desc(), Diagnosis.id.desc()]


def count_diagnoses(session: Session, org_id: int, f: HistoryFilter) -> int:
    return int(session.scalar(
        sa.select(sa.func.count()).select_from(Diagnosis).where(*_conditions(org_id, f))) or 0)


def _row_select() -> sa.Select:
    return (
        sa.select(Diagnosis.id, Diagnosis.ts, Site.name, Compressor.name, Diagnosis.compressor_id,
                  Diagnosis.label, Diagnosis.confidence, Diagnosis.health_score, Diagnosis.status,
                  Diagnosis.anomaly_score, Diagnosis.is_anomaly, Diagnosis.analyst_label,
                  Diagnosis.analyst_valid, Diagnosis.reviewed_at, Diagnosis.recording_id)
        .join(Compressor, Compressor.id == Diagnosis.compressor_id)
        .join(Site, Site.id == Compressor.site_id)
    )


ROW_KEYS = ("id", "ts", "site", "compressor", "compressor_id", "label", "confidence",
            "health_score", "status", "anomaly_score", "is_anomaly", "analyst_label",
            "analyst_valid", "reviewed_at", "recording_id")


MAX_ROW = 10**9  # an AG Grid row number past this is not a real request


def _row_number(value: Any, default: int) -> int:
    """AG Grid's startRow/endRow as sent by anyone: "x", 1e19 and None give the default
    or a bounded number, never a ValueError or a database overflow."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    if number != number or number in (float("inf"), float("-inf")):
        return default
    return int(max(-1, min(number, MAX_ROW + MAX_PAGE)))


def history_page(session: Session, org_id: int, f: HistoryFilter,
                 sort_model: list[Mapping[str, Any]] | None, start_row: int, end_row: int,
                 tz: str | None = "UTC") -> tuple[list[dict[str, Any]], int]:
    """Rows ``[start_row, end_row)`` in the requested order, and the total count."""
    start_row = max(0, min(_row_number(start_row, 0), MAX_ROW))
    limit = max(0, min(_row_number(end_row, start_row + 100) - start_row, MAX_PAGE))
    where = _conditions(org_id, f)
    # Page the narrow diagnosis rows first, then join names for just this page.
    page_ids = (sa.select(Diagnosis.id).where(*where).order_by(*_order(sort_model))
                .offset(start_row).limit(limit))
    ids = list(session.scalars(page_ids))
    total = count_diagnoses(session, org_id, f)
    if not ids:
        return [], total
    by_id = {row[0]: row for row in session.execute(_row_select().where(Diagnosis.id.in_(ids)))}
    rows = []
    for did in ids:
        values = dict(zip(ROW_KEYS, by_id[did], strict=True))
        values["ts"] = local_text(values["ts"], tz, "%Y-%m-%d %H:%M:%S")
        values["reviewed_at"] = (local_text(values["reviewed_at"], tz)
                                 if values["reviewed_at"] else None)
        rows.append(values)
    return rows, total


def iter_history_rows(session: Session, org_id: int, f: HistoryFilter, batch: int = 2000
                      ) -> Iterator[tuple[Any, ...]]:
    """Every row of the filtered set, newest first, fetched in batches (the CSV
    export streams 100k rows without holding them)."""
    stmt = (_row_select().where(*_conditions(org_id, f))
            .order_by(Diagnosis.ts.desc(), Diagnosis.id.desc())
            .execution_options(yield_per=batch))
    yield from session.execute(stmt)


def label_options(session: Session, org_id: int) -> list[str]:
    found = session.scalars(
        sa.select(Diagnosis.label).where(Diagnosis.org_id == org_id).distinct())
    return sorted(set(KNOWN_LABELS) | {label for label in found if label})


@dataclass(frozen=True)
class DiagnosisDetail:
    id: int
    ts: dt.datetime
    compressor_id: int
    compressor: str
    site: str
    label: str
    confidence: float
    health_score: float
    status: str
    probabilities: dict[str, float]
    features: dict[str, float]
    analyst_label: str | None
    analyst_valid: bool | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    recording_id: int | None


def diagnosis_detail(session: Session, org_id: int, diagnosis_id: Any) -> DiagnosisDetail | None:
    try:
        did = int(diagnosis_id)
    except (TypeError, ValueError):
        return None
    row = session.execute(
        sa.select(Diagnosis, Compressor.name, Site.name, User.email)
        .join(Compressor, Compressor.id == Diagnosis.compressor_id)
        .join(Site, Site.id == Compressor.site_id)
        .outerjoin(User, User.id == Diagnosis.reviewed_by_id)
        .where(Diagnosis.id == did, Diagnosis.org_id == org_id)
    ).first()
    if row is None:
        return None
    d, compressor, site, reviewer = row
    return DiagnosisDetail(
        id=d.id, ts=d.ts, compressor_id=d.compressor_id, compressor=compressor, site=site,
        label=d.label, confidence=d.confidence, health_score=d.health_score, status=d.status,
        probabilities=dict(d.probabilities or {}), features=dict(d.features_summary or {}),
        analyst_label=d.analyst_label, analyst_valid=d.analyst_valid, reviewed_by=reviewer,
        reviewed_at=d.reviewed_at, recording_id=d.recording_id,
    )


def review_diagnosis(session: Session, org_id: int, diagnosis_id: int, reviewer_id: int,
                     valid: bool, correct_label: str | None) -> Diagnosis:
    """An analyst's verdict, kept for retraining: valid keeps the model's label as
    the truth; invalid needs the correct (different) label."""
    diagnosis = session.scalar(sa.select(Diagnosis).where(
        Diagnosis.id == diagnosis_id, Diagnosis.org_id == org_id))
    if diagnosis is None:
        raise FilterError(_("Diagnosis not found."))
    if valid:
        label = diagnosis.label
    else:
        label = (correct_label or "").strip()
        if not LABEL_PATTERN.match(label):
            raise FilterError(_("Choose the correct label."))
        if label == diagnosis.label:
            raise FilterError(_("An invalid diagnosis needs a label different from the model's."))
    diagnosis.analyst_valid = valid
    diagnosis.analyst_label = label
    diagnosis.reviewed_by_id = reviewer_id
    diagnosis.reviewed_at = utcnow()
    session.commit()
    return diagnosis


def daily_health(session: Session, org_id: int, f: HistoryFilter, tz: str | None = "UTC"
                 ) -> list[tuple[dt.date, int, str, float, int]]:
    """Daily mean health score per compressor over the filtered set, in the user's
    calendar days: ``(day, compressor id, compressor name, mean, count)``."""
    name = zone(tz).key
    if session.get_bind().dialect.name == "postgresql":
        day = sa.func.date(sa.func.timezone(name, Diagnosis.ts))
    else:
        # SQLite has no zone database: shift by the zone's current UTC offset.
        offset = int((utcnow().astimezone(zone(tz)).utcoffset() or dt.timedelta()).total_seconds())
        day = sa.func.date(Diagnosis.ts, f"{offset:+d} seconds")
    day = day.label("day")
    per_day = (
        sa.select(day, Diagnosis.compressor_id.label("cid"),
                  sa.func.avg(Diagnosis.health_score).label("mean"),
                  sa.func.count().label("n"))
        .where(*_conditions(org_id, f))
        .group_by(day, Diagnosis.compressor_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(per_day.c.day, per_day.c.cid, Compressor.name, per_day.c.mean, per_day.c.n)
        .join(Compressor, Compressor.id == per_day.c.cid)
        .order_by(per_day.c.day)
    )
    out = []
    for d, cid, cname, mean, n in rows:
        day_value = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
        out.append((day_value, int(cid), cname, float(mean), int(n)))
    return out
