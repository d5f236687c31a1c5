"""The shell around every page: a responsive navbar (collapses to a menu on a phone),
the page container, and the user's menu. Built per request so it shows only the
pages the user's role may open."""

from __future__ import annotations

import json

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from dashboard.accounts.auth import user_has_role
from dashboard.core.i18n import _
from dashboard.core.models import ROLE_LABELS


def nav_items() -> list[dict]:
    """Pages that ask for a navbar entry: ``dash.register_page(..., nav_order=N,
    nav_label=N_("Label"), nav_icon="fa-solid fa-x", min_role="viewer")``."""
    pages = [p for p in dash.page_registry.values() if p.get("nav_order") is not None]
    return sorted(pages, key=lambda p: p["nav_order"])


def navbar() -> dbc.Navbar:
    links = [
        dbc.NavItem(
            dbc.NavLink(
                [html.I(className=f"{page.get('nav_icon', 'fa-solid fa-circle')} me-1"),
                 _(page["nav_label"])],
                href=page["path"],
                active="exact" if page["path"] == "/" else "partial",
                id=f"nav-{page['path'].strip('/') or 'health'}",
            )
        )
        for page in nav_items()
        if user_has_role(page.get("min_role", "viewer"))
    ]
    user_menu = []
    if current_user.is_authenticated:
        user_menu = [
            dbc.DropdownMenu(
                [
                    dbc.DropdownMenuItem(
                        f"{current_user.email} · "
                        f"{_(ROLE_LABELS.get(current_user.role, current_user.role))}",
                        header=True
                    ),
                    # logout is a POST (with the form CSRF token): a link could be
                    # followed by a prefetch or another site
                    html.Form([
                        dcc.Input(type="hidden", name="csrf_token", value=generate_csrf(),
                                  id="nav-logout-csrf"),
                        html.Button([html.I(className="fa-solid fa-right-from-bracket me-1"),
                                     _("Log out")], type="submit",
                                    className="dropdown-item", id="nav-logout"),
                    ], method="POST", action="/logout", id="nav-logout-form"),
                ],
                label=html.Span([html.I(className="fa-solid fa-user me-1"),
                                 current_user.name or _("Account")]),
                nav=True,
                align_end=True,
                id="nav-user",
            )
        ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.I(className="fa-solid fa-wave-square me-2"), "SignalCraft"], href="/"
                ),
                dbc.NavbarToggler(id="nav-toggler"),
                dbc.Collapse(
                    dbc.Nav(links + alerts_badge() + language_toggle() + user_menu,
                            className="ms-auto", navbar=True),
                    id="nav-collapse",
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        sticky="top",
        className="mb-3",
    )


def alerts_badge() -> list:
    """A bell with the organisation's open-alert count (callbacks/alerts_badge.py)."""
    if not current_user.is_authenticated:
        return []
    return [dbc.NavItem(dbc.NavLink(
        [html.I(className="fa-solid fa-bell", title=_("Open alerts")),
         dbc.Badge("", id="alerts-badge-count", color="danger", pill=True,
                   className="ms-1 d-none")],
        href="/alerts", id="alerts-badge-link",
    ))]


def language_toggle() -> list:
    """한 / EN buttons; callbacks/language.py stores the choice on the user and reloads
    the page (through ``nav-lang-reload``) so every text follows."""
    if not current_user.is_authenticated:
        return []
    lang = getattr(current_user, "language", "ko")
    return [dbc.NavItem(html.Div(
        [dbc.Button("한", id="nav-lang-ko", size="sm", title="한국어",
                    color="light" if lang == "ko" else "outline-light"),
         dbc.Button("EN", id="nav-lang-en", size="sm", title="English",
                    color="light" if lang == "en" else "outline-light"),
         dcc.Location(id="nav-lang-reload", refresh=True)],
        className="btn-group sc-lang my-2 my-lg-0 mx-lg-2", role="group",
    ))]


def live_parts() -> list:
    """The event stream's anchors (assets/live.js): a marker the script finds, the
    store it writes each batch of events into, and the stream's up/down state."""
    if not current_user.is_authenticated:
        return []
    texts = {"just_now": _("just now"), "open_alerts": _("Open alerts")}
    return [
        html.Div(id="live-root", hidden=True, **{
            "data-stream": "/api/live/events",
            "data-heartbeat": str(current_app.config.get("LIVE_HEARTBEAT_SECONDS", 15)),
            "data-texts": json.dumps(texts, ensure_ascii=False)}),
        dcc.Store(id="live-event"),
        dcc.Store(id="live-status"),
    ]


def shell_layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="shell-url"),
            *live_parts(),
            navbar(),
            dbc.Container(dash.page_container, fluid=True, className="pb-4"),
            # New-alert toasts on every page; the store remembers the newest alert seen.
            html.Div(id="alerts-toasts", style={
                "position": "fixed", "top": "4.5rem", "right": "1rem", "zIndex": 1080,
                "width": "min(360px, 92vw)"}),
            # Pushed: refreshed on incident events; the interval is the fallback poll,
            # running only while the event stream is down.
            dcc.Interval(id="alerts-badge-interval", disabled=True,
                         interval=current_app.config.get("ALERTS_REFRESH_MS", 60000)),
            dcc.Store(id="alerts-badge-live"),
            dcc.Store(id="alerts-badge-seen", storage_type="session"),
        ]
    )
