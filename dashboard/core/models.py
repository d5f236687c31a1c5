"""The data model (DESIGN.md): organisation -> site -> compressor, users, device
credentials, readings, recordings, diagnoses, model versions, alerts, notification
deliveries and firmware releases. The schema is created only by Alembic migrations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from sqlalchemy.dialects import postgresql

from dashboard.core.database import Base
from dashboard.core.i18n import DEFAULT_TIME_ZONE, N_
from dashboard.core.sealed import SealedString

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


ROLES = ("viewer", "analyst", "manager", "admin")
ROLE_RANK = {name: rank for rank, name in enumerate(ROLES)}
ROLE_LABELS = {"viewer": N_("Viewer"), "analyst": N_("Analyst"), "manager": N_("Manager"),
               "admin": N_("Admin")}
RECORDING_STATES = ("queued", "analyzing", "done", "failed")


class Organization(Base):
    __tablename__ = "organization"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # Set by a platform operator (dashboard/accounts/suspension.py): its users and
    # devices are refused while set; nothing is deleted.
    suspended_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    suspended_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))

    sites: so.Mapped[list[Site]] = so.relationship(back_populates="organization")


class Site(Base):
    __tablename__ = "site"
    __table_args__ = (sa.UniqueConstraint("org_id", "name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    location: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default=DEFAULT_TIME_ZONE)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    organization: so.Mapped[Organization] = so.relationship(back_populates="sites")
    compressors: so.Mapped[list[Compressor]] = so.relationship(back_populates="site")


class Compressor(Base):
    """One compressor, watched by one ESP32 device."""

    __tablename__ = "compressor"
    __table_args__ = (sa.UniqueConstraint("site_id", "name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    site_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("site.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    kind: so.Mapped[str] = so.mapped_column(sa.String(40), default="refrigeration")
    hw_model: so.Mapped[str] = so.mapped_column(sa.String(60), default="esp32-inmp441")
    firmware_version: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    firmware_state: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    firmware_detail: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    firmware_updated_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="learning")
    health_score: so.Mapped[float | None] = so.mapped_column(sa.Float)
    suspected_fault: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    last_seen_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_reading_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # The newest reading's values, kept here so the fleet page is one query.
    last_metrics: so.Mapped[dict[str, float]] = so.mapped_column(JSONType, default=dict)
    # The health trend (ml.trend.HealthTrend as a dict), refreshed as diagnoses arrive,
    # so the fleet page and the degrading rule read it without recomputing.
    health_trend: so.Mapped[dict[str, Any] | None] = so.mapped_column(JSONType)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    site: so.Mapped[Site] = so.relationship(back_populates="compressors")
    credentials: so.Mapped[list[DeviceCredential]] = so.relationship(
        back_populates="compressor", cascade="all, delete-orphan"
    )


class User(UserMixin, Base):
    __tablename__ = "user_account"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    kakao_id: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    company: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    position: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    industry: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    company_size: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    purpose: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    device_count: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    # Sign-up answers (dashboard/accounts/signup_details.py): keys, not sentences;
    # purposes is a comma-separated list of keys.
    company_email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    address: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    purposes: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    budget: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    timeline: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    newsletter_consent_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default="viewer")
    # active: may log in. pending: waits for an admin's approval.
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    pending: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    language: so.Mapped[str] = so.mapped_column(sa.String(5), default="ko")
    notify_email: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    notify_sms: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    notify_kakao: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    # Kakao AlimTalk to ``phone`` (SMS when the phone has no KakaoTalk), and Web Push to
    # the browsers in push_subscription.
    notify_alimtalk: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False,
                                                        server_default=sa.false())
    notify_push: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True,
                                                    server_default=sa.true())
    email_verified_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    terms_accepted_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    privacy_accepted_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    marketing_consent_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default=DEFAULT_TIME_ZONE)
    # Quiet hours in the user's time zone (hours 0-23); no notifications but critical.
    quiet_hours_start: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    quiet_hours_end: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    # sealed at rest (dashboard/core/sealed.py): the app must read them back to call Kakao
    kakao_access_token: so.Mapped[str | None] = so.mapped_column(SealedString(500))
    kakao_refresh_token: so.Mapped[str | None] = so.mapped_column(SealedString(500))
    kakao_token_expires_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # Set when Kakao refused our refresh token (revoked, expired, unlinked): Kakao
    # messages stop until the user connects Kakao again.
    kakao_disconnected_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    kakao_disconnect_reason: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    # Bumped on password change, disable or role change: old sessions stop working.
    session_version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_login_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return bool(self.active) and not self.pending

    def has_role(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[role]

    @property
    def awaits_sign_up_confirmation(self) -> bool:
        """Signed up to found an organisation and has not opened the emailed link yet
        (dashboard/accounts/registration.py): the account cannot be used until then.
        A join request is pending too, but as a viewer of an organisation."""
        return bool(self.pending) and (self.org_id is None or self.role == "admin")


class DeviceCredential(Base):
    """A device token, stored hashed; the prefix finds the row without a scan."""

    __tablename__ = "device_credential"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), index=True
    )
    token_prefix: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(128))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_used_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    revoked_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)

    compressor: so.Mapped[Compressor] = so.relationship(back_populates="credentials")


class Reading(Base):
    """One sensor sample from a device. The key (compressor, seq, ts) includes the
    time because PostgreSQL partitions this table by month of ``ts`` and a unique key
    there must contain the partition key; that a repeated ``seq`` is stored once is
    kept by the ingest path (``ingestion.readings``), which looks the seqs up first
    under a per-compressor lock."""

    __tablename__ = "reading"
    __table_args__ = (
        sa.Index("ix_reading_compressor_ts", "compressor_id", "ts"),
        {"postgresql_partition_by": "RANGE (ts)"},
    )
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), primary_key=True
    )
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True)
    ts: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, primary_key=True)
    received_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    temperature_c: so.Mapped[float | None] = so.mapped_column(sa.Float)
    current_a: so.Mapped[float | None] = so.mapped_column(sa.Float)
    pressure_bar: so.Mapped[float | None] = so.mapped_column(sa.Float)
    vibration_rms_g: so.Mapped[float | None] = so.mapped_column(sa.Float)
    humidity_pct: so.Mapped[float | None] = so.mapped_column(sa.Float)


class _RollupStats:
    """Per-bucket count of readings and min, sum, count, max of every metric; the
    rollup tables add their compressor and bucket columns."""

    n: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    temperature_c_min: so.Mapped[float | None] = so.mapped_column(sa.Float)
    temperature_c_sum: so.Mapped[float | None] = so.mapped_column(sa.Float)
    temperature_c_count: so.Mapped[int] = so.mapped_column(
        sa.Integer, default=0, server_default="0")
    temperature_c_max: so.Mapped[float | None] = so.mapped_column(sa.Float)
    current_a_min: so.Mapped[float | None] = so.mapped_column(sa.Float)
    current_a_sum: so.Mapped[float | None] = so.mapped_column(sa.Float)
    current_a_count: so.Mapped[int] = so.mapped_column(
        sa.Integer, default=0, server_default="0")
    current_a_max: so.Mapped[float | None] = so.mapped_column(sa.Float)
    pressure_bar_min: so.Mapped[float | None] = so.mapped_column(sa.Float)
    pressure_bar_sum: so.Mapped[float | None] = so.mapped_column(sa.Float)
    pressure_bar_count: so.Mapped[int] = so.mapped_column(
        sa.Integer, default=0, server_default="0")
    pressure_bar_max: so.Mapped[float | None] = so.mapped_column(sa.Float)
    vibration_rms_g_min: so.Mapped[float | None] = so.mapped_column(sa.Float)
    vibration_rms_g_sum: so.Mapped[float | None] = so.mapped_column(sa.Float)
    vibration_rms_g_count: so.Mapped[int] = so.mapped_column(
        sa.Integer, default=0, server_default="0")
    vibration_rms_g_max: so.Mapped[float | None] = so.mapped_column(sa.Float)
    humidity_pct_min: so.Mapped[float | None] = so.mapped_column(sa.Float)
    humidity_pct_sum: so.Mapped[float | None] = so.mapped_column(sa.Float)
    humidity_pct_count: so.Mapped[int] = so.mapped_column(
        sa.Integer, default=0, server_default="0")
    humidity_pct_max: so.Mapped[float | None] = so.mapped_column(sa.Float)


class ReadingMinute(_RollupStats, Base):
    """Readings rolled up per compressor and minute, kept in step with ``reading`` by
    the ingest path: long ranges read ~43k rows for 30 days instead of 2.6M.
    Partitioned by month on PostgreSQL and dropped with the raw readings."""

    __tablename__ = "reading_minute"
    __table_args__ = ({"postgresql_partition_by": "RANGE (minute)"},)
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), primary_key=True
    )
    minute: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, primary_key=True)


class ReadingHour(_RollupStats, Base):
    """Readings rolled up per compressor and hour, kept by the ingest path like
    ``reading_minute`` but never dropped: what is left of a month once retention has
    dropped its readings."""

    __tablename__ = "reading_hour"
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), primary_key=True
    )
    hour: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, primary_key=True)


class Recording(Base):
    """One audio clip from a device, queued for analysis."""

    __tablename__ = "recording"
    __table_args__ = (
        sa.UniqueConstraint("compressor_id", "seq"),
        sa.Index("ix_recording_compressor_ts", "compressor_id", "ts"),
        sa.Index("ix_recording_status", "status"),
    )
    id: so.Mapped[int] = so.mapped_column(BigID, primary_key=True)
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE")
    )
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    ts: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sample_rate: so.Mapped[int] = so.mapped_column(sa.Integer)
    duration_s: so.Mapped[float] = so.mapped_column(sa.Float)
    audio_key: so.Mapped[str] = so.mapped_column(sa.String(300))
    size_bytes: so.Mapped[int] = so.mapped_column(sa.Integer)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="queued")
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    claimed_by: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    claimed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_version"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(30), default="classifier")
    name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    created_by: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    training_summary: so.Mapped[dict[str, Any]] = so.mapped_column(JSONType, default=dict)
    metrics: so.Mapped[dict[str, Any]] = so.mapped_column(JSONType, default=dict)
    library_versions: so.Mapped[dict[str, Any]] = so.mapped_column(JSONType, default=dict)
    classes: so.Mapped[list[str]] = so.mapped_column(JSONType, default=list)
    artifact_path: so.Mapped[str] = so.mapped_column(sa.String(500))
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)


class Diagnosis(Base):
    __tablename__ = "diagnosis"
    __table_args__ = (
        sa.Index("ix_diagnosis_compressor_ts", "compressor_id", "ts"),
        sa.Index("ix_diagnosis_org_ts", "org_id", "ts"),
    )
    id: so.Mapped[int] = so.mapped_column(BigID, primary_key=True)
    recording_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("recording.id", ondelete="CASCADE"), unique=True
    )
    # Denormalised so history filters need no joins over 100k+ rows.
    org_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"))
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE")
    )
    ts: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    model_version_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("model_version.id", ondelete="SET NULL")
    )
    label: so.Mapped[str] = so.mapped_column(sa.String(60))
    probabilities: so.Mapped[dict[str, float]] = so.mapped_column(JSONType, default=dict)
    confidence: so.Mapped[float] = so.mapped_column(sa.Float, default=0.0)
    anomaly_score: so.Mapped[float | None] = so.mapped_column(sa.Float)
    is_anomaly: so.Mapped[bool | None] = so.mapped_column(sa.Boolean)
    health_score: so.Mapped[float] = so.mapped_column(sa.Float)
    status: so.Mapped[str] = so.mapped_column(sa.String(20))
    features_summary: so.Mapped[dict[str, float]] = so.mapped_column(JSONType, default=dict)
    analyst_label: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    analyst_valid: so.Mapped[bool | None] = so.mapped_column(sa.Boolean)
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reviewed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class AlertRule(Base):
    __tablename__ = "alert_rule"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    site_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    compressor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE")
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    params: so.Mapped[dict[str, Any]] = so.mapped_column(JSONType, default=dict)
    severity: so.Mapped[str] = so.mapped_column(sa.String(12), default="warning")
    enabled: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Lifecycle:
    """What an alert and an incident share: severity and state (open, acknowledged,
    resolved), first and last seen, who acknowledged and resolved it, when, and why."""

    severity: so.Mapped[str] = so.mapped_column(sa.String(12))
    state: so.Mapped[str] = so.mapped_column(sa.String(14), default="open")
    opened_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    acknowledged_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    ack_comment: so.Mapped[str | None] = so.mapped_column(sa.Text)
    resolved_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    resolved_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    resolve_comment: so.Mapped[str | None] = so.mapped_column(sa.Text)


class Incident(Lifecycle, Base):
    """One fault episode: the alerts of one compressor (or, for a site-wide outage, of
    one site) that share a cause. People are notified about, acknowledge and resolve
    the incident; its alerts are its contributing signals."""

    __tablename__ = "incident"
    __table_args__ = (sa.Index("ix_incident_org_state", "org_id", "state"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"))
    # "compressor" (one machine's episode) or "site_offline" (many devices of one site).
    scope: so.Mapped[str] = so.mapped_column(sa.String(20), default="compressor")
    compressor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), index=True
    )
    site_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("site.id", ondelete="CASCADE"), index=True
    )


class Alert(Lifecycle, Base):
    __tablename__ = "alert"
    __table_args__ = (
        sa.Index("ix_alert_org_state", "org_id", "state"),
        # One open (or acknowledged) alert per compressor and rule: repeats fold into it.
        sa.Index("uq_alert_open_per_rule", "compressor_id", "rule_id", unique=True,
                 postgresql_where=sa.text("state <> 'resolved'"),
                 sqlite_where=sa.text("state <> 'resolved'")),
    )
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"))
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), index=True
    )
    rule_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("alert_rule.id", ondelete="SET NULL")
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    detail: so.Mapped[str | None] = so.mapped_column(sa.Text)
    count: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)
    escalation_level: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    last_notified_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # Consecutive evaluations with the condition cleared (hysteresis before auto-resolve).
    clear_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    # The fault episode this alert is a signal of (None: alerts from before incidents).
    incident_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )


class AlertEvent(Base):
    """An alert's timeline: fired, repeated, notified, escalated, acknowledged, resolved."""

    __tablename__ = "alert_event"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    alert_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("alert.id", ondelete="CASCADE"), index=True
    )
    ts: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    detail: so.Mapped[str | None] = so.mapped_column(sa.Text)


