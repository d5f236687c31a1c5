"""The one error the alerts package raises for bad input from a person (a missing
comment, a threshold out of range, an alert of another organisation). It carries
both languages, so the page shows it in the user's language and never a 5xx."""

from __future__ import annotations


class AlertsInputError(ValueError):
    def __init__(self, en: str, ko: str) -> None:
        super().__init__(en)
        self.en = en
        self.ko = ko
