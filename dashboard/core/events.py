"""Live events: what changed, told to every process that serves browsers.

``publish(session, type, org_id, **data)`` queues an event on the session; it goes out
only when that transaction commits (a rolled-back write tells nobody). Two hubs carry
them:

- ``PgHub`` (PostgreSQL, the production default): the event is a ``pg_notify`` in the
  writer's own transaction, and every process LISTENs on one connection of its own,
  so an event raised by any app server or analysis worker reaches the browsers
  connected to any other, in commit order (the same order in every process).
- ``LocalHub`` (SQLite, the embedded demo: one process): dispatched in-process after
  the commit.

Each hub keeps the last events it saw (for ``Last-Event-ID`` replay) and calls its
subscribers (browser streams, snapshot caches, the device-token cache) from one
thread; a subscriber must only queue or flag, never block. When the listener loses
its connection it tells every subscriber ``resync`` (events may have been missed)."""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger("signalcraft.events")

CHANNEL = "signalcraft_events"
# pg_notify refuses payloads of 8000 bytes or more.
MAX_PAYLOAD = 7800
RECENT = 2000
# Event types browsers are sent; the others are for the processes themselves.
BROWSER_TYPES = frozenset({"diagnosis", "readings", "status", "incident", "fleet", "resync"})

_ids = itertools.count()
_PID = os.getpid()


def _new_id() -> str:
    # Unique across processes; ordering comes from the hub (commit order), not the id.
    return f"{time.time_ns():x}-{_PID:x}-{next(_ids):x}"


@dataclass(frozen=True)
class Event:
    type: str
    org_id: int | None
    data: dict[str, Any]
    id: str = field(default_factory=_new_id)
    at: float = field(default_factory=time.time)  # when it was stored (epoch s)

    def payload(self) -> str:
        return json.dumps({"i": self.id, "t": self.type, "o": self.org_id, "a": self.at,
                           "d": self.data}, separators=(",", ":"), default=str)

    @classmethod
    def from_payload(cls, text: str) -> Event:
        raw = json.loads(text)
        return cls(type=raw["t"], org_id=raw["o"], data=raw["d"], id=raw["i"], at=raw["a"])


Subscriber = Callable[[Event], None]


class LocalHub:
    """In-process delivery (one process: the embedded demo, tests on SQLite)."""

    kind = "local"

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self.recent: collections.deque[Event] = collections.deque(maxlen=RECENT)

    # -- receiving
    def subscribe(self, fn: Subscriber, weak: bool = False) -> None:
        """``weak``: hold a bound method weakly (a cache of an app object that may go
        away: tests create hundreds on one database)."""
        self.start()
        entry: Any = weakref.WeakMethod(fn) if weak else fn
        with self._lock:
            self._subscribers = [*self._subscribers, entry]

    def unsubscribe(self, fn: Subscriber) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s is not fn]

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def dispatch(self, event: Event, remember: bool = True) -> None:
        if remember:
            with self._lock:
                self.recent.append(event)
        dead = False
        for entry in self._subscribers:
            fn = entry() if isinstance(entry, weakref.WeakMethod) else entry
            if fn is None:
                dead = True
                continue
            try:
                fn(event)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("event subscriber failed")
        if dead:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if not (
                    isinstance(s, weakref.WeakMethod) and s() is None)]

    def events_after(self, last_id: str, org_id: int) -> list[Event] | None:
        """The organisation's events after ``last_id``, or None when that id is no
        longer (or was never) among the recent ones: the browser must resync."""
        with self._lock:
            recent = list(self.recent)
        for index, ev in enumerate(recent):
            if ev.id == last_id:
                return [e for e in recent[index + 1:] if e.org_id in (org_id, None)]
        return None

    @property
    def live(self) -> bool:
        """True while events are known to arrive (caches may trust them)."""
        return True

    def start(self) -> None:
        pass

    # -- sending
    def send_in_transaction(self, conn: sa.Connection, events: list[Event]) -> None:
        """Called just before a commit; the local hub delivers after it instead."""

    def after_commit(self, events: list[Event]) -> None:
        for ev in events:
            self.dispatch(ev)

    def send_now(self, events: Iterable[Event]) -> None:
        """Publish outside any session (the coalesced readings events)."""
        for ev in events:
            self.dispatch(ev)


