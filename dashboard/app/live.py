"""The browser's event stream: ``GET /api/live/events`` (server-sent events).

One stream per open tab, for a logged-in user, carrying only their organisation's
events (``dashboard.core.events.BROWSER_TYPES``). ``retry:`` tells the browser to
reconnect after 3 s; it then sends ``Last-Event-ID`` (or ``?last_event_id=`` when the
page reopens the stream itself) and gets what it missed, or a ``resync`` event when
that is no longer known (the page then refreshes everything). A ``ready`` event says
the stream is listening; a ``heartbeat`` every ``SIGNALCRAFT_LIVE_HEARTBEAT`` seconds
keeps proxies from closing it and lets the page notice a dead one. A stream ends
after ``MAX_STREAM_SECONDS`` or when the user is deactivated or logged out everywhere
(the browser reconnects, and its session cookie is checked again).

A stream holds no database connection while it waits: a thread blocked on its queue
(gthread workers; see gunicorn.conf.py)."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_login import current_user

from dashboard.core.database import events_hub, session_scope
from dashboard.core.events import BROWSER_TYPES, Event
from dashboard.core.models import User
from dashboard.core.observability import LIVE_EVENTS, LIVE_STREAMS

bp = Blueprint("live", __name__)
MAX_STREAM_SECONDS = 1800
USER_CHECK_SECONDS = 60


_TEXTS: dict[str, str] = {}  # event id -> its message: encoded once for every stream


def sse(event: Event | None, kind: str | None = None, data: Any = None) -> str:
    """One message in the text/event-stream format."""
    if event is not None:
        text = _TEXTS.get(event.id)
        if text is None:
            body = json.dumps({"at": event.at, **event.data}, separators=(",", ":"),
                              default=str)
            head = f"id: {event.id}\nevent: {event.type}\n" if event.type != "resync" \
                else "event: resync\n"
            text = f"{head}data: {body}\n\n"
            if len(_TEXTS) > 4000:
                _TEXTS.clear()
            _TEXTS[event.id] = text
        return text
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def merge_readings(events: list[Event]) -> list[Event]:
    """Consecutive ``readings`` events (several processes flush at once) become one."""
    out: list[Event] = []
    for ev in events:
        last = out[-1] if out else None
        if ev.type == "readings" and last is not None and last.type == "readings":
            out[-1] = Event("readings", ev.org_id, {
                "compressors": sorted(set(last.data.get("compressors", []))
                                      | set(ev.data.get("compressors", []))),
                "online": sorted(set(last.data.get("online", []))
                                 | set(ev.data.get("online", [])))},
                id=ev.id, at=min(last.at, ev.at))
        else:
            out.append(ev)
    return out


def _still_allowed(app: Flask, user_id: int, version: int, org_id: int) -> bool:
    with session_scope(app) as session:
        user = session.get(User, user_id)
        return bool(user is not None and user.is_active and user.session_version == version
                    and user.org_id == org_id)


@bp.get("/api/live/events")
def events() -> Any:
    if not current_user.is_authenticated or current_user.org_id is None:
        return jsonify(error="unauthorized", detail="login required"), 401
    org_id, user_id = current_user.org_id, current_user.id
    version = current_user.session_version
    app = current_app._get_current_object()
    hub = events_hub()
    heartbeat = float(app.config.get("LIVE_HEARTBEAT_SECONDS", 15) or 15)
    last_id = (request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
               or "").strip()[:80]
    # The stream lasts minutes: give the request's database connection back now.
    session = g.pop("sc_session", None)
    if session is not None:
        session.close()

    inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def on_event(ev: Event) -> None:
        if ev.type in BROWSER_TYPES and ev.org_id in (org_id, None):
            inbox.put(ev)

    def generate() -> Iterator[str]:
        hub.subscribe(on_event)
        backlog = hub.events_after(last_id, org_id) if last_id else []
        LIVE_STREAMS.inc()
        try:
            yield "retry: 3000\n\n"
            if backlog is None:
                yield sse(Event("resync", org_id, {"reason": "missed events"}))
            else:
                for ev in merge_readings(backlog):
                    yield sse(ev)
            if hasattr(hub, "wait_connected"):
                hub.wait_connected(5.0)
            yield sse(None, "ready", {"at": time.time()})
            started = checked = time.monotonic()
            while time.monotonic() - started < MAX_STREAM_SECONDS:
                try:
                    batch = [inbox.get(timeout=heartbeat)]
                except queue.Empty:
                    yield sse(None, "heartbeat", {"at": time.time()})
                    batch = []
                while True:
                    try:
                        batch.append(inbox.get_nowait())
                    except queue.Empty:
                        break
                for ev in merge_readings(batch):
                    LIVE_EVENTS.inc()
                    yield sse(ev)
                if time.monotonic() - checked > USER_CHECK_SECONDS:
                    checked = time.monotonic()
                    if not _still_allowed(app, user_id, version, org_id):
                        return
        finally:
            hub.unsubscribe(on_event)
            LIVE_STREAMS.dec()

    return Response(generate(), mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
