"""The one configuration object. Every setting comes from an environment variable
documented in README.md; ``create_app(config=...)`` overrides any of them (tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dashboard.core.status import DEFAULT_OFFLINE_AFTER_S


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _env(name: str, default: Any) -> Any:
    """A setting read from the environment variable ``name``."""
    return field(default=default, metadata={"env": name})


_NOT_FROM_ENV = {"TESTING", "extra"}

# Keys that have been published (compose files, docs, tutorials): anyone can sign a
# session with them, so they are refused like a missing key (issue 17).
KNOWN_PLACEHOLDER_KEYS = frozenset({
    "change-me-in-production", "change-me", "changeme", "secret", "dev", "development",
    "secret-key", "your-secret-key", "please-change-me", "insecure", "test-secret",
})
MIN_SECRET_KEY_BYTES = 32


class ConfigError(RuntimeError):
    """A setting the app refuses to start with; the message says what to set."""


def check_secret_key(key: str, *, demo: bool, testing: bool, shared_database: bool) -> None:
    """Refuse a SECRET_KEY that lets anyone forge a session: a published placeholder or
    one shorter than 32 bytes; and a missing one when the database is shared (several
    app servers would each generate their own). The demo and tests are exempt; the
    embedded single-host install generates a random key into its instance folder."""
    if demo or testing:
        return
    if not key:
        if shared_database:
            raise ConfigError("SECRET_KEY is not set: set it to the same random value "
                              "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
                              " on every app server")
        return
    if key.strip().lower() in KNOWN_PLACEHOLDER_KEYS:
        raise ConfigError("SECRET_KEY is a published placeholder; set a random value")
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes; "
                          "set a random value of at least 32 bytes")


@dataclass
class Settings:
    SECRET_KEY: str = ""
    DATABASE_URL: str = ""  # empty: SQLite in the instance folder
    INSTANCE_PATH: str = _env("SIGNALCRAFT_INSTANCE_PATH", "")
    DEMO_MODE: bool = _env("SIGNALCRAFT_DEMO", False)
    DEMO_DEVICES: int = _env("SIGNALCRAFT_DEMO_DEVICES", 8)
    # seconds between a simulated device's clips
    DEMO_CLIP_INTERVAL: int = _env("SIGNALCRAFT_DEMO_CLIP_INTERVAL", 15)
    # where the demo simulator posts; default http://127.0.0.1:PORT
    SIMULATOR_URL: str = _env("SIGNALCRAFT_SIMULATOR_URL", "")
    PORT: int = 8050
    ADMIN_EMAIL: str = _env("SIGNALCRAFT_ADMIN_EMAIL", "")
    ADMIN_PASSWORD: str = _env("SIGNALCRAFT_ADMIN_PASSWORD", "")
    # "" or file:///path -> local folder; s3://bucket/prefix -> S3
    AUDIO_STORE: str = _env("SIGNALCRAFT_AUDIO_STORE", "")
    S3_ENDPOINT_URL: str = ""
    SCHEDULER_ENABLED: bool = _env("SIGNALCRAFT_SCHEDULER", False)
    ANALYSIS_INTERVAL_SECONDS: int = _env("SIGNALCRAFT_ANALYSIS_INTERVAL", 5)
    # a claim older than this is presumed dead
    ANALYSIS_STALE_SECONDS: int = _env("SIGNALCRAFT_ANALYSIS_STALE_SECONDS", 300)
    # Raw readings and their per-minute rollup are kept this many days (whole months
    # are dropped once past it; hourly rollups stay). 0 keeps everything.
    READING_RETENTION_DAYS: int = _env("SIGNALCRAFT_READING_RETENTION_DAYS", 400)
    OFFLINE_AFTER_SECONDS: int = _env("SIGNALCRAFT_OFFLINE_AFTER", DEFAULT_OFFLINE_AFTER_S)
    # language of pages before login when the browser asks for neither ko nor en
    DEFAULT_LANGUAGE: str = _env("SIGNALCRAFT_DEFAULT_LANGUAGE", "ko")
    # Live pages are pushed; this is their fallback poll while the event stream is down.
    HEALTH_REFRESH_MS: int = _env("SIGNALCRAFT_REFRESH_MS", 60000)
    # "auto": LISTEN/NOTIFY on PostgreSQL, in-process on SQLite; or "postgres" / "local"
    EVENTS_BACKEND: str = _env("SIGNALCRAFT_EVENTS", "auto")
    # "" : shared snapshots cached in-process; redis://host:port/db with several processes
    CACHE_URL: str = _env("SIGNALCRAFT_CACHE_URL", "")
    LIVE_HEARTBEAT_SECONDS: int = _env("SIGNALCRAFT_LIVE_HEARTBEAT", 15)
    SESSION_COOKIE_SECURE: bool = False
    RATELIMIT_STORAGE_URI: str = "memory://"
    TRUST_PROXY: str = ""  # "true" / "1" / "2": that many proxies set X-Forwarded-For/-Proto
    # the proxies also set X-Forwarded-Host/-Prefix (the shipped nginx does not)
    TRUST_PROXY_HOST: bool = False
    # other hosts whose pages may call the callbacks (Origin check), comma-separated
    ALLOWED_ORIGINS: str = ""
    LOGIN_RATE_LIMIT: str = "10 per minute"
    LOGIN_IP_RATE_LIMIT: str = "60 per minute"
    RESET_RATE_LIMIT: str = "5 per 15 minutes"
    REGISTER_RATE_LIMIT: str = "20 per hour"
    # Calls per device token on /api/esp32/*, per user on ad-hoc analyses (/api/analyze
    # and the spectrogram page's upload together) and the CSV exports, per personal API
    # token on /api/v1/* (dashboard/accounts/rate_limits.py)
    DEVICE_RATE_LIMIT: str = _env("SIGNALCRAFT_DEVICE_RATE_LIMIT", "60 per 10 seconds")
    ANALYZE_RATE_LIMIT: str = _env("SIGNALCRAFT_ANALYZE_RATE_LIMIT", "20 per minute")
    EXPORT_RATE_LIMIT: str = _env("SIGNALCRAFT_EXPORT_RATE_LIMIT", "10 per minute")
    READ_API_RATE_LIMIT: str = _env("SIGNALCRAFT_READ_API_RATE_LIMIT", "120 per minute")
    ALERTS_REFRESH_MS: int = _env("SIGNALCRAFT_ALERTS_REFRESH_MS", 60000)
    LOG_LEVEL: str = "INFO"
    JSON_LOGS: bool = _env("SIGNALCRAFT_JSON_LOGS", False)
    SENTRY_DSN: str = ""
    # share of requests traced (Sentry performance), 0.0-1.0
    SENTRY_TRACES_SAMPLE_RATE: str = "0.0"
    SENTRY_ENVIRONMENT: str = ""
    # PostgreSQL: seconds to wait for a connection, and the longest a statement may run
    DB_CONNECT_TIMEOUT: int = _env("SIGNALCRAFT_DB_CONNECT_TIMEOUT", 10)
    DB_STATEMENT_TIMEOUT_MS: int = _env("SIGNALCRAFT_DB_STATEMENT_TIMEOUT_MS", 60000)
    METRICS_TOKEN: str = _env("SIGNALCRAFT_METRICS_TOKEN", "")
    # platform operators (comma-separated emails): the /operator page, suspensions
    OPERATOR_EMAILS: str = _env("SIGNALCRAFT_OPERATOR_EMAILS", "")
    # for links in emails; default http://127.0.0.1:PORT
    PUBLIC_BASE_URL: str = _env("SIGNALCRAFT_PUBLIC_URL", "")
    SMTP_HOST: str = ""  # empty: email is logged, not sent
    SMTP_PORT: int = 25
    SMTP_USER: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = False
    SMTP_FROM: str = "SignalCraft <noreply@signalcraft.local>"
    KAKAO_CLIENT_ID: str = ""
    KAKAO_CLIENT_SECRET: str = ""
    KAKAO_AUTH_URL: str = "https://kauth.kakao.com"
    KAKAO_API_URL: str = "https://kapi.kakao.com"
    # "solapi", "webhook" or "" (solapi when SOLAPI_API_KEY is set, else the webhook)
    SMS_PROVIDER: str = ""
    # SOLAPI (docs/alerts.md): SMS/LMS and Kakao AlimTalk with SMS fallback
    SOLAPI_API_URL: str = "https://api.solapi.com"
    SOLAPI_API_KEY: str = ""
    SOLAPI_API_SECRET: str = ""
    SOLAPI_SENDER: str = ""  # a sender number registered at SOLAPI, e.g. 0215880000
    SOLAPI_KAKAO_PFID: str = ""  # the Kakao channel's profile id for AlimTalk
    # "kind:lang=templateId,...", e.g. "offline:ko=KA01TP...,default:en=KA01TP..."
    SOLAPI_ALIMTALK_TEMPLATES: str = ""
    # A generic HTTP gateway of our own contract (docs/alerts.md), for in-house relays
    SMS_WEBHOOK_URL: str = ""
    SMS_WEBHOOK_KEY: str = ""
    SMS_WEBHOOK_SENDER: str = ""
    # Web Push (VAPID); `flask --app wsgi webpush-keys` makes a pair
    VAPID_PUBLIC_KEY: str = ""
    VAPID_PRIVATE_KEY: str = ""
    VAPID_SUBJECT: str = ""  # mailto: or https: contact; default from SMTP_FROM
    TESTING: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        """Every field from its environment variable (its own name unless ``_env``
        names another). Unset variables keep the default, as do empty or malformed
        numbers and flags."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in _NOT_FROM_ENV:
                continue
            raw = env.get(f.metadata.get("env", f.name))
            default = f.default
            if f.type == "bool":
                values[f.name] = _bool(raw, default)
            elif f.type == "int":
                values[f.name] = _int(raw, default)
            else:
                values[f.name] = default if raw is None else raw
        return cls(**values)

    def apply(self, overrides: dict[str, Any] | None) -> Settings:
        names = {f.name for f in fields(self)}
        for key, value in (overrides or {}).items():
            if key in names:
                setattr(self, key, value)
            else:
                self.extra[key] = value
        return self

    def database_url(self, instance_path: Path) -> str:
        if self.DATABASE_URL:
            url = self.DATABASE_URL
            # Heroku-style URLs say postgres://; SQLAlchemy wants postgresql://
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://"):]
            return url
        return f"sqlite:///{instance_path / 'signalcraft.db'}"

    def flask_config(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out.update(self.extra)
        return out
