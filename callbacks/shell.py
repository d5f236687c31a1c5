"""The navbar's own callback: open and close the menu on a phone."""

from __future__ import annotations

import dash
from dash import Input, Output, State

from callbacks.guard import guarded


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("nav-collapse", "is_open"),
        Input("nav-toggler", "n_clicks"),
        State("nav-collapse", "is_open"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def toggle_navbar(n_clicks: int | None, is_open: bool | None) -> bool:
        return not is_open
