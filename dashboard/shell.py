"""The shell around every page: a responsive navbar (collapses to a menu on a phone),
the page container, and the user's menu. Built per request so it shows only the
pages the user's role may open."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from dashboard.auth import user_has_role
from dashboard.i18n import tr

def nav_items() -> list[dict]:
    """Pages that ask for a navbar entry: ``dash.register_page(..., nav_order=N,
    nav_label=("English", "한국어"), nav_icon="fa-solid fa-x", min_role="viewer")``."""
    pages = [p for p in dash.page_registry.values() if p.get("nav_order") is not None]
    return sorted(pages, key=lambda p: p["nav_order"])


def navbar() -> dbc.Navbar:
    links = [
        dbc.NavItem(
            dbc.NavLink(
                [html.I(className=f"{page.get('nav_icon', 'fa-solid fa-circle')} me-1"),
                 tr(*page["nav_label"])],
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
                        f"{current_user.email} · {current_user.role}", header=True
                    ),
                    dbc.DropdownMenuItem(
                        [html.I(className="fa-solid fa-right-from-bracket me-1"), "Log out · 로그아웃"],
                        href="/logout",
                        external_link=True,
                        id="nav-logout",
                    ),
                ],
                label=html.Span([html.I(className="fa-solid fa-user me-1"), current_user.name or "Account"]),
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
                    dbc.Nav(links + user_menu, className="ms-auto", navbar=True),
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


def shell_layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="shell-url"),
            navbar(),
            dbc.Container(dash.page_container, fluid=True, className="pb-4"),
        ]
    )
