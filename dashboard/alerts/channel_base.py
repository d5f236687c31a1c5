"""What every notification channel shares: the message for one recipient, the result
of sending it, and the one error a channel raises.

A channel is a function ``send(app, message) -> SendResult`` that either returns what
the provider said or raises DeliveryError saying whether trying again could help and
whether the channel is now disconnected for this user (the delivery then falls back to
the user's other channels). The message is rendered already, in the recipient's
language; a channel only shapes it for its provider."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

HTTP_TIMEOUT_S = 10


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    dedupe_key: str
    channel: str
    to: str  # email address or phone number; "" where the channel finds it (Kakao, push)
    subject: str  # the email subject line
    text: str  # the whole message as plain text (title, place, detail, time)
    link: str  # the page of the alert / incident this message is about
    button_title: str
    user_id: int | None = None
    language: str = "ko"
    title: str = ""  # one line: severity, what, where (push title, AlimTalk heading)
    body: str = ""  # the text without the title line (push body)
    template: str = "default"  # the alert kind, which picks an AlimTalk template
    severity: str = "warning"
    # Values for provider templates: severity, title, compressor, site, detail, time, link
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider_ref: str = ""  # the provider's id of the message (or a count), if any
    status: str = ""  # what the provider said, e.g. "2000 정상 접수" or "2 of 2 browsers"


class DeliveryError(Exception):
    def __init__(self, detail: str, permanent: bool = False,
                 disconnected: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent or disconnected
        # The channel cannot reach this user any more until they act (e.g. link Kakao
        # again, subscribe a browser again): the delivery falls back to other channels.
        self.disconnected = disconnected


def transient_status(status: int) -> bool:
    """HTTP answers worth another try: timeouts, too many requests, server errors."""
    return status in (408, 425, 429) or status >= 500
