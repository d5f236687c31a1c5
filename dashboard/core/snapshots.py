"""Shared snapshots: a view of an organisation computed once per change, whoever asks.

A snapshot (the fleet's rows, the open-alert counts, ...) is keyed by its kind, the
organisation and the id of the last event that changed it, as this process heard it.
Every process hears the same events in the same order (dashboard.core.events), so
processes agree on the key: with ``SIGNALCRAFT_CACHE_URL=redis://...`` one process
computes and the others read it from Redis; without, each process keeps its own (the
embedded demo: one process). 200 viewers of one fleet cost one computation per change.

Nothing is cached while the event listener is down (changes could go unheard), a
``resync`` starts every key afresh, and entries expire after ``ttl`` seconds anyway.
Concurrent misses of one key wait for a single computation."""

from __future__ import annotations

import collections
import logging
import pickle
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

log = logging.getLogger("signalcraft.snapshots")

# kind -> the event types that change it
DEPENDS: dict[str, frozenset[str]] = {
    "fleet": frozenset({"diagnosis", "readings", "status", "fleet", "compressor"}),
    "sparklines": frozenset({"diagnosis", "fleet"}),
    "alerts": frozenset({"incident"}),
}
# kind -> event type -> seconds a snapshot may lag such events. A fleet of 1,000
# devices sends reading batches all the time, and each only moves a card's "last seen"
# and latest values: the fleet's rows are renewed for them at most every 5 s (measured
# by the events' own times, so every process decides alike), while a batch that brings
# a device back online, and every other event, renews them at once.
LATE_OK: dict[str, dict[str, float]] = {"fleet": {"readings": 5.0}}


class SnapshotCache:
    def __init__(self, hub: Any, redis_url: str = "", ttl: float = 30.0,
                 prefix: str = "sc:snap:") -> None:
        self.hub = hub
        self.ttl = ttl
        self.prefix = prefix
        self._epoch = secrets.token_hex(6)  # keys of this process until its first event
        self._marks: dict[tuple[str, int], str] = {}
        self._late: dict[tuple[str, int], float] = {}  # event time of the last renewal
        self._local: dict[tuple[str, int], tuple[str, float, Any]] = {}
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._guard = threading.Lock()
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=1.0,
                                               socket_connect_timeout=1.0)
        self.computed: collections.Counter[str] = collections.Counter()  # per kind
        hub.subscribe(self._on_event, weak=True)

    def _on_event(self, event: Any) -> None:
        if event.type == "resync":
            self._epoch = secrets.token_hex(6)
            self._marks = {}
            self._late = {}
            self._local = {}
            return
        if event.org_id is None:
            return
        for kind, types in DEPENDS.items():
            if event.type not in types:
                continue
            key = (kind, event.org_id)
            late = LATE_OK.get(kind, {}).get(event.type)
            if late is not None and not event.data.get("online"):
                if event.at - self._late.get(key, float("-inf")) < late:
                    continue
            self._late[key] = event.at
            self._marks[key] = event.id

    def _lock(self, key: tuple[str, int]) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    def get(self, kind: str, org_id: int, compute: Callable[[], Any]) -> Any:
        if not self.hub.live:
            return compute()
        key = (kind, org_id)
        mark = self._marks.get(key, self._epoch)
        value = self._fresh(key, mark)
        if value is not _MISSING:
            return value
        with self._lock(key):
            value = self._fresh(key, mark)  # computed while this one waited
            if value is not _MISSING:
                return value
            redis_key = f"{self.prefix}{kind}:{org_id}:{mark}"
            value = self._from_redis(redis_key)
            if value is _MISSING:
                value = compute()
                self.computed[kind] += 1
                self._to_redis(redis_key, value)
            self._local[key] = (mark, time.monotonic() + self.ttl, value)
            return value

    def _fresh(self, key: tuple[str, int], mark: str) -> Any:
        hit = self._local.get(key)
        if hit is not None and hit[0] == mark and hit[1] > time.monotonic():
            return hit[2]
        return _MISSING

    def _from_redis(self, key: str) -> Any:
        if self._redis is None:
            return _MISSING
        try:
            raw = self._redis.get(key)
        except Exception as exc:  # Redis down: compute here, as without it
            log.warning("snapshot cache unavailable: %s", exc)
            return _MISSING
        return _MISSING if raw is None else pickle.loads(raw)  # our own writes only

    def _to_redis(self, key: str, value: Any) -> None:
        if self._redis is None:
            return
        try:
            self._redis.set(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
                            ex=max(1, int(self.ttl)))
        except Exception as exc:
            log.warning("snapshot cache unavailable: %s", exc)


_MISSING = object()


def snapshots(app: Flask | None = None) -> SnapshotCache:
    """The app's snapshot cache (created on first use)."""
    app = app or current_app
    cache = app.extensions.get("sc_snapshots")
    if cache is None:
        with _CREATE:
            cache = app.extensions.get("sc_snapshots")
            if cache is None:
                cache = SnapshotCache(app.extensions["sc_events"],
                                      app.config.get("CACHE_URL", "") or "")
                app.extensions["sc_snapshots"] = cache
    return cache


_CREATE = threading.Lock()
