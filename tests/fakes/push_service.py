"""A local Web Push service (what FCM, Mozilla autopush or Apple's push service are to a
browser): it hands out subscriptions as a browser's ``PushManager.subscribe()`` would
(endpoint + the browser's P-256 key and auth secret, whose private half stays here so a
test can decrypt), and takes pushes as RFC 8030/8291/8292 say:

    POST /push/<id>   TTL: n   Content-Encoding: aes128gcm   Urgency: normal|high
    Authorization: vapid t=<JWT ES256 {aud, exp, sub}>, k=<VAPID public key>
    -> 201; 400 bad headers or body; 403 bad VAPID (signature, aud, exp, sub, or a key
       other than the one the subscription was made with); 404/410 unknown/unsubscribed

    with FakePushService(vapid_public_key=pub) as push:
        sub = push.subscribe()          # {"endpoint": ..., "keys": {"p256dh", "auth"}}
        ...
        [msg] = push.received
        push.decrypt(msg)               # the plaintext the browser would show
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.fakes._http import Answer, FakeHttpServer


def b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class BrowserKeys:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    vapid_key: str  # the applicationServerKey the subscription was made with
    gone: bool = False


class FakePushService:
    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key.rstrip("=")
        self.subscriptions: dict[str, BrowserKeys] = {}
        self.received: list[dict[str, Any]] = []
        self.refused: list[tuple[int, str]] = []
        self._failures: list[int] = []
        self._http = FakeHttpServer(self._handle)

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakePushService:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def subscribe(self) -> dict[str, Any]:
        """A new browser subscription, as ``PushSubscription.toJSON()`` gives it."""
        sub_id = secrets.token_urlsafe(16)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.subscriptions[sub_id] = BrowserKeys(key, auth, self.vapid_public_key)
        public = key.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.url}/push/{sub_id}", "expirationTime": None,
                "keys": {"p256dh": b64e(public), "auth": b64e(auth)}}

    def unsubscribe(self, endpoint: str) -> None:
        self.subscriptions[endpoint.rsplit("/", 1)[-1]].gone = True

    def fail_next(self, times: int, status: int = 503) -> None:
        with self._http.lock:
            self._failures.extend([status] * times)

    def decrypt(self, message: dict[str, Any]) -> dict[str, Any]:
        keys = self.subscriptions[message["subscription"]]
        plain = http_ece.decrypt(message["body"], private_key=keys.private_key,
                                 auth_secret=keys.auth, version="aes128gcm")
        return json.loads(plain)

    # ---------------------------------------------------------------- VAPID
    def _check_vapid(self, header: str, keys: BrowserKeys) -> str | None:
        scheme, _sp, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            return "Authorization must be vapid t=..., k=..."
        parts = {}
        for piece in rest.split(","):
            name, eq, value = piece.strip().partition("=")
            if eq:
                parts[name] = value
        if not {"t", "k"} <= set(parts):
            return "vapid needs t and k"
        if parts["k"].rstrip("=") != keys.vapid_key:
            return "k is not the key this subscription was made with"
        try:
            signing_input, signature = parts["t"].rsplit(".", 1)
            header_b64, claims_b64 = signing_input.split(".")
            jwt_header = json.loads(b64d(header_b64))
            claims = json.loads(b64d(claims_b64))
            raw = b64d(signature)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                                  b64d(parts["k"]))
            public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                               int.from_bytes(raw[32:], "big")),
                          signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        except (ValueError, InvalidSignature, json.JSONDecodeError):
            return "the VAPID JWT does not verify with k"
        if jwt_header.get("alg") != "ES256" or len(raw) != 64:
            return "the VAPID JWT must be ES256"
        if claims.get("aud") != self.url:
            return f"aud must be {self.url}"
        if not time.time() < int(claims.get("exp", 0)) <= time.time() + 24 * 3600:
            return "exp must be within 24 hours"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "sub must be a mailto: or https: URL"
        return None

    # ---------------------------------------------------------------- HTTP
    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._http.lock:
            sub_id = path.removeprefix("/push/")
            keys = self.subscriptions.get(sub_id)
            if method != "POST" or not path.startswith("/push/") or keys is None:
                return self._refuse(404, "no such subscription")
            if keys.gone:
                return self._refuse(410, "unsubscribed")
            problem = self._check_vapid(headers.get("authorization", ""), keys)
            if problem:
                return self._refuse(403, problem)
            if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
                return self._refuse(400, "Content-Encoding aes128gcm and TTL are required")
            if not body or len(body) > 4096:
                return self._refuse(413 if body else 400, "payload must be 1-4096 bytes")
            if self._failures:
                return self._failures.pop(0), {"reason": "busy"}, {}
            self.received.append({"subscription": sub_id, "body": body,
                                  "ttl": int(headers["ttl"]),
                                  "urgency": headers.get("urgency", "normal")})
            return 201, {}, {"Location": f"{self.url}/message/{len(self.received)}"}

    def _refuse(self, status: int, reason: str) -> Answer:
        self.refused.append((status, reason))
        return status, {"reason": reason}, {}