class NotificationChannel(Base):
    """An organisation's channel settings (email, sms, kakao): on/off, rate limit."""

    __tablename__ = "notification_channel"
    __table_args__ = (sa.UniqueConstraint("org_id", "kind"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(12))
    enabled: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    config: so.Mapped[dict[str, Any]] = so.mapped_column(JSONType, default=dict)
    rate_limit_per_hour: so.Mapped[int] = so.mapped_column(sa.Integer, default=30)


class NotificationDelivery(Base):
    """One notification to one user over one channel; ``dedupe_key`` is unique so a
    retry can never send the same notification twice."""

    __tablename__ = "notification_delivery"
    # The sender looks for due rows every few seconds.
    __table_args__ = (sa.Index("ix_notification_delivery_due", "status", "next_attempt_at"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    alert_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("alert.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))
    dedupe_key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    next_attempt_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # What the provider said when it took the message (its message id, status code).
    provider_ref: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    provider_status: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    # This row stands in for a delivery that failed for good on another channel.
    fallback_for_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("notification_delivery.id", ondelete="SET NULL")
    )


class PushSubscription(Base):
    """One browser's Web Push subscription (the PushSubscription JSON a browser gives):
    the push service endpoint and the keys its messages are encrypted to."""

    __tablename__ = "push_subscription"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(1000), unique=True)
    p256dh: so.Mapped[str] = so.mapped_column(sa.String(200))
    auth: so.Mapped[str] = so.mapped_column(sa.String(100))
    label: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_success_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(300))


class FirmwareRelease(Base):
    __tablename__ = "firmware_release"
    __table_args__ = (sa.UniqueConstraint("org_id", "hw_model", "version"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    version: so.Mapped[str] = so.mapped_column(sa.String(40))
    hw_model: so.Mapped[str] = so.mapped_column(sa.String(60))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    size: so.Mapped[int] = so.mapped_column(sa.Integer)
    notes: so.Mapped[str | None] = so.mapped_column(sa.Text)
    artifact_key: so.Mapped[str] = so.mapped_column(sa.String(300))
    # rollout: "all", "sites" (rollout_ids are site ids) or "devices" (compressor ids)
    rollout: so.Mapped[str] = so.mapped_column(sa.String(10), default="all")
    rollout_ids: so.Mapped[list[int]] = so.mapped_column(JSONType, default=list)
    created_by: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class RecordingFeatures(Base):
    """The feature vector of an analysed clip (float32 bytes): baselines learn from it
    and retraining reuses it without decoding audio again."""

    __tablename__ = "recording_features"
    recording_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("recording.id", ondelete="CASCADE"), primary_key=True
    )
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), index=True
    )
    feature_set: so.Mapped[str] = so.mapped_column(sa.String(64))
    vector: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)


