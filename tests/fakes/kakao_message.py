"""A fake of Kakao's Talk Message "send to me" API (developers.kakao.com, Kakao Talk
Message REST API): form-encoded ``template_object`` with a default text template, the
user's OAuth access token as Bearer, ``{"result_code": 0}`` on success and Kakao's
error shape ``{"msg": ..., "code": -401}`` otherwise.

    with FakeKakaoMessageApi(tokens={"tok-1"}) as kakao:
        app.config["KAKAO_API_URL"] = kakao.url
        kakao.fail_next(1, status=500, code=-1)
        ...
        assert kakao.messages[0]["template"]["text"].startswith("WARNING")
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from tests.fakes._http import Answer, FakeHttpServer

SEND_TO_ME = "/v2/api/talk/memo/default/send"
TEXT_LIMIT = 200


class FakeKakaoMessageApi:
    def __init__(self, tokens: set[str] | None = None) -> None:
        self.tokens = set(tokens or ())
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self._failures: list[tuple[int, int]] = []
        self._http = FakeHttpServer(self._handle)

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeKakaoMessageApi:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def fail_next(self, times: int, status: int = 500, code: int = -1) -> None:
        with self._http.lock:
            self._failures.extend([(status, code)] * times)

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._http.lock:
            self.requests += 1
            if method != "POST" or path != SEND_TO_ME:
                return 404, {"msg": "not found", "code": -9}, {}
            auth = headers.get("authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
            if token not in self.tokens:
                return 401, {"msg": "this access token does not exist", "code": -401}, {}
            if self._failures:
                status, code = self._failures.pop(0)
                return status, {"msg": "internal error", "code": code}, {}
            if "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
                return 400, {"msg": "form body required", "code": -2}, {}
            form = parse_qs(body.decode())
            try:
                template = json.loads(form["template_object"][0])
            except (KeyError, ValueError):
                return 400, {"msg": "template_object is required", "code": -2}, {}
            link = template.get("link")
            if (template.get("object_type") != "text" or not isinstance(template.get("text"), str)
                    or len(template["text"]) > TEXT_LIMIT or not isinstance(link, dict)):
                return 400, {"msg": "invalid text template", "code": -2}, {}
            self.messages.append({"token": token, "template": template})
            return 200, {"result_code": 0}, {}
