"""The one configuration object. Every setting comes from an environment variable
documented in README.md; ``create_app(config=...)`` overrides any of them (tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


@dataclass
class Settings:
    SECRET_KEY: str = ""
    DATABASE_URL: str = ""  # empty: SQLite in the instance folder
    INSTANCE_PATH: str = ""
    DEMO_MODE: bool = False
    DEMO_DEVICES: int = 8
    DEMO_CLIP_INTERVAL: int = 15  # seconds between a simulated device's clips
    SIMULATOR_URL: str = ""  # where the demo simulator posts; default http://127.0.0.1:PORT
    PORT: int = 8050
    ADMIN_EMAIL: str = ""
    ADMIN_PASSWORD: str = ""
    AUDIO_STORE: str = ""  # "" or file:///path -> local folder; s3://bucket/prefix -> S3
    S3_ENDPOINT_URL: str = ""
    SCHEDULER_ENABLED: bool = False
    ANALYSIS_INTERVAL_SECONDS: int = 5
    ANALYSIS_STALE_SECONDS: int = 300  # a claim older than this is presumed dead
    OFFLINE_AFTER_SECONDS: int = 120
    HEALTH_REFRESH_MS: int = 5000
    SESSION_COOKIE_SECURE: bool = False
    RATELIMIT_STORAGE_URI: str = "memory://"
    TRUST_PROXY: str = ""  # "true" / "1" / "2": that many proxies set X-Forwarded-*
    LOGIN_RATE_LIMIT: str = "10 per minute"
    LOGIN_IP_RATE_LIMIT: str = "60 per minute"
    RESET_RATE_LIMIT: str = "5 per 15 minutes"
    REGISTER_RATE_LIMIT: str = "20 per hour"
    ALERTS_REFRESH_MS: int = 15000
    LOG_LEVEL: str = "INFO"
    JSON_LOGS: bool = False
    SENTRY_DSN: str = ""
    METRICS_TOKEN: str = ""
    PUBLIC_BASE_URL: str = ""  # for links in emails; default http://127.0.0.1:PORT
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
    SMS_API_URL: str = ""
    SMS_API_KEY: str = ""
    SMS_SENDER: str = ""
    TESTING: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            SECRET_KEY=env.get("SECRET_KEY", ""),
            DATABASE_URL=env.get("DATABASE_URL", ""),
            INSTANCE_PATH=env.get("SIGNALCRAFT_INSTANCE_PATH", ""),
            DEMO_MODE=_bool(env.get("SIGNALCRAFT_DEMO"), False),
            DEMO_DEVICES=_int(env.get("SIGNALCRAFT_DEMO_DEVICES"), 8),
            DEMO_CLIP_INTERVAL=_int(env.get("SIGNALCRAFT_DEMO_CLIP_INTERVAL"), 15),
            SIMULATOR_URL=env.get("SIGNALCRAFT_SIMULATOR_URL", ""),
            PORT=_int(env.get("PORT"), 8050),
            ADMIN_EMAIL=env.get("SIGNALCRAFT_ADMIN_EMAIL", ""),
            ADMIN_PASSWORD=env.get("SIGNALCRAFT_ADMIN_PASSWORD", ""),
            AUDIO_STORE=env.get("SIGNALCRAFT_AUDIO_STORE", ""),
            S3_ENDPOINT_URL=env.get("S3_ENDPOINT_URL", ""),
            SCHEDULER_ENABLED=_bool(env.get("SIGNALCRAFT_SCHEDULER"), False),
            ANALYSIS_INTERVAL_SECONDS=_int(env.get("SIGNALCRAFT_ANALYSIS_INTERVAL"), 5),
            ANALYSIS_STALE_SECONDS=_int(env.get("SIGNALCRAFT_ANALYSIS_STALE_SECONDS"), 300),
            OFFLINE_AFTER_SECONDS=_int(env.get("SIGNALCRAFT_OFFLINE_AFTER"), 120),
            HEALTH_REFRESH_MS=_int(env.get("SIGNALCRAFT_REFRESH_MS"), 5000),
            SESSION_COOKIE_SECURE=_bool(env.get("SESSION_COOKIE_SECURE"), False),
            RATELIMIT_STORAGE_URI=env.get("RATELIMIT_STORAGE_URI", "memory://"),
            TRUST_PROXY=env.get("TRUST_PROXY", ""),
            LOGIN_RATE_LIMIT=env.get("LOGIN_RATE_LIMIT", "10 per minute"),
            LOGIN_IP_RATE_LIMIT=env.get("LOGIN_IP_RATE_LIMIT", "60 per minute"),
            RESET_RATE_LIMIT=env.get("RESET_RATE_LIMIT", "5 per 15 minutes"),
            REGISTER_RATE_LIMIT=env.get("REGISTER_RATE_LIMIT", "20 per hour"),
            ALERTS_REFRESH_MS=_int(env.get("SIGNALCRAFT_ALERTS_REFRESH_MS"), 15000),
            LOG_LEVEL=env.get("LOG_LEVEL", "INFO"),
            JSON_LOGS=_bool(env.get("SIGNALCRAFT_JSON_LOGS"), False),
            SENTRY_DSN=env.get("SENTRY_DSN", ""),
            METRICS_TOKEN=env.get("SIGNALCRAFT_METRICS_TOKEN", ""),
            PUBLIC_BASE_URL=env.get("SIGNALCRAFT_PUBLIC_URL", ""),
            SMTP_HOST=env.get("SMTP_HOST", ""),
            SMTP_PORT=_int(env.get("SMTP_PORT"), 25),
            SMTP_USER=env.get("SMTP_USER", ""),
            SMTP_PASSWORD=env.get("SMTP_PASSWORD", ""),
            SMTP_STARTTLS=_bool(env.get("SMTP_STARTTLS"), False),
            SMTP_FROM=env.get("SMTP_FROM", "SignalCraft <noreply@signalcraft.local>"),
            KAKAO_CLIENT_ID=env.get("KAKAO_CLIENT_ID", ""),
            KAKAO_CLIENT_SECRET=env.get("KAKAO_CLIENT_SECRET", ""),
            KAKAO_AUTH_URL=env.get("KAKAO_AUTH_URL", "https://kauth.kakao.com"),
            KAKAO_API_URL=env.get("KAKAO_API_URL", "https://kapi.kakao.com"),
            SMS_API_URL=env.get("SMS_API_URL", ""),
            SMS_API_KEY=env.get("SMS_API_KEY", ""),
            SMS_SENDER=env.get("SMS_SENDER", ""),
        )

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
