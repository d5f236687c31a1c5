"""The shell around every page: a responsive navbar (collapses to a menu on a phone),
the page container, and the user's menu. Built per request so it shows only the
pages the user's role may open."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from dashboard.auth import user_has_role

# (path, label, icon, minimum role), in navbar order; only pages that exist.
NAV_ITEMS = [
    ("/", "Fleet health · 설비 상태", "fa-solid fa-heart-pulse", "viewer"),
]


def navbar() -> dbc.Navbar:
    links = [
        dbc.NavItem(
            dbc.NavLink(
                [html.I(className=f"{icon} me-1"), label],
                href=path,
                active="exact",
                id=f"nav-{path.strip('/') or 'health'}",
            )
        )
        for path, label, icon, role in NAV_ITEMS
        if user_has_role(role)
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