class PgHub(LocalHub):
    """LISTEN/NOTIFY on PostgreSQL: one listening connection per process and database."""

    kind = "postgres"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._engine = sa.create_engine(url, pool_size=1, max_overflow=2,
                                        pool_pre_ping=True)
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._mine: dict[str, None] = {}  # ids this process delivered itself

    @property
    def live(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._listen, name="signalcraft-listen",
                                            daemon=True)
            self._thread.start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        self.start()
        return self._connected.wait(timeout)

    def _listen(self) -> None:
        import psycopg

        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._connected.set()
                    delay = 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=5.0):
                            try:
                                ev = Event.from_payload(note.payload)
                            except (ValueError, KeyError, TypeError):
                                log.warning("unreadable event payload dropped")
                                continue
                            if ev.id in self._mine:
                                self._mine.pop(ev.id, None)
                                continue
                            self.dispatch(ev)
                        conn.execute("SELECT 1")  # notices a dead server between events
            except Exception as exc:
                was = self._connected.is_set()
                self._connected.clear()
                if was:
                    log.warning("event listener lost its connection (%s); reconnecting", exc)
                    # Whatever happened meanwhile was not heard: everyone starts afresh.
                    self.dispatch(Event("resync", None, {"reason": "listener reconnect"}),
                                  remember=False)
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def send_in_transaction(self, conn: sa.Connection, events: list[Event]) -> None:
        for ev in _fit(events):
            conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": ev.payload()})

    def after_commit(self, events: list[Event]) -> None:
        """This process hears its own events at once (a page reads its own writes);
        the copy coming back through LISTEN is then skipped."""
        for ev in events:
            self._mine[ev.id] = None
            self.dispatch(ev)
        while len(self._mine) > RECENT:
            self._mine.pop(next(iter(self._mine)))

    def send_now(self, events: Iterable[Event]) -> None:
        events = list(events)
        if not events:
            return
        with self._engine.begin() as conn:
            self.send_in_transaction(conn, events)
        self.after_commit(events)


_NOTIFY = sa.text("SELECT pg_notify(:channel, :payload)")


