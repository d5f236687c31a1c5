"""Maintenance notes on the compressor page: everyone reads them, managers add, edit
and delete. A change bumps ``compressor-notes-version`` so the charts redraw their
note marks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.guard import guarded
from dashboard.accounts.auth import user_has_role
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import utcnow
from dashboard.core.timezones import local_text, zone
from dashboard.fleet.notes import (
    NoteError,
    add_note,
    delete_note,
    get_note,
    list_notes,
    update_note,
)
from dashboard.fleet.timeseries import owned_compressor
from dashboard.ui.context import user_zone_name

INPUT_FORMAT = "%Y-%m-%dT%H:%M"


def parse_local_input(value: str | None, tz: str) -> dt.datetime:
    """A datetime-local input value (the user's wall clock) -> UTC; empty is now."""
    if not value:
        return utcnow()
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise NoteError(_("Enter a valid date and time.")) from exc
    return naive.replace(tzinfo=zone(tz)).astimezone(dt.UTC)


def notes_list(compressor_id: str | None) -> list:
    session = db_session()
    compressor = owned_compressor(session, current_user.org_id, compressor_id)
    if compressor is None:
        return []
    notes = list_notes(session, current_user.org_id, compressor.id, limit=100)
    if not notes:
        return [html.P(_("No notes yet."),
                       className="text-secondary small mb-0", id="compressor-notes-empty")]
    editable = user_has_role("manager")
    tz = user_zone_name()
    items = []
    for note in notes:
        meta = [html.Small(f"{local_text(note.ts, tz)} · {note.author}",
                           className="text-secondary")]
        if editable:
            meta.append(dbc.Button(html.I(className="fa-solid fa-pen"), size="sm", color="link",
                                   className="py-0", title=_("Edit"),
                                   id={"type": "compressor-note-edit", "index": note.id}))
        items.append(html.Div([html.Div(meta, className="d-flex align-items-center gap-1"),
                               html.Div(note.text, className="sc-note-text",
                                        style={"whiteSpace": "pre-wrap"})],
                              className="sc-note", id=f"compressor-note-{note.id}"))
    return items


def _note_id(value: Any) -> int | None:
    """The note being edited, from a dcc.Store anyone can write: an id or nothing."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) \
            or not str(value).isdigit() or len(str(value)) > 18:
        raise NoteError(_("Note not found."))
    return int(value)


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("compressor-notes", "children"),
        Input("compressor-id", "data"),
        Input("compressor-notes-version", "data"),
    )
    @guarded("viewer")
    def show_notes(compressor_id: str | None, _version: int | None) -> list:
        return notes_list(compressor_id)

    @app.callback(
        Output("compressor-note-ts", "value", allow_duplicate=True),
        Output("compressor-note-text", "value", allow_duplicate=True),
        Output("compressor-note-editing", "data", allow_duplicate=True),
        Output("compressor-note-delete", "style", allow_duplicate=True),
        Output("compressor-note-cancel", "style", allow_duplicate=True),
        Input({"type": "compressor-note-edit", "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    @guarded("manager")
    def start_editing(clicks: list[int | None]) -> tuple:
        if not ctx.triggered_id or not any(clicks):
            raise PreventUpdate
        try:
            note_id = _note_id(ctx.triggered_id["index"])
        except (NoteError, TypeError, KeyError) as exc:
            raise PreventUpdate from exc
        note = get_note(db_session(), current_user.org_id, note_id) if note_id else None
        if note is None:
            raise PreventUpdate
        ts = note.ts.astimezone(zone(user_zone_name())).strftime(INPUT_FORMAT)
        return ts, note.text, note.id, {}, {}

    @app.callback(
        Output("compressor-notes-version", "data"),
        Output("compressor-note-message", "children"),
        Output("compressor-note-ts", "value"),
        Output("compressor-note-text", "value"),
        Output("compressor-note-editing", "data"),
        Output("compressor-note-delete", "style"),
        Output("compressor-note-cancel", "style"),
        Input("compressor-note-save", "n_clicks"),
        Input("compressor-note-delete", "n_clicks"),
        Input("compressor-note-cancel", "n_clicks"),
        State("compressor-id", "data"),
        State("compressor-note-ts", "value"),
        State("compressor-note-text", "value"),
        State("compressor-note-editing", "data"),
        State("compressor-notes-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("manager")
    def save_note(_save: int | None, _delete: int | None, _cancel: int | None,
                  compressor_id: str | None, ts_value: str | None, text: str | None,
                  editing: int | None, version: int | None) -> tuple:
        hidden = {"display": "none"}
        reset = ("", "", None, hidden, hidden)
        if ctx.triggered_id == "compressor-note-cancel":
            return (no_update, "", *reset)
        session = db_session()
        compressor = owned_compressor(session, current_user.org_id, compressor_id)
        if compressor is None:
            return (no_update, _("Compressor not found."),
                    *[no_update] * 5)
        try:
            editing = _note_id(editing)
            if ctx.triggered_id == "compressor-note-delete":
                if editing is None:
                    raise PreventUpdate
                delete_note(session, current_user.org_id, int(editing))
                message = _("Note deleted.")
            else:
                ts = parse_local_input(ts_value, user_zone_name())
                if editing is not None:
                    update_note(session, current_user.org_id, int(editing), ts, text)
                    message = _("Note updated.")
                else:
                    add_note(session, current_user.org_id, compressor.id, ts, text,
                             current_user.id)
                    message = _("Note saved.")
        except NoteError as exc:
            session.rollback()
            return (no_update, html.Span(str(exc), className="text-danger"), *[no_update] * 5)
        return ((version or 0) + 1, html.Span(message, className="text-success"), *reset)
