"""Every rate limit: per device token on ``/api/esp32/*``, per user on the ad-hoc
analysis (``/api/analyze`` and the spectrogram page's upload count together: one act)
and the CSV exports, per personal API token on ``/api/v1/*``, and on the credential
endpoints (log-in per IP and email and per IP, password reset, registration per IP;
``dashboard.accounts.security.allow``).

The counts live in flask-limiter's storage (``RATELIMIT_STORAGE_URI``: memory:// in one
process, Redis shared by several) with a sliding-window counter, so a burst at a window
boundary is not allowed twice over. Each limit is a plain string in app.config
(``"60 per 10 seconds"``), set from its environment variable (README)."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from functools import lru_cache

from flask import Response, current_app, jsonify
from flask_limiter import Limiter
from flask_login import current_user
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger("signalcraft.rate_limits")

# A device posts about once a second; 60 in 10 s is six times that, room for retries.
CALL_LIMITS = {
    "DEVICE_RATE_LIMIT": "60 per 10 seconds",
    "ANALYZE_RATE_LIMIT": "20 per minute",
    "EXPORT_RATE_LIMIT": "10 per minute",
    "READ_API_RATE_LIMIT": "120 per minute",
}
CREDENTIAL_LIMITS = {
    "LOGIN_RATE_LIMIT": "10 per minute",
    "LOGIN_IP_RATE_LIMIT": "60 per minute",
    "RESET_RATE_LIMIT": "5 per 15 minutes",
    "REGISTER_RATE_LIMIT": "20 per hour",
}
LIMITS = {**CALL_LIMITS, **CREDENTIAL_LIMITS}


class LeanMemoryStorage(MemoryStorage):
    """``memory://`` with its clean-up batched once a second. limits' MemoryStorage
    starts a 10 ms timer thread on a hit whenever none is running, so at a few hundred
    device calls a second nearly every call started a thread (476 in 561 calls,
    profiled: 7 % of a device call). Counts check their own expiry when read, so the
    clean-up only frees memory, and once a second frees it soon enough."""

    STORAGE_SCHEME = ["sc-memory"]

    def _MemoryStorage__schedule_expiry(self) -> None:  # the parent's private hook
        if not self.timer.is_alive():
            self.timer = threading.Timer(1.0, self.expire)
            self.timer.daemon = True
            self.timer.start()

    def expire(self) -> None:
        """The parent's clean-up, which races with a read in another thread: ``get``
        drops an expired count between the clean-up's list of keys and its lookup of
        one, and the lookup raised KeyError (a traceback in the log and a dead timer
        thread, seen under bench/ingest.py). What one round leaves, the next frees."""
        try:
            self._MemoryStorage__expire_events()
        except KeyError:
            pass


def storage_uri(uri: str) -> str:
    """The limits storage for RATELIMIT_STORAGE_URI: memory:// is served by
    LeanMemoryStorage, anything else (redis://...) as given."""
    return "sc-memory://" if uri.startswith("memory://") else uri


@lru_cache(maxsize=64)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def _strategy() -> SlidingWindowCounterRateLimiter:
    strategy = current_app.extensions.get("sc_call_limiter")
    if strategy is None:
        limiter: Limiter = current_app.extensions["sc_limiter"]
        strategy = SlidingWindowCounterRateLimiter(limiter.storage)
        current_app.extensions["sc_call_limiter"] = strategy
    return strategy


def secret_key(secret: str) -> str:
    """The identity a secret (a device or API token) is counted under: never the secret
    itself, which would otherwise sit readable in Redis."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def retry_after(limit_name: str, *identity: str) -> int | None:
    """Count one call against the configured limit ``limit_name`` for ``identity``.
    None while within the limit; otherwise the whole seconds until a call would be
    allowed again (at least 1). Fails open, with the error logged, when the storage is
    unreachable: a Redis outage must not stop every device."""
    text = current_app.config.get(limit_name) or LIMITS[limit_name]
    item = _item(text)
    key = (current_app.config.get("RATELIMIT_KEY_PREFIX", ""), limit_name, *identity)
    strategy = _strategy()
    try:
        if strategy.hit(item, *key):
            return None
        stats = strategy.get_window_stats(item, *key)
    except Exception:  # the storage's own errors (redis.ConnectionError, ...)
        log.exception("rate limit storage failed; allowing %s", limit_name)
        return None
    return max(1, math.ceil(stats.reset_time - time.time()))


def refusal(wait: int) -> Response:
    """The 429 answer of a JSON endpoint, in the APIs' one error shape."""
    resp = jsonify(error="rate_limited", detail=f"too many calls; retry in {wait} s")
    resp.status_code = 429
    resp.headers["Retry-After"] = str(wait)
    return resp


def user_refusal(limit_name: str) -> Response | None:
    """The logged-in user's call counted against ``limit_name``; its 429 answer once
    over the limit, else None."""
    wait = retry_after(limit_name, "user", str(current_user.get_id()))
    return refusal(wait) if wait is not None else None
