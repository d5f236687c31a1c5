"""Maintenance notes on a compressor's timeline: read by everyone in the organisation,
written by managers. Every function takes the organisation and refuses notes and
compressors of any other one as "not found"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.i18n import _
from dashboard.core.models import Compressor, MaintenanceNote, User, utcnow

MAX_NOTE_LENGTH = 2000


class NoteError(ValueError):
    """A note that cannot be saved; the message is shown to the user."""


@dataclass(frozen=True)
class NoteView:
    id: int
    ts: dt.datetime
    text: str
    author: str


def list_notes(session: Session, org_id: int, compressor_id: int,
               start: dt.datetime | None = None, end: dt.datetime | None = None,
               limit: int = 500) -> list[NoteView]:
    stmt = (
        sa.select(MaintenanceNote.id, MaintenanceNote.ts, MaintenanceNote.text,
                  sa.func.coalesce(User.name, User.email, ""))
        .outerjoin(User, User.id == MaintenanceNote.author_id)
        .where(MaintenanceNote.org_id == org_id, MaintenanceNote.compressor_id == compressor_id)
        .order_by(MaintenanceNote.ts.desc())
        .limit(limit)
    )
    if start is not None:
        stmt = stmt.where(MaintenanceNote.ts >= start)
    if end is not None:
        stmt = stmt.where(MaintenanceNote.ts < end)
    return [NoteView(id=i, ts=t, text=x, author=a or "") for i, t, x, a in session.execute(stmt)]


def _clean_text(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise NoteError(_("Write what was done."))
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise NoteError(_("At most %(MAX_NOTE_LENGTH)s characters.",
                                     MAX_NOTE_LENGTH=MAX_NOTE_LENGTH))
    return cleaned


def _owned_note(session: Session, org_id: int, note_id: int) -> MaintenanceNote:
    note = session.scalar(sa.select(MaintenanceNote).where(
        MaintenanceNote.id == note_id, MaintenanceNote.org_id == org_id))
    if note is None:
        raise NoteError(_("Note not found."))
    return note


def add_note(session: Session, org_id: int, compressor_id: int, ts: dt.datetime,
             text: str | None, author_id: int | None) -> MaintenanceNote:
    compressor = session.scalar(sa.select(Compressor.id).where(
        Compressor.id == compressor_id, Compressor.org_id == org_id))
    if compressor is None:
        raise NoteError(_("Compressor not found."))
    now = utcnow()
    note = MaintenanceNote(org_id=org_id, compressor_id=compressor_id, ts=ts,
                           text=_clean_text(text), author_id=author_id, created_at=now,
                           updated_at=now)
    session.add(note)
    session.commit()
    return note


def update_note(session: Session, org_id: int, note_id: int, ts: dt.datetime,
                text: str | None) -> MaintenanceNote:
    note = _owned_note(session, org_id, note_id)
    note.text = _clean_text(text)
    note.ts = ts
    note.updated_at = utcnow()
    session.commit()
    return note


def delete_note(session: Session, org_id: int, note_id: int) -> None:
    session.delete(_owned_note(session, org_id, note_id))
    session.commit()


def get_note(session: Session, org_id: int, note_id: int) -> NoteView | None:
    try:
        note = _owned_note(session, org_id, note_id)
    except NoteError:
        return None
    return NoteView(id=note.id, ts=note.ts, text=note.text, author="")
