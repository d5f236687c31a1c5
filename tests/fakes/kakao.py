"""A local Kakao: the OAuth authorize and token endpoints (kauth) and the user API
(kapi), as a real HTTP server on 127.0.0.1 in a thread, following Kakao's documented
contract. The authorize endpoint plays the person on the consent page: it consents as
``login_as``'s account, or refuses when ``deny`` is set.

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
    _current: int | None = None
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, int] = field(default_factory=dict)

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
                  "/v2/user/me": self._user_me}
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
        if form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type", "error_code": "KOE004",
                          "error_description": "grant_type must be authorization_code"}, 400)
        if form.get("client_id") != self.client_id or (
                self.client_secret and form.get("client_secret") != self.client_secret):
            return _json({"error": "invalid_client", "error_code": "KOE010",
                          "error_description": "Bad client credentials"}, 401)
        code = form.get("code", "")
        grant = self._codes.pop(code, None)  # a code works once
        if grant is None:
            return _json({"error": "invalid_grant", "error_code": "KOE320",
                          "error_description": f"authorization code not found for code={code}"},
                         400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json({"error": "invalid_grant", "error_code": "KOE303",
                          "error_description": "Redirect URI mismatch."}, 400)
        access = secrets.token_urlsafe(32)
        self._tokens[access] = grant.account_id
        return _json({"access_token": access, "token_type": "bearer",
                      "refresh_token": secrets.token_urlsafe(32), "expires_in": 21599,
                      "scope": "account_email profile_nickname",
                      "refresh_token_expires_in": 5183999})

    def _user_me(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        account_id = self._tokens.get(auth[7:]) if auth.lower().startswith("bearer ") else None
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
