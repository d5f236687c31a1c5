"""How the settings callbacks run a change a person asked for: one transaction with a
green or red message, the pattern-matching id that was clicked, and the version counter
that makes a table reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import ctx
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from dashboard.core.database import db_session
from dashboard.core.i18n import UserMessageError
from dashboard.core.models import User
from dashboard.ui.context import me
from dashboard.ui.settings_tables import feedback

ActionResult = tuple[Any, bool]


def run_action(action: Callable[[Session, User], str]) -> ActionResult:
    """Run one change in the request's session: commit and a green message, or roll
    back and a red one. A UserMessageError or ValueError carries the reason to show."""
    db = db_session()
    try:
        message = action(db, me())
        db.commit()
    except UserMessageError as exc:
        db.rollback()
        return feedback(exc.localized(), False), False
    except ValueError as exc:  # e.g. FirmwareError, translated where it was raised
        db.rollback()
        return feedback(str(exc), False), False
    return feedback(message, True), True


def clicked() -> dict[str, Any]:
    """The pattern-matching id that fired, only for a real click (not a re-render)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0]["value"]):
        raise PreventUpdate
    return dict(trigger)


def bump(version: int | None) -> int:
    return (version or 0) + 1
