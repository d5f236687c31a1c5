"""Call a Dash callback through the real HTTP endpoint (``/_dash-update-component``)
with the Flask test client, the way the browser does: login gate, ``@guarded``
role check, organisation scoping and JSON encoding all run."""

from __future__ import annotations

import json
from typing import Any


def callback_key(app: Any, output: str) -> str:
    """The callback-map key of the callback writing ``output`` ("id.property")."""
    for key in app.callback_map:
        parts = [p.split("@")[0] for p in key.strip(".").split("...")]
        if output in parts:
            return key
    raise KeyError(f"no callback writes {output}")


def _spec(item: Any) -> dict[str, Any]:
    return {"id": item.component_id, "property": item.component_property}


def call_callback(client: Any, app: Any, output: str, values: dict[str, Any] | None = None,
                  triggered: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """POST one callback call. ``values`` maps "id.property" of inputs and states to
    their values (missing ones are None); ``triggered`` names the changed input."""
    values = values or {}
    key = callback_key(app, output)
    spec = app.callback_map[key]
    outputs = spec["output"]
    multi = isinstance(outputs, list)
    out_specs = [_spec(o) for o in (outputs if multi else [outputs])]

    def filled(items: list[dict]) -> list[dict]:
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in items]

    inputs = filled(spec["inputs"])
    body = {
        "output": key,
        "outputs": out_specs if multi else out_specs[0],
        "inputs": inputs,
        "state": filled(spec["state"]),
        "changedPropIds": [triggered or f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json", headers=headers or {})


def output_of(resp: Any, component_id: str, prop: str) -> Any:
    """One output's value from a callback response (which must be 200)."""
    assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_json()["response"][component_id][prop]


def text_of(component: Any) -> str:
    """All text inside a serialised Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, list):
        return " ".join(text_of(c) for c in component)
    if isinstance(component, dict):
        return text_of(component.get("props", {}).get("children"))
    return ""


def ids_in(component: Any) -> set[str]:
    """Every string id in a serialised Dash component tree."""
    from plotly.utils import PlotlyJSONEncoder

    found: set[str] = set()
    text = json.dumps(component, cls=PlotlyJSONEncoder)
    for part in text.split('"id": "')[1:]:
        found.add(part.split('"')[0])
    return found


def page_layout(server: Any, path: str, user_email: str, **query: Any) -> Any:
    """A page's layout as ``user_email`` sees it (the registered layout function,
    called inside a request with that user logged in)."""
    import dash
    from flask_login import login_user
    from plotly.utils import PlotlyJSONEncoder

    from dashboard.core.database import db_session
    from dashboard.core.models import User

    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    with server.test_request_context(path):
        login_user(db_session().query(User).filter_by(email=user_email).one())
        return json.loads(json.dumps(page["layout"](**query), cls=PlotlyJSONEncoder))
