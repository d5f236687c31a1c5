"""Reading activity, told to browsers in coalesced events.

A 1,000-device fleet stores ~100 batches a second: one event per batch would be 100
NOTIFYs a second and, for 200 open pages, 20,000 messages. Instead each process notes
which compressors received readings (and which came back online) and publishes one
``readings`` event per organisation every ``FLUSH_SECONDS``, carrying the compressor
ids and the time the oldest of those readings was stored, so an open compressor page
still hears of its device's batch within a fraction of a second."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from dashboard.core.events import Event

log = logging.getLogger("signalcraft.activity")
FLUSH_SECONDS = 0.4


class ReadingsNotifier:
    def __init__(self, hub: Any, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.hub = hub
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        # org -> (first stored at, compressor ids, ids that came back online)
        self._pending: dict[int, tuple[float, set[int], set[int]]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def note(self, org_id: int, compressor_id: int, online: bool = False) -> None:
        now = time.time()
        with self._lock:
            entry = self._pending.get(org_id)
            if entry is None:
                entry = self._pending[org_id] = (now, set(), set())
            entry[1].add(compressor_id)
            if online:
                entry[2].add(compressor_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="signalcraft-readings-events")
                self._thread.start()

    def take(self) -> list[Event]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return [Event("readings", org, {"compressors": sorted(ids), "online": sorted(back)},
                      at=first) for org, (first, ids, back) in pending.items()]

    def flush(self) -> None:
        events = self.take()
        if events:
            try:
                self.hub.send_now(events)
            except Exception as exc:  # the database is down; pages resync on reconnect
                log.warning("readings events not sent: %s", str(exc).splitlines()[0])

    def _run(self) -> None:
        idle = 0
        while True:
            time.sleep(self.flush_seconds)
            with self._lock:
                busy = bool(self._pending)
                if not busy and idle >= 150:  # ends after a minute without readings
                    self._thread = None
                    return
            idle = 0 if busy else idle + 1
            self.flush()


OFFLINE_CHECK_SECONDS = 15


def publish_gone_offline(app: Any, now: Any = None) -> int:
    """Compressors that fell silent long enough to show as offline since the last check
    (every ``OFFLINE_CHECK_SECONDS``): nothing is written when a device goes quiet, so
    this job tells the open pages. Several processes may run it: a repeated ``status``
    event only makes a page refresh once more."""
    import datetime as dt

    import sqlalchemy as sa

    from dashboard.core.database import session_scope
    from dashboard.core.events import publish
    from dashboard.core.models import Compressor, utcnow

    now = now or utcnow()
    limit = now - dt.timedelta(seconds=app.config.get("OFFLINE_AFTER_SECONDS", 120))
    since = limit - dt.timedelta(seconds=OFFLINE_CHECK_SECONDS)
    with session_scope(app) as session:
        rows = session.execute(sa.select(Compressor.org_id, Compressor.id).where(
            Compressor.last_seen_at > since, Compressor.last_seen_at <= limit)).all()
        by_org: dict[int, list[int]] = {}
        for org_id, cid in rows:
            by_org.setdefault(org_id, []).append(cid)
        for org_id, ids in by_org.items():
            publish(session, "status", org_id, status="offline", compressors=sorted(ids))
    return len(rows)
