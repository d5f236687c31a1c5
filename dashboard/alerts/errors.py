"""The one error the alerts package raises for bad input from a person (a missing
comment, a threshold out of range, an alert of another organisation): an English
catalogue message shown in the user's language (``localized()``), never a 5xx."""

from __future__ import annotations

from dashboard.core.i18n import UserMessageError


class AlertsInputError(UserMessageError):
    pass
