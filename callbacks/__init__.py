"""Callbacks, one module per page, each with ``register(app)``. Every module of this
package that defines ``register`` is registered, so a new page needs no edit here."""

from __future__ import annotations

import importlib
import pkgutil

import dash


def register_all(app: dash.Dash) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)
