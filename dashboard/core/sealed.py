"""Secrets kept at rest encrypted: a column type that seals values with Fernet
(AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key derived from the app's
SECRET_KEY (HKDF-SHA256), used for third-party tokens the app must be able to read
back (Kakao access and refresh tokens); hashes cannot serve there.

The key travels with the app's engine (``attach_key``), so background jobs need no app
context. An engine without a key (copy tools: backup, migrate-to-postgres) passes sealed
values through unchanged. Values stored before sealing (no prefix) read as they are and
are sealed at their next write; a value sealed under another SECRET_KEY reads as None,
which the Kakao code treats as a disconnected channel (the user links Kakao again)."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:"
_ATTR = "sc_sealing_key"


def fernet_for(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"signalcraft sealed columns v1").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def attach_key(engine: sa.Engine, secret_key: str) -> None:
    setattr(engine.dialect, _ATTR, fernet_for(secret_key))


class SealedString(sa.types.TypeDecorator):
    """A string column stored as ``fernet:<token>``."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        fernet = getattr(dialect, _ATTR, None)
        if value is None or fernet is None or str(value).startswith(PREFIX):
            return value
        return PREFIX + fernet.encrypt(str(value).encode()).decode()

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        fernet = getattr(dialect, _ATTR, None)
        if value is None or fernet is None or not str(value).startswith(PREFIX):
            return value
        try:
            return fernet.decrypt(str(value)[len(PREFIX):].encode()).decode()
        except InvalidToken:
            return None
