"""Every callback passes through ``guarded``: it refuses (no update) when the user is
not logged in, is disabled, or lacks the role. Organisation scoping is the query
functions' job: they take ``current_user.org_id``, never an id from the browser.

``GUARDED`` names every guarded function, so a test can walk Dash's callback map and
prove that nothing was left unguarded."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from dash.exceptions import PreventUpdate
from flask_login import current_user

from dashboard.core.models import ROLE_RANK

GUARDED: set[str] = set()


def guarded(min_role: str = "viewer") -> Callable:
    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                raise PreventUpdate
            if ROLE_RANK.get(current_user.role, -1) < ROLE_RANK[min_role]:
                raise PreventUpdate
            return fn(*args, **kwargs)

        GUARDED.add(f"{fn.__module__}.{fn.__qualname__}")
        wrapped.__signalcraft_min_role__ = min_role  # type: ignore[attr-defined]
        return wrapped

    return decorator
