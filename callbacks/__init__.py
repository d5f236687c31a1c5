"""Callbacks, one module per page, each with ``register(app)``."""

from __future__ import annotations

import dash

from callbacks import health, shell


def register_all(app: dash.Dash) -> None:
    for module in (shell, health):
        module.register(app)
