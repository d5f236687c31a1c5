"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives.

    with SmtpSink() as sink:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
        ...  # code under test sends mail
        msg = sink.wait_for(lambda m: m["To"] == "a@b.example")
        link = sink.find_link(msg, "/invite/")
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

URL_RE = re.compile(r"https?://[^\s<>\"']+")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=default_policy)
        with self.sink._lock:
            self.sink.messages.append(msg)  # type: ignore[arg-type]
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpSink:
    """Context manager: starts the server on a free port, stops it on exit."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def configure(self, app: Any) -> None:
        """Point a Flask app's mailer (dashboard/core/mailer.py) at this server."""
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=self.port, SMTP_STARTTLS=False,
                          SMTP_USER="")

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, predicate: Callable[[EmailMessage], bool] | None = None,
                 timeout: float = 10.0) -> EmailMessage:
        """The first message matching ``predicate`` (any message when None); polls, since
        the sender may be another thread (a browser test's server)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [m for m in self.messages if predicate is None or predicate(m)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching email within {timeout}s; got "
                                     f"{[str(m['Subject']) for m in self.messages]}")
            time.sleep(0.05)

    @staticmethod
    def text_of(msg: EmailMessage) -> str:
        part = msg.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @staticmethod
    def html_of(msg: EmailMessage) -> str:
        part = msg.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    @classmethod
    def find_link(cls, msg: EmailMessage, contains: str) -> str:
        """The first URL in the plain-text body containing ``contains``."""
        for url in URL_RE.findall(cls.text_of(msg)):
            if contains in url:
                return url.rstrip(".,)")
        raise AssertionError(f"no link with {contains!r} in: {cls.text_of(msg)[:500]}")
