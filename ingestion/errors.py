"""The one error shape of the device API: ``{"error": code, "detail": text}``."""

from __future__ import annotations

from typing import Any

from flask import jsonify


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}

    def response(self) -> Any:
        resp = jsonify(error=self.code, detail=self.detail)
        resp.status_code = self.status
        for key, value in self.headers.items():
            resp.headers[key] = value
        return resp
