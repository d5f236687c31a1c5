"""The platform operator's page: every customer organisation with its users, devices,
data volume and last activity; suspend one (with a reason) or reactivate it. Only
operators (SIGNALCRAFT_OPERATOR_EMAILS) see it in the navbar or can open it."""

import dash
from dash import dcc, html

from dashboard.accounts.auth import page_guard
from dashboard.accounts.operators import OPERATOR
from dashboard.core.i18n import N_, _

dash.register_page(
    __name__, path="/operator", name="Operator", title="Operator · SignalCraft",
    nav_order=90, nav_label=N_("Operator"), nav_icon="fa-solid fa-building-shield",
    min_role=OPERATOR,
)


@page_guard(OPERATOR)
def layout(**_kwargs: object) -> html.Div:
    return html.Div([
        html.H1(_("Organisations"), className="h4 mb-1"),
        html.P(_("Every customer organisation on this installation. A suspended "
                 "organisation's users and devices are refused; nothing is deleted, "
                 "and reactivating restores it as it was."),
               className="text-secondary small"),
        html.Div(id="operator-feedback"),
        html.Div(id="operator-orgs"),
        dcc.Store(id="operator-version", data=0),
    ], id="operator-page")
