"""Small rendering helpers the account views share."""

from __future__ import annotations

from typing import Any

from flask import render_template

from dashboard.accounts.registration import COMPANY_SIZES, INDUSTRIES, RegistrationData
from dashboard.accounts.signup_details import BUDGETS, PURPOSES, TIMELINES, labelled
from dashboard.core.i18n import _


def message_page(title: str, paragraphs: list[str], status: int = 200,
                 links: list[tuple[str, str]] | None = None) -> Any:
    return render_template("message.html", title=title, paragraphs=paragraphs,
                           links=links or []), status


def registration_page(data: RegistrationData, *, mode: str, heading: str, submit_label: str,
                      email_fixed: bool = False, with_password: bool = True,
                      with_organisation: bool = True, invitation: dict | None = None,
                      status: int = 200) -> Any:
    return render_template(
        "register.html", data=data, errors=data.errors, mode=mode, heading=heading,
        submit_label=submit_label, email_fixed=email_fixed, with_password=with_password,
        with_organisation=with_organisation, invitation=invitation,
        industries=[(key, _(label)) for key, label in INDUSTRIES], company_sizes=COMPANY_SIZES,
        purposes=labelled(PURPOSES), budgets=labelled(BUDGETS), timelines=labelled(TIMELINES),
    ), status
