"""A local SOLAPI (api.solapi.com, Message API v4) for the solapi SDK: the endpoint the
SDK's ``send`` calls, with SOLAPI's request signing checked as SOLAPI documents it
(solapi/documents, authentication/api-key.md) and its answers shaped as the SDK reads
them (send-many/detail: groupInfo, failedMessageList, messageList).

Authorization: ``HMAC-SHA256 apiKey=K, date=D, salt=S, signature=HEX`` (parameter
names in any case, as the SDK writes ``ApiKey=``/``Date=``), where HEX is
HMAC-SHA256(API secret, D + S). Refusals, 403 ``{"errorCode", "errorMessage"}``:
InvalidAPIKey, SignatureDoesNotMatch, RequestTimeTooSkewed (D more than 15 minutes
from the server's clock), DuplicatedSignature (the same signature within 15 minutes);
a salt outside 12-64 characters or a header without the four parts is refused too.

Per message (statusCode, SOLAPI's message-status-codes): 2000 accepted; 1010 missing
to/from/text; 1062 sender number not registered; 1025 unknown type; 1031 too long;
AlimTalk (ATA): 1041 unknown Kakao channel (pfId), 1042 unknown template, 1043
variables do not fill the template. An accepted AlimTalk to a phone in ``no_kakao``
is delivered as SMS/LMS with the template's text (SOLAPI's replacement sending) unless
``disableSms`` is set.

    with FakeSolapi() as solapi:
        solapi.configure(app)                 # SOLAPI_API_URL/KEY/SECRET/SENDER, pfId
        solapi.register_template("KA01TP1", "[SignalCraft] #{title} ...")
        ...
        assert solapi.delivered[0]["type"] == "ATA"
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import string
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes._http import Answer, FakeHttpServer

SEND_PATH = "/messages/v4/send-many/detail"
LIST_PATH = "/messages/v4/list-old"  # where the SDK's get_messages asks
SKEW = dt.timedelta(minutes=15)
_VARIABLE = re.compile(r"#\{[^}]+\}")


def _id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits)
                            for _ in range(24))


def _error(status: int, code: str, message: str) -> Answer:
    return status, {"errorCode": code, "errorMessage": message}, {}


class FakeSolapi:
    def __init__(self, api_key: str = "NCSTESTKEY000001", api_secret: str = "test-secret-abc",
                 senders: tuple[str, ...] = ("0215880000",), pfid: str = "KA01PF_TEST") -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.senders = set(senders)
        self.pfid = pfid
        self.templates: dict[str, str] = {}
        self.no_kakao: set[str] = set()  # phones without KakaoTalk
        self.delivered: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.clock_offset = dt.timedelta(0)  # the server's clock minus ours
        self._signatures: dict[str, dt.datetime] = {}
        self._failures: list[int] = []
        self._http = FakeHttpServer(self._handle)

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeSolapi:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def configure(self, app: Any, sender: str = "02-1588-0000", **extra: Any) -> None:
        app.config.update(SMS_PROVIDER="solapi", SOLAPI_API_URL=self.url,
                          SOLAPI_API_KEY=self.api_key, SOLAPI_API_SECRET=self.api_secret,
                          SOLAPI_SENDER=sender, SOLAPI_KAKAO_PFID=self.pfid, **extra)

    def register_template(self, template_id: str, text: str) -> None:
        self.templates[template_id] = text

    def fail_next(self, times: int, status: int = 500) -> None:
        with self._http.lock:
            self._failures.extend([status] * times)

    # ---------------------------------------------------------------- signing
    def check_authorization(self, header: str) -> Answer | None:
        scheme, _sp, rest = (header or "").partition(" ")
        digest = {"HMAC-SHA256": hashlib.sha256, "HMAC-MD5": hashlib.md5}.get(scheme)
        parts: dict[str, str] = {}
        for piece in rest.split(","):
            key, eq, value = piece.strip().partition("=")
            if eq:
                parts[key.strip().lower()] = value.strip()
        if digest is None or not {"apikey", "date", "salt", "signature"} <= set(parts):
            return _error(403, "InvalidAuthorizationHeader",
                          "Authorization: HMAC-SHA256 apiKey=, date=, salt=, signature= expected")
        if parts["apikey"] != self.api_key:
            return _error(403, "InvalidAPIKey", "유효한 API Key가 아닙니다.")
        if not 12 <= len(parts["salt"]) <= 64:
            return _error(403, "InvalidSalt", "salt는 12~64 바이트의 문자열이어야 합니다.")
        try:
            date = dt.datetime.fromisoformat(parts["date"].replace("Z", "+00:00"))
        except ValueError:
            return _error(403, "InvalidDate", "date는 ISO 8601 형식이어야 합니다.")
        if date.tzinfo is None:
            return _error(403, "InvalidDate", "date에 시간대가 없습니다.")
        now = dt.datetime.now(dt.UTC) + self.clock_offset
        if abs(now - date) > SKEW:
            return _error(403, "RequestTimeTooSkewed",
                          "시간 값이 서버 시간을 15분 이상 벗어났습니다.")
        expected = hmac.new(self.api_secret.encode(), (parts["date"] + parts["salt"]).encode(),
                            digest).hexdigest()
        if not hmac.compare_digest(expected, parts["signature"].lower()):
            return _error(403, "SignatureDoesNotMatch", "생성한 Signature가 일치하지 않습니다.")
        self._signatures = {s: t for s, t in self._signatures.items() if now - t <= SKEW}
        if parts["signature"] in self._signatures:
            return _error(403, "DuplicatedSignature", "15분 안에 동일한 signature 값입니다.")
        self._signatures[parts["signature"]] = now
        return None

    # ---------------------------------------------------------------- HTTP
    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._http.lock:
            self.requests.append({"method": method, "path": path,
                                  "authorization": headers.get("authorization", "")})
            route = path.split("?", 1)[0]
            if (method, route) not in (("POST", SEND_PATH), ("GET", LIST_PATH)):
                return _error(404, "NotFound", f"{method} {path}")
            refused = self.check_authorization(headers.get("authorization", ""))
            if refused:
                return refused
            if route == LIST_PATH:
                return self._list(path)
            if self._failures:
                return self._failures.pop(0), {"errorCode": "InternalError",
                                               "errorMessage": "temporary"}, {}
            try:
                data = json.loads(body)
                messages = data["messages"]
                assert isinstance(messages, list) and messages
            except (ValueError, KeyError, AssertionError, TypeError):
                return _error(400, "ValidationError", "messages is required")
            group_id = _id("G4V")
            accepted, failed = [], []
            for message in messages:
                outcome = self._register(message, group_id)
                (accepted if outcome["statusCode"] == "2000" else failed).append(outcome)
            return 200, self._answer(group_id, data, accepted, failed), {}

    def report(self, message_id: str, status_code: str) -> None:
        """What the carrier (or Kakao) reported for a message: 4000 received, 3xxx not."""
        next(d for d in self.delivered if d["message_id"] == message_id)["status_code"] = (
            status_code)

    def _list(self, path: str) -> Answer:
        query = parse_qs(urlsplit(path).query)
        wanted = query.get("messageId", [None])[0]
        found = {d["message_id"]: {
            "messageId": d["message_id"], "groupId": d["group_id"], "to": d["to"],
            "from": d["from"], "type": d["type"], "country": "82", "text": d["text"],
            "statusCode": d["status_code"], "replacement": d["replacement"]}
            for d in self.delivered if wanted in (None, d["message_id"])}
        return 200, {"limit": int(query.get("limit", ["20"])[0]), "messageList": found,
                     "startKey": None, "nextKey": None}, {}

    def _register(self, m: dict[str, Any], group_id: str) -> dict[str, Any]:
        to, sender = str(m.get("to") or ""), str(m.get("from") or "")
        kind = m.get("type")
        outcome = {"to": to, "from": sender, "type": kind or "SMS", "country": m.get("country"),
                   "messageId": _id("M4V"), "accountId": "12925149",
                   "customFields": m.get("customFields")}

        def refuse(code: str, text: str) -> dict[str, Any]:
            return {**outcome, "statusCode": code, "statusMessage": text}

        if not to or not sender:
            return refuse("1010", "필수 입력 값 미입력")
        if sender not in self.senders:
            return refuse("1062", "발신번호 미등록")
        text = m.get("text")
        replacement = False
        template_id = variables = None
        if kind == "ATA":
            options = m.get("kakaoOptions") or {}
            if options.get("pfId") != self.pfid:
                return refuse("1041", "유효한 플러스 친구 값이 아닙니다.")
            template_id = options.get("templateId")
            template = self.templates.get(template_id)
            if template is None:
                return refuse("1042", "유효한 템플릿 아이디가 아닙니다.")
            variables = options.get("variables") or {}
            if not set(_VARIABLE.findall(template)) <= set(variables):
                return refuse("1043", "등록한 템플릿과 내용이 다릅니다.")
            text = _VARIABLE.sub(lambda v: str(variables[v.group(0)]), template)
            if to in self.no_kakao:
                if options.get("disableSms"):
                    return {**outcome, "statusCode": "2000", "statusMessage": "정상 접수",
                            "_undelivered": True}
                replacement = True
                kind = None  # sent as SMS/LMS by length
        elif kind not in (None, "SMS", "LMS"):
            return refuse("1025", "잘못된 메시지 타입")
        if not isinstance(text, str) or not text:
            return refuse("1010", "필수 입력 값 미입력")
        size = len(text.encode("euc-kr", errors="replace"))
        if kind is None:
            kind = "SMS" if size <= 90 else "LMS"
        if (kind == "SMS" and size > 90) or size > 2000:
            return refuse("1031", "SMS는 90byte LMS, MMS는 2000byte 까지 사용 가능합니다.")
        self.delivered.append({"type": kind, "to": to, "from": sender, "text": text,
                               "template_id": template_id, "variables": variables,
                               "replacement": replacement, "message_id": outcome["messageId"],
                               "group_id": group_id, "custom_fields": m.get("customFields"),
                               "status_code": "3000"})
        return {**outcome, "type": kind, "statusCode": "2000",
                "statusMessage": "정상 접수(이통사로 접수 예정) "}

    def _answer(self, group_id: str, data: dict[str, Any], accepted: list[dict[str, Any]],
                failed: list[dict[str, Any]]) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        zero_cash = {"requested": 0, "replacement": 0, "refund": 0, "sum": 0}
        kinds = ("sms", "lms", "mms", "ata", "cta", "cti", "nsa", "rcs_sms", "rcs_lms",
                 "rcs_mms", "rcs_tpl")
        group = {
            "count": {"total": len(accepted) + len(failed), "sentTotal": 0, "sentFailed": 0,
                      "sentSuccess": 0, "sentPending": 0, "sentReplacement": 0, "refund": 0,
                      "registeredFailed": len(failed), "registeredSuccess": len(accepted)},
            "countForCharge": {k: {} for k in kinds}, "balance": zero_cash,
            "point": zero_cash, "app": {"profit": {k: 0 for k in kinds}, "appId": None},
            "log": [{"createAt": now, "message": "메시지 그룹이 생성되었습니다."}],
            "status": "SENDING" if accepted else "FAILED", "allowDuplicates": False,
            "isRefunded": False, "accountId": "12925149", "masterAccountId": None,
            "apiVersion": "4", "groupId": group_id, "_id": group_id,
            "price": {"82": {"sms": 20, "lms": 50, "ata": 13}},
            "dateCreated": now, "dateUpdated": now, "dateSent": now}
        answer: dict[str, Any] = {
            "groupInfo": group,
            "failedMessageList": [{k: v for k, v in f.items() if not k.startswith("_")}
                                  for f in failed]}
        if data.get("showMessageList"):
            answer["messageList"] = [
                {"messageId": a["messageId"], "statusCode": a["statusCode"],
                 "statusMessage": a["statusMessage"], "customFields": a.get("customFields")}
                for a in accepted]
        return answer
