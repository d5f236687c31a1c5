"""Malformed calls of ``/_dash-update-component`` answer 400 JSON, not a 500 with a
traceback (issue 17). Dash trusts the browser's renderer to send a body that matches
the callback's spec; anyone can send another. The body is checked against the
callback map before Dash dispatches it, and the errors Dash raises from a body it
cannot map (``CallbackException`` and the lookup errors of its dispatcher) are answered
as 400 as well. Also the cross-site check: a POST whose Origin (or Referer) is another
site is refused (403), whatever its content type."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlparse

import dash
from dash.exceptions import CallbackException, InvalidCallbackReturnValue, PreventUpdate
from flask import Flask, jsonify, request
from sqlalchemy import exc as sa_exc

from dashboard.core.database import db_session

log = logging.getLogger("signalcraft.callbacks")

ENDPOINT = "/_dash-update-component"
MAX_LIST = 10_000  # pattern-matched inputs of one call; no page has nearly as many


class MalformedCallback(ValueError):
    """A body that does not match the callback it names; the text is for the log."""


def _output_specs(outputs: Any) -> list[tuple[str, str]]:
    items = outputs if isinstance(outputs, list) else [outputs]
    out = []
    for item in items:
        cid = item.component_id
        out.append((json.dumps(cid, sort_keys=True, separators=(",", ":"))
                    if isinstance(cid, dict) else cid, item.component_property))
    return out


def _is_pattern(component_id: str) -> bool:
    return component_id.startswith("{")


def _prop(value: Any) -> Any:
    # outputs with allow_duplicate carry "@<hash>" after the property
    return value.split("@")[0] if isinstance(value, str) else value


def _check_item(item: Any, spec_id: str, spec_prop: str, where: str) -> None:
    if _is_pattern(spec_id):
        # ALL / ALLSMALLER arrive as lists of {id, property, value}, MATCH as one dict
        entries = item if isinstance(item, list) else [item]
        if len(entries) > MAX_LIST:
            raise MalformedCallback(f"{where}: too many entries")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), dict) \
                    or _prop(entry.get("property")) != _prop(spec_prop):
                raise MalformedCallback(f"{where}: not a pattern-matching item")
        return
    if not isinstance(item, dict):
        raise MalformedCallback(f"{where}: not an object")
    if item.get("id") != spec_id or _prop(item.get("property")) != _prop(spec_prop):
        raise MalformedCallback(f"{where}: expected {spec_id}.{spec_prop}")


def check_body(app: dash.Dash, body: Any) -> None:
    """Raise MalformedCallback unless ``body`` has the shape of a call of the callback
    it names: outputs, inputs and state as many as, and the same as, in its spec."""
    if not isinstance(body, dict):
        raise MalformedCallback("body is not an object")
    key = body.get("output")
    if not isinstance(key, str) or key not in app.callback_map:
        raise MalformedCallback("unknown callback")
    spec = app.callback_map[key]
    for name in ("inputs", "state"):
        items = body.get(name, [] if name == "state" else None)
        wanted = spec[name]
        if not isinstance(items, list) or len(items) != len(wanted):
            raise MalformedCallback(f"{name}: expected {len(wanted)} items")
        for n, (item, want) in enumerate(zip(items, wanted, strict=True)):
            _check_item(item, want["id"], want["property"], f"{name}[{n}]")
    outputs = body.get("outputs")
    wanted_out = _output_specs(spec["output"])
    multi = isinstance(spec["output"], list)
    if multi:
        if not isinstance(outputs, list) or len(outputs) != len(wanted_out):
            raise MalformedCallback(f"outputs: expected {len(wanted_out)} items")
    else:
        outputs = [outputs]
    for n, (item, (oid, oprop)) in enumerate(zip(outputs, wanted_out, strict=True)):
        _check_item(item, oid, oprop, f"outputs[{n}]")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed) \
            or len(changed) > MAX_LIST:
        raise MalformedCallback("changedPropIds: expected a list of strings")


def _same_site(server: Flask) -> bool:
    """Origin, else Referer, must name this host; a request with neither (a script
    that is not a browser) passes, since browsers always send Origin on a POST."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return True
    parsed = urlparse(source)  # Origin "null" (a sandboxed frame) has no host: refused
    allowed = {request.host.lower()}
    allowed.update(h.strip().lower() for h in str(server.config.get("ALLOWED_ORIGINS") or "")
                   .split(",") if h.strip())
    return parsed.netloc.lower() in allowed


def _bad_request(detail: str) -> Any:
    return jsonify(error="bad_callback", detail=detail), 400


def init_app(app: dash.Dash) -> None:
    server: Flask = app.server
    original = server.view_functions[ENDPOINT]

    def update_component(*args: Any, **kwargs: Any) -> Any:
        if not _same_site(server):
            return jsonify(error="cross_site", detail="cross-site request refused"), 403
        body = request.get_json(silent=True)
        try:
            check_body(app, body)
        except MalformedCallback as exc:
            log.info("malformed callback call refused: %s", exc)
            return _bad_request("the request does not match the callback")
        try:
            return original(*args, **kwargs)
        except PreventUpdate:
            raise  # Dash answers it with 204 (its own error handler)
        except (CallbackException, InvalidCallbackReturnValue) as exc:
            log.warning("callback call refused by Dash: %s", exc.__class__.__name__)
            return _bad_request("the request does not match the callback")
        except (KeyError, IndexError, TypeError, AttributeError, ValueError, OverflowError,
                RecursionError, sa_exc.DataError) as exc:
            # Dash's dispatcher maps the body onto the callback's arguments; a body that
            # passed the shape check can still carry values it cannot map.
            log.warning("callback %s refused its request: %r", str(body.get("output"))[:200],
                        exc)
            if isinstance(exc, sa_exc.DataError):  # e.g. an id past BIGINT on PostgreSQL
                db_session().rollback()
            return _bad_request("the request does not match the callback")

    server.view_functions[ENDPOINT] = update_component
