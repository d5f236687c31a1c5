"""OpenAPI 3 description of the device API and the ad-hoc analysis endpoint, served at
``/api/openapi.json``; schemathesis fuzzes the server against it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ingestion.schemas import MAX_BATCH, METRICS

ERROR = {"type": "object", "required": ["error", "detail"],
         "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}}


def _errors(*codes: int) -> dict[str, Any]:
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {str(c): {"description": "refused", "content": body} for c in codes}


def openapi_spec() -> dict[str, Any]:
    reading = {
        "type": "object", "additionalProperties": False, "required": ["seq", "metrics"],
        "properties": {
            "seq": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
            "ts": {"oneOf": [{"type": "integer", "description": "epoch milliseconds"},
                             {"type": "string", "format": "date-time"}]},
            "metrics": {"type": "object", "minProperties": 1, "additionalProperties": False,
                        "properties": {name: {"type": "number", "minimum": lo, "maximum": hi}
                                       for name, (lo, hi) in METRICS.items()}},
        },
    }
    bearer = [{"device": []}]
    return {
        "openapi": "3.0.3",
        "info": {"title": "SignalCraft device API", "version": "1.0.0",
                 "description": "What ESP32 devices speak. Every error is "
                                "{error, detail} with a 4xx status. More calls per "
                                "token than SIGNALCRAFT_DEVICE_RATE_LIMIT (default "
                                "60 per 10 seconds) get 429 with Retry-After."},
        "components": {
            "securitySchemes": {"device": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR, "Reading": reading},
        },
        "paths": {
            "/api/esp32/data": {"post": {
                "summary": "One reading or a batch", "security": bearer,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "oneOf": [{"$ref": "#/components/schemas/Reading"},
                              {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                               "items": {"$ref": "#/components/schemas/Reading"}}]}}}},
                "responses": {"201": {"description": "stored", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["accepted", "duplicates"],
                               "properties": {"accepted": {"type": "integer"},
                                              "duplicates": {"type": "integer"}}}}}},
                              **_errors(400, 401, 403, 413, 415, 422, 429)},
            }},
            "/api/esp32/audio": {"post": {
                "summary": "One audio clip (WAV, or raw 16-bit PCM with X-Sample-Rate)",
                "security": bearer,
                "parameters": [
                    {"name": "seq", "in": "query", "required": True,
                     "schema": {"type": "integer", "minimum": 0}},
                    {"name": "X-Sample-Rate", "in": "header", "required": False,
                     "schema": {"type": "integer", "minimum": 8000, "maximum": 48000}},
                ],
                "requestBody": {"required": True, "content": {
                    "audio/wav": {"schema": {"type": "string", "format": "binary"}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                }},
                "responses": {"202": {"description": "queued", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["recording_id"],
                               "properties": {"recording_id": {"type": "integer"},
                                              "duplicate": {"type": "boolean"}}}}}},
                              **_errors(400, 401, 403, 413, 415, 422, 503, 429)},
            }},
            "/api/esp32/firmware": {"get": {
                "summary": "What to install", "security": bearer,
                "parameters": [
                    {"name": "version", "in": "query", "required": True,
                     "schema": {"type": "string"}},
                    {"name": "hw", "in": "query", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "an update"},
                              "204": {"description": "up to date"}, **_errors(400, 401, 429)},
            }},
            "/api/esp32/firmware/status": {"post": {
                "summary": "How the update went", "security": bearer,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False,
                    "required": ["version", "state"],
                    "properties": {"version": {"type": "string"},
                                   "state": {"enum": ["downloading", "installed", "failed"]},
                                   "reason": {"type": "string", "maxLength": 500}}}}}},
                "responses": {"200": {"description": "recorded"},
                              **_errors(400, 401, 415, 422, 429)},
            }},
        },
    }


bp = Blueprint("openapi", __name__)


@bp.get("/api/esp32/openapi.json")
def openapi_json():
    return jsonify(openapi_spec())