def _fit(events: list[Event]) -> list[Event]:
    """Events whose payload is too big for NOTIFY are split on their id lists."""
    out = []
    for ev in events:
        if len(ev.payload()) <= MAX_PAYLOAD:
            out.append(ev)
            continue
        key = "compressors" if isinstance(ev.data.get("compressors"), list) else None
        if key is None:
            log.warning("event %s too large for NOTIFY; sent as resync", ev.type)
            out.append(Event("resync", ev.org_id, {"reason": "oversize"}, at=ev.at))
            continue
        items = ev.data[key]
        half = max(1, len(items) // 2)
        for part in (items[:half], items[half:]):
            if part:
                out.extend(_fit([Event(ev.type, ev.org_id, {**ev.data, key: part}, at=ev.at)]))
    return out


# ------------------------------------------------------------------ hubs per process
_HUBS: dict[tuple[str, str], LocalHub] = {}
_HUBS_LOCK = threading.Lock()


def hub_for(url: str, backend: str = "auto") -> LocalHub:
    """The process's hub for this database: one per URL, shared by every app object
    of the process (tests create many; they share one listening connection)."""
    postgres = url.startswith("postgresql")
    if backend == "auto":
        backend = "postgres" if postgres else "local"
    if backend == "postgres" and not postgres:
        raise ValueError("SIGNALCRAFT_EVENTS=postgres needs a PostgreSQL DATABASE_URL")
    key = (backend, url)
    with _HUBS_LOCK:
        hub = _HUBS.get(key)
        if hub is None:
            hub = PgHub(url) if backend == "postgres" else LocalHub()
            _HUBS[key] = hub
        return hub


# ------------------------------------------------------------------ publishing
def publish(session: Session, type_: str, org_id: int | None, **data: Any) -> Event:
    """Queue an event on ``session``: sent when its transaction commits, dropped when
    it rolls back."""
    ev = Event(type_, org_id, data)
    session.info.setdefault("sc_events", []).append(ev)
    return ev


def _watched(obj: Any) -> bool:
    from dashboard.core.models import Alert, Compressor

    if isinstance(obj, Compressor):
        return True
    if not isinstance(obj, Alert):
        return False
    # An alert matters to pages when it opens, changes state or severity; a repeat
    # folded into it (count, last seen) does not change what they show.
    state = sa.inspect(obj)
    return (state.pending or state.deleted or state.attrs.state.history.has_changes()
            or state.attrs.severity.history.has_changes())


def _touched_events(session: Session, objects: list[Any]) -> list[Event]:
    """Events for rows any ORM code changed, so no write path can forget to tell:
    a compressor row (its card changes: internal ``compressor``) and an alert
    (``incident``: opened, acknowledged, resolved, new severity). An incident event
    carries what the navbar shows (the organisation's open count, the alert's title and
    severity), so open pages update the badge and toast without asking back."""
    from dashboard.core.models import Alert, Compressor

    seen: dict[tuple[str, int], Event] = {}
    open_counts: dict[int, int] = {}
    for obj in objects:
        if obj.id is None:
            continue
        if isinstance(obj, Compressor):
            seen[("compressor", obj.id)] = Event("compressor", obj.org_id,
                                                 {"compressor": obj.id})
            continue
        if obj.org_id not in open_counts:
            open_counts[obj.org_id] = session.connection().execute(
                sa.select(sa.func.count(Alert.id)).where(
                    Alert.org_id == obj.org_id, Alert.state == "open")).scalar() or 0
        seen[("incident", obj.id)] = Event("incident", obj.org_id, {
            "kind": "alert", "id": obj.id, "compressor": obj.compressor_id,
            "state": obj.state, "severity": obj.severity, "title": obj.title,
            "opened": bool(obj.__dict__.pop("_sc_new", False)),
            "open_count": open_counts[obj.org_id]})
    return list(seen.values())


def _hub_of(session: Session) -> LocalHub | None:
    return session.info.get("sc_hub")


def _send(session: Session, events: list[Event]) -> None:
    hub = _hub_of(session)
    if hub is None or not events:
        return
    hub.send_in_transaction(session.connection(), events)
    session.info.setdefault("sc_sent", []).extend(events)


@sa_event.listens_for(Session, "before_flush")
def _collect_touched(session: Session, _context: Any, _instances: Any) -> None:
    if _hub_of(session) is not None:
        from dashboard.core.models import Alert

        for obj in session.new:
            if isinstance(obj, Alert):
                obj._sc_new = True  # opened in this flush: its event says so, once
        session.info.setdefault("sc_touched", []).extend(
            o for o in (*session.new, *session.dirty, *session.deleted) if _watched(o))


@sa_event.listens_for(Session, "after_flush")
def _send_touched(session: Session, _context: Any) -> None:
    touched = session.info.pop("sc_touched", None)
    if touched:  # after the INSERTs: new alerts have their ids now
        _send(session, _touched_events(session, touched))


@sa_event.listens_for(Session, "before_commit")
def _send_before_commit(session: Session) -> None:
    pending = session.info.pop("sc_events", None)
    if pending:
        # Stamped now: as close to the commit (when it is stored) as we can.
        _send(session, [Event(e.type, e.org_id, e.data, id=e.id) for e in pending])


@sa_event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    sent = session.info.pop("sc_sent", None)
    hub = _hub_of(session)
    if sent and hub is not None:
        hub.after_commit(sent)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous: Any) -> None:
    if getattr(previous, "nested", False) or getattr(previous, "parent", None) is not None:
        return  # a savepoint: the outer transaction may still commit what it queued
    for key in ("sc_events", "sc_sent", "sc_touched"):
        session.info.pop(key, None)
