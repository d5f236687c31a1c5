"""Every callback passes through ``guarded``: it refuses (no update) when the user is
not logged in, is disabled, or lacks the role (``"operator"``: a platform operator,
from configuration; no organisation role reaches it). Organisation scoping is the query
functions' job: they take ``current_user.org_id``, never an id from the browser.

``GUARDED`` names every guarded function, so a test can walk Dash's callback map and
prove that nothing was left unguarded."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from dash.exceptions import PreventUpdate
from flask_login import current_user

from dashboard.accounts.operators import OPERATOR, current_is_operator
from dashboard.core.models import ROLE_RANK

GUARDED: set[str] = set()


def guarded(min_role: str = "viewer") -> Callable:
    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                raise PreventUpdate
            if min_role == OPERATOR:
                # configuration only (SIGNALCRAFT_OPERATOR_EMAILS), never a role
                if not current_is_operator():
                    raise PreventUpdate
            elif ROLE_RANK.get(current_user.role, -1) < ROLE_RANK[min_role]:
                raise PreventUpdate
            return fn(*args, **kwargs)

        GUARDED.add(f"{fn.__module__}.{fn.__qualname__}")
        wrapped.__signalcraft_min_role__ = min_role  # type: ignore[attr-defined]
        return wrapped

    return decorator
