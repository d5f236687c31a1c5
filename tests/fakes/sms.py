"""A fake of the generic SMS webhook (SignalCraft's own contract, docs/alerts.md):

    POST /v1/messages   Authorization: Bearer KEY   Idempotency-Key: K (optional)
    {"to": "+8210...", "from": "...", "text": "..."}
    -> 202 {"id": "msg_1", "status": "queued"}
       200 with the first answer when K was seen before (nothing is sent again)
       400 {"error": "invalid_request", "detail": ...}   401 {"error": "unauthorized"}

    with FakeSmsGateway(api_key="k") as gw:
        gw.configure(app)   # SMS_PROVIDER=webhook, SMS_WEBHOOK_URL/KEY/SENDER
        gw.fail_next(2, status=503)   # the next two requests fail
        ...
        assert [m["to"] for m in gw.messages] == ["+821012345678"]
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes._http import Answer, FakeHttpServer

PHONE_RE = re.compile(r"^\+?[0-9]{8,15}$")


class FakeSmsGateway:
    def __init__(self, api_key: str = "test-sms-key") -> None:
        self.api_key = api_key
        self.messages: list[dict[str, Any]] = []  # accepted, once per idempotency key
        self.requests = 0
        self._failures: list[int] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self._http = FakeHttpServer(self._handle)

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeSmsGateway:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def configure(self, app: Any, sender: str = "+8215880000") -> None:
        app.config.update(SMS_PROVIDER="webhook", SMS_WEBHOOK_URL=self.url,
                          SMS_WEBHOOK_KEY=self.api_key, SMS_WEBHOOK_SENDER=sender)

    def fail_next(self, times: int, status: int = 503) -> None:
        with self._http.lock:
            self._failures.extend([status] * times)

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._http.lock:
            self.requests += 1
            if method != "POST" or path != "/v1/messages":
                return 404, {"error": "not_found", "detail": path}, {}
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, {"error": "unauthorized", "detail": "bad API key"}, {}
            if self._failures:
                status = self._failures.pop(0)
                return status, {"error": "unavailable", "detail": "try again later"}, {}
            try:
                data = json.loads(body)
            except ValueError:
                return 400, {"error": "invalid_request", "detail": "body is not JSON"}, {}
            if not isinstance(data, dict) or not all(
                    isinstance(data.get(k), str) and data.get(k) for k in ("to", "from", "text")):
                return 400, {"error": "invalid_request", "detail": "to, from, text required"}, {}
            if not PHONE_RE.match(data["to"].replace("-", "")):
                return 400, {"error": "invalid_request", "detail": "to is not a phone number"}, {}
            key = headers.get("idempotency-key")
            if key and key in self._by_key:
                return 200, self._by_key[key], {}
            answer = {"id": f"msg_{len(self.messages) + 1}", "status": "queued"}
            self.messages.append({**data, "id": answer["id"], "idempotency_key": key})
            if key:
                self._by_key[key] = answer
            return 202, answer, {}
