"""A local Kakao: the OAuth authorize and token endpoints (kauth), the user API and the
Talk Message "send to me" API (kapi), as a real HTTP server on 127.0.0.1 in a thread,
following Kakao's documented contract. The authorize endpoint plays the person on the
consent page: it consents as ``login_as``'s account, or refuses when ``deny`` is set.

Tokens expire: an access token after ``access_ttl`` seconds (Kakao: 6 hours), a
refresh token after ``refresh_ttl`` (Kakao: 2 months). ``advance(seconds)`` moves the
fake's clock; ``grant_type=refresh_token`` renews an access token, and hands out a new
refresh token only in the refresh token's last month, as Kakao does. A revoked,
expired or unknown refresh token gets ``invalid_grant`` (KOE322). An expired or unknown
access token gets ``{"msg": "this access token does not exist", "code": -401}``.

    with FakeKakao() as kakao:
        kakao.add_account(123, "kim@example.kr", "김철수")
        kakao.login_as(123)
        app = create_app({"KAKAO_AUTH_URL": kakao.url, "KAKAO_API_URL": kakao.url,
                          "KAKAO_CLIENT_ID": kakao.client_id,
                          "KAKAO_CLIENT_SECRET": kakao.client_secret})
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class KakaoAccount:
    id: int
    email: str | None
    nickname: str
    email_verified: bool = True
    email_valid: bool = True


@dataclass
class _Grant:
    account_id: int
    redirect_uri: str
    client_id: str


@dataclass
class FakeKakao:
    client_id: str = "fake-rest-api-key"
    client_secret: str = "fake-client-secret"
    accounts: dict[int, KakaoAccount] = field(default_factory=dict)
    deny: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    access_ttl: int = 21599
    refresh_ttl: int = 5183999
    messages: list[dict[str, Any]] = field(default_factory=list)
    _current: int | None = None
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, tuple[int, float]] = field(default_factory=dict)  # -> account, expiry
    _refresh: dict[str, tuple[int, float]] = field(default_factory=dict)
    _offset: float = 0.0

    # ---------------------------------------------------------------- tokens and clock
    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def issue_tokens(self, account_id: int) -> dict[str, Any]:
        """A token answer as Kakao gives one at login (also used by tests to link a
        user without the browser flow)."""
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._tokens[access] = (account_id, self.now() + self.access_ttl)
        self._refresh[refresh] = (account_id, self.now() + self.refresh_ttl)
        return {"access_token": access, "token_type": "bearer", "refresh_token": refresh,
                "expires_in": self.access_ttl, "scope": "account_email profile_nickname "
                "talk_message", "refresh_token_expires_in": self.refresh_ttl}

    def revoke(self, account_id: int) -> None:
        """The user unlinked the app (or Kakao revoked it): every token stops working."""
        self._tokens = {k: v for k, v in self._tokens.items() if v[0] != account_id}
        self._refresh = {k: v for k, v in self._refresh.items() if v[0] != account_id}

    def expire_access_tokens(self) -> None:
        self._tokens = {k: (a, self.now() - 1) for k, (a, _e) in self._tokens.items()}

    def _account_for(self, request: Request) -> int | None:
        auth = request.headers.get("Authorization", "")
        found = self._tokens.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        if found is None or found[1] <= self.now():
            return None
        return found[0]

    # ---------------------------------------------------------------- set-up
    def add_account(self, kakao_id: int, email: str | None, nickname: str = "카카오",
                    verified: bool = True, valid: bool = True) -> KakaoAccount:
        account = KakaoAccount(kakao_id, email, nickname, verified, valid)
        self.accounts[kakao_id] = account
        return account

    def login_as(self, kakao_id: int) -> None:
        self._current = kakao_id

    def __enter__(self) -> FakeKakao:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    # ---------------------------------------------------------------- HTTP
    def _wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append({"path": request.path, "method": request.method,
                              "args": request.args.to_dict(), "form": request.form.to_dict(),
                              "authorization": request.headers.get("Authorization")})
        routes = {"/oauth/authorize": self._authorize, "/oauth/token": self._token,
                  "/v2/user/me": self._user_me,
                  "/v2/api/talk/memo/default/send": self._send_to_me}
        handler = routes.get(request.path)
        response = handler(request) if handler else _json({"msg": "not found", "code": -404},
                                                          404)
        return response(environ, start_response)

    def _authorize(self, request: Request) -> Response:
        args = request.args
        redirect_uri = args.get("redirect_uri", "")
        if args.get("client_id") != self.client_id:
            return _json({"error": "invalid_client", "error_code": "KOE101",
                          "error_description": "Not exist client_id"}, 400)
        if args.get("response_type") != "code" or not redirect_uri:
            return _json({"error": "invalid_request", "error_code": "KOE006",
                          "error_description": "bad authorize request"}, 400)
        back: dict[str, str] = {}
        if self.deny or self._current is None:
            back = {"error": "access_denied", "error_description": "User denied access"}
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Grant(self._current, redirect_uri, self.client_id)
            back = {"code": code}
        if args.get("state"):
            back["state"] = args["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return Response(status=302, headers={"Location": f"{redirect_uri}{sep}{urlencode(back)}"})

    def _token(self, request: Request) -> Response:
        form = request.form
        if request.method != "POST":
            return _json({"error": "invalid_request", "error_code": "KOE002",
                          "error_description": "POST only"}, 405)
        if form.get("grant_type") not in ("authorization_code", "refresh_token"):
            return _json({"error": "unsupported_grant_type", "error_code": "KOE004",
                          "error_description": "grant_type must be authorization_code or "
                                               "refresh_token"}, 400)
        if form.get("client_id") != self.client_id or (
                self.client_secret and form.get("client_secret") != self.client_secret):
            return _json({"error": "invalid_client", "error_code": "KOE010",
                          "error_description": "Bad client credentials"}, 401)
        if form["grant_type"] == "refresh_token":
            return self._refresh_grant(form.get("refresh_token", ""))
        code = form.get("code", "")
        grant = self._codes.pop(code, None)  # a code works once
        if grant is None:
            return _json({"error": "invalid_grant", "error_code": "KOE320",
                          "error_description": f"authorization code not found for code={code}"},
                         400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json({"error": "invalid_grant", "error_code": "KOE303",
                          "error_description": "Redirect URI mismatch."}, 400)
        return _json(self.issue_tokens(grant.account_id))

    def _refresh_grant(self, refresh_token: str) -> Response:
        found = self._refresh.get(refresh_token)
        if found is None or found[1] <= self.now():
            return _json({"error": "invalid_grant", "error_code": "KOE322",
                          "error_description": "refresh_token not found"}, 400)
        account_id, expires = found
        access = secrets.token_urlsafe(32)
        self._tokens[access] = (account_id, self.now() + self.access_ttl)
        answer: dict[str, Any] = {"access_token": access, "token_type": "bearer",
                                  "expires_in": self.access_ttl}
        if expires - self.now() < 30 * 24 * 3600:  # the last month: a new refresh token
            self._refresh.pop(refresh_token)
            new = secrets.token_urlsafe(32)
            self._refresh[new] = (account_id, self.now() + self.refresh_ttl)
            answer.update(refresh_token=new, refresh_token_expires_in=self.refresh_ttl)
        return _json(answer)

    def _send_to_me(self, request: Request) -> Response:
        account_id = self._account_for(request)
        if account_id is None:
            return _json({"msg": "this access token does not exist", "code": -401}, 401)
        try:
            template = json.loads(request.form["template_object"])
        except (KeyError, ValueError):
            return _json({"msg": "template_object is required", "code": -2}, 400)
        if template.get("object_type") != "text" or len(template.get("text", "")) > 200:
            return _json({"msg": "invalid text template", "code": -2}, 400)
        self.messages.append({"account_id": account_id, "template": template})
        return _json({"result_code": 0})

    def _user_me(self, request: Request) -> Response:
        account_id = self._account_for(request)
        if account_id is None:
            return _json({"msg": "this access token does not exist", "code": -401}, 401)
        acc = self.accounts[account_id]
        kakao_account: dict[str, Any] = {
            "profile_nickname_needs_agreement": False,
            "profile": {"nickname": acc.nickname, "is_default_nickname": False},
        }
        if acc.email is None:
            kakao_account["email_needs_agreement"] = True
        else:
            kakao_account.update({"email_needs_agreement": False, "email": acc.email,
                                  "is_email_valid": acc.email_valid,
                                  "is_email_verified": acc.email_verified})
        return _json({"id": acc.id, "connected_at": "2025-01-02T03:04:05Z",
                      "properties": {"nickname": acc.nickname}, "kakao_account": kakao_account})


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json;charset=UTF-8")
