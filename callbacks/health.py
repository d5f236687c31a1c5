"""Callbacks of the live health page: the fleet grouped by site, refreshed live."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, html
from flask import current_app
from flask_login import current_user

from callbacks.guard import guarded
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import utcnow
from dashboard.core.sensors import METRICS
from dashboard.core.snapshots import snapshots
from dashboard.core.timezones import local_text
from dashboard.fleet.overview import (
    CompressorCard,
    cards_from_rows,
    fleet_rows,
    health_sparklines,
    org_sites,
    status_counts,
)
from dashboard.ui.context import user_zone_name
from dashboard.ui.figures.base import STATUS_BADGE, STATUS_ORDER, status_label
from dashboard.ui.figures.fleet import sparkline_svg, svg_data_uri
from dashboard.ui.trends import card_projection

# Above this many compressors "auto" shows compact tiles: full cards for 500
# compressors are a megabyte per refresh, too much for a phone every few seconds.
AUTO_TILES_ABOVE = 60


def humanize_age(then: dt.datetime | None, now: dt.datetime) -> str:
    if then is None:
        return _("never")
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return _("%(seconds)ss ago", seconds=seconds)
    if seconds < 3600:
        return _("%(minutes)s min ago", minutes=seconds // 60)
    if seconds < 86400:
        return _("%(hours)s h ago", hours=seconds // 3600)
    return _("%(days)s d ago", days=seconds // 86400)


def element(tag: str, children: Any = None, namespace: str = "dash_html_components",
            **props: Any) -> dict[str, Any]:
    """A component as the JSON Dash sends it, built without its Python class: the
    classes validate every prop (~50 µs a component), which for 500 cards of ~25
    elements took 0.8 s of a 1.1 s refresh."""
    if children is not None:
        props["children"] = children
    return {"type": tag, "namespace": namespace, "props": props}


def card_texts() -> dict[str, str]:
    """The card's fixed words in the user's language, looked up once per refresh."""
    texts = {"health": _("Health"), "seen": _("Last seen "),
             "no_data": _("No readings yet"),
             "spark": _("Health score, last 24 h")}
    texts.update({f"metric-{key}": _(metric.short) for key, metric in METRICS.items()})
    texts.update({f"status-{status}": status_label(status) for status in STATUS_BADGE})
    return texts


def compressor_card(card: CompressorCard, now: dt.datetime,
                    spark: list[float | None] | None = None,
                    texts: dict[str, str] | None = None) -> dict[str, Any]:
    texts = texts or card_texts()
    score = "—" if card.health_score is None else f"{card.health_score:.0f}"
    metrics = [
        element("Div", [texts[f"metric-{key}"] + " ",
                        element("Span", f"{card.last_metrics[key]:.1f} {METRICS[key].unit}",
                                id=f"health-metric-{card.id}-{key}")],
                className="sc-metric")
        for key in METRICS if key in card.last_metrics
    ]
    color = STATUS_BADGE.get(card.status, "secondary")
    body = [
        element("Div", [
            element("Div", [element("Div", texts["health"], className="sc-kicker"),
                            element("Div", score, className="sc-score",
                                    id=f"health-score-{card.id}")]),
            element("Img", src=svg_data_uri(sparkline_svg(spark or [])), alt="",
                    className="sc-spark", title=texts["spark"]),
        ], className="d-flex justify-content-between align-items-end"),
        element("Div", card.suspected_fault or "", className="small text-danger sc-fault",
                id=f"health-fault-{card.id}"),
        element("Div", card_projection(card.health_trend),
                className="small text-warning-emphasis sc-projection",
                id=f"health-projection-{card.id}"),
        element("Div", metrics or element("Span", texts["no_data"], className="text-secondary"),
                className="sc-metrics small"),
    ]
    link = element(
        "Link",
        [
            element("Div", [element("Div", card.name, className="fw-semibold text-truncate"),
                            element("Span", texts.get(f"status-{card.status}", card.status),
                                    className=f"badge text-bg-{color}",
                                    id=f"health-status-{card.id}")],
                    className="card-header d-flex justify-content-between align-items-center"
                              " gap-2"),
            element("Div", body, className="card-body"),
            element("Div", [element("I", className="fa-regular fa-clock me-1"), texts["seen"],
                            element("Span", humanize_age(card.last_seen_at, now),
                                    id=f"health-seen-{card.id}")],
                    className="card-footer small text-secondary"),
        ],
        namespace="dash_core_components", href=f"/compressor/{card.id}",
        id=f"health-card-{card.id}",
        className=f"card h-100 sc-card sc-card-link sc-status-{card.status}",
    )
    return element("Div", link, className="col-12 col-sm-6 col-lg-4 col-xxl-3 mb-3")


def compressor_tile(card: CompressorCard, texts: dict[str, str]) -> dict[str, Any]:
    score = "—" if card.health_score is None else f"{card.health_score:.0f}"
    status = texts.get(f"status-{card.status}", card.status)
    return element(
        "Link",
        [element("Span", card.name, className="sc-tile-name"),
         element("Span", score, className="sc-tile-score", id=f"health-score-{card.id}")],
        namespace="dash_core_components", href=f"/compressor/{card.id}",
        id=f"health-card-{card.id}", className=f"sc-tile sc-status-{card.status}",
        title=" · ".join(part for part in (
            card.name, status, card.suspected_fault,
            card_projection(card.health_trend)) if part),
    )


def _site_section(site: str, cards: list[CompressorCard], now: dt.datetime,
                  sparks: dict[int, list[float | None]], tiles: bool) -> html.Section:
    counts = status_counts(cards)
    summary = " · ".join(f"{status_label(s)} {counts[s]}" for s in STATUS_ORDER if s in counts)
    header = html.Div(
        [html.H2(site, className="h6 mb-0 fw-semibold"),
         html.Small(summary, className="text-secondary")],
        className="d-flex flex-wrap align-items-baseline gap-2 mb-2",
    )
    texts = card_texts()
    if tiles:
        content: Any = element("Div", [compressor_tile(c, texts) for c in cards],
                               className="sc-tiles mb-3")
    else:
        content = element("Div", [compressor_card(c, now, sparks.get(c.id), texts)
                                  for c in cards], className="row")
    return html.Section([header, content], className="sc-site mb-2")


def fleet_view(org_id: int, site_id: int | None, statuses: list[str] | None, view: str | None,
               now: dt.datetime) -> tuple[Any, list, str]:
    """Grid, status count badges and the "updated" line for one organisation."""
    session = db_session()
    offline_after = current_app.config["OFFLINE_AFTER_SECONDS"]
    # One query per change of the fleet, shared by every viewer of the organisation.
    rows = snapshots().get("fleet", org_id, lambda: fleet_rows(session, org_id))
    everything = cards_from_rows(rows, offline_after, now, site_id=site_id)
    if not everything:
        empty = dbc.Alert(
            _("No compressors yet. An admin registers devices under Settings or with `flask --app "
              "wsgi devices add`."),
            color="light", id="health-empty",
        )
        return empty, [], ""
    counts = status_counts(everything)
    badges = [
        dbc.Badge(f"{status_label(s)}: {counts[s]}", color=STATUS_BADGE[s],
                  className="fs-6 fw-normal", id=f"health-count-{s}")
        for s in STATUS_ORDER if s in counts
    ]
    cards = [c for c in everything if not statuses or c.status in statuses]
    # In the user's own time zone, named (one zone per user everywhere: issue 13).
    updated = _("Updated %(time)s", time=local_text(now, user_zone_name(), "%H:%M:%S %Z"))
    if not cards:
        return (dbc.Alert(_("No compressor matches these filters."), color="light",
                          id="health-no-match"), badges, updated)
    tiles = view == "tiles" or (view in (None, "auto") and len(cards) > AUTO_TILES_ABOVE)
    sparks = {} if tiles else snapshots().get(
        "sparklines", org_id, lambda: health_sparklines(session, org_id, now))
    by_site: dict[str, list[CompressorCard]] = {}
    for card in cards:
        by_site.setdefault(card.site, []).append(card)
    grid = html.Div([_site_section(site, group, now, sparks, tiles)
                     for site, group in by_site.items()])
    return grid, badges, updated


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("health-grid", "children"),
        Output("health-counts", "children"),
        Output("health-updated", "children"),
        Input("health-interval", "n_intervals"),
        Input("health-site", "value"),
        Input("health-status", "value"),
        Input("health-view", "value"),
        Input("health-live", "data"),
    )
    @guarded("viewer")
    def refresh_fleet(_n: int | None, site_id: int | None = None,
                      statuses: list[str] | None = None, view: str | None = "auto",
                      _live: int | None = None) -> tuple:
        # Defaults: callers that only send the interval (older clients, tests) get
        # the whole fleet.
        try:
            site = int(site_id) if site_id not in (None, "") else None
        except (TypeError, ValueError):
            site = None
        wanted = [s for s in (statuses or []) if s in STATUS_BADGE]
        return fleet_view(current_user.org_id, site, wanted, view, utcnow())

    # Pushed updates (assets/live.js): cards change in place, or health-live asks the
    # callback above for a fresh view; the interval polls only while the stream is down.
    app.clientside_callback(ClientsideFunction("live", "fleet"),
                            Output("health-live", "data"), Input("live-event", "data"),
                            prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("live", "pollDisabled"),
                            Output("health-interval", "disabled"),
                            Input("live-status", "data"))

    @app.callback(Output("health-site", "options"), Input("health-site", "id"))
    @guarded("viewer")
    def load_sites(_id: str) -> list[dict]:
        return [{"label": s.name, "value": s.id}
                for s in org_sites(db_session(), current_user.org_id)]