class CompressorBaseline(Base):
    """A compressor's own normal, learned from its first clips ("learning" until then)."""

    __tablename__ = "compressor_baseline"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE"), unique=True
    )
    state: so.Mapped[str] = so.mapped_column(sa.String(12), default="learning")
    clips_seen: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    clips_needed: so.Mapped[int] = so.mapped_column(sa.Integer, default=20)
    threshold: so.Mapped[float | None] = so.mapped_column(sa.Float)
    feature_set: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    artifact: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class MaintenanceNote(Base):
    __tablename__ = "maintenance_note"
    __table_args__ = (sa.Index("ix_maintenance_note_compressor_ts", "compressor_id", "ts"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"))
    compressor_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("compressor.id", ondelete="CASCADE")
    )
    ts: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_org_ts", "org_id", "ts"),)
    id: so.Mapped[int] = so.mapped_column(BigID, primary_key=True)
    org_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    ts: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    action: so.Mapped[str] = so.mapped_column(sa.String(60))
    target: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    detail: so.Mapped[dict[str, Any]] = so.mapped_column(JSONType, default=dict)
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))


class Invitation(Base):
    __tablename__ = "invitation"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default="viewer")
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(128), unique=True)
    invited_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    accepted_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)


class UserToken(Base):
    """Single-use, expiring tokens mailed to users: password reset, email verification."""

    __tablename__ = "user_token"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: so.Mapped[str] = so.mapped_column(sa.String(20))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(128), unique=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    used_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)


class ApiToken(Base):
    """A personal token for the read API (``/api/v1``), stored hashed; it acts as its
    user (their organisation and current role, while they stay active) until revoked."""

    __tablename__ = "api_token"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    token_prefix: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(128))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_used_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    revoked_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)

    user: so.Mapped[User] = so.relationship()
