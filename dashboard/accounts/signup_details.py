"""The sign-up questions the older SignalCraft asked beyond the account itself: company
email, address, purposes (several may apply), budget, timeline and newsletter consent.
Checked with pydantic; the keys are stored, the labels translated where shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dashboard.accounts.users import EMAIL_RE
from dashboard.core.i18n import N_, _

PURPOSES = (
    ("predictive_maintenance", N_("Predictive maintenance")),
    ("remote_monitoring", N_("Remote monitoring")),
    ("energy_saving", N_("Energy saving")),
    ("cold_chain_compliance", N_("Cold chain and HACCP records")),
    ("downtime_reduction", N_("Less downtime")),
    ("evaluation", N_("Evaluating or research")),
    ("other", N_("Other")),
)
BUDGETS = (
    ("under_5m", N_("Under 5 million won")),
    ("5m_20m", N_("5 to 20 million won")),
    ("20m_50m", N_("20 to 50 million won")),
    ("over_50m", N_("Over 50 million won")),
    ("undecided", N_("Not decided yet")),
)
TIMELINES = (
    ("now", N_("Right away")),
    ("3_months", N_("Within 3 months")),
    ("6_months", N_("Within 6 months")),
    ("12_months", N_("Within a year")),
    ("exploring", N_("Just exploring")),
)
ADDRESS_MAX = 300


class SignupDetails(BaseModel):
    """What the form sent for the extra questions; every one is optional."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    company_email: str = Field(default="", max_length=254)
    address: str = Field(default="", max_length=ADDRESS_MAX)
    purposes: list[str] = Field(default_factory=list, max_length=len(PURPOSES))
    budget: str = ""
    timeline: str = ""
    newsletter: bool = False

    @field_validator("company_email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.lower()
        if value and not EMAIL_RE.match(value):
            raise ValueError("not an email address")
        return value

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, value: list[str]) -> list[str]:
        known = dict(PURPOSES)
        if any(p not in known for p in value):
            raise ValueError("unknown purpose")
        return [key for key, _label in PURPOSES if key in value]  # one order, no repeats

    @field_validator("budget")
    @classmethod
    def _budget(cls, value: str) -> str:
        if value and value not in dict(BUDGETS):
            raise ValueError("unknown budget")
        return value

    @field_validator("timeline")
    @classmethod
    def _timeline(cls, value: str) -> str:
        if value and value not in dict(TIMELINES):
            raise ValueError("unknown timeline")
        return value


def _messages() -> dict[str, str]:
    return {
        "company_email": _("Please enter a valid company email address."),
        "address": _("At most %(limit)s characters.", limit=ADDRESS_MAX),
        "purposes": _("Please choose from the list."),
        "budget": _("Please choose from the list."),
        "timeline": _("Please choose from the list."),
    }


def _values(form: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    raw = getlist(key) if getlist is not None else form.get(key) or []
    return [raw] if isinstance(raw, str) else [str(v) for v in raw]


def read_signup_details(form: Mapping[str, Any]) -> tuple[SignupDetails, dict[str, str]]:
    """The extra answers and, per field, a translated message for each refused one
    (those fields come back empty so the rest of the form can be shown again)."""
    raw = {
        "company_email": str(form.get("company_email") or "")[:1000],
        "address": str(form.get("address") or "")[:2000],
        "purposes": [v for v in _values(form, "purposes") if v][:50],
        "budget": str(form.get("budget") or ""),
        "timeline": str(form.get("timeline") or ""),
        "newsletter": (str(form.get("newsletter") or "")).lower() in {"1", "on", "true", "yes"},
    }
    try:
        return SignupDetails.model_validate(raw), {}
    except ValidationError as exc:
        messages = _messages()
        errors = {str(e["loc"][0]): messages[str(e["loc"][0])] for e in exc.errors()}
        kept = {k: v for k, v in raw.items() if k not in errors}
        details = SignupDetails.model_validate(kept)
        # Typed text comes back for correction (cut to its limit); choices do not.
        details.company_email = raw["company_email"][:254] if "company_email" in errors \
            else details.company_email
        details.address = raw["address"][:ADDRESS_MAX]
        return details, errors


def labelled(options: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in options]


def label_of(options: tuple[tuple[str, str], ...], key: str | None) -> str:
    return _(dict(options)[key]) if key and key in dict(options) else ""
