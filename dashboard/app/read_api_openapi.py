"""OpenAPI 3 description of the read API (``/api/v1``), served at
``/api/v1/openapi.json``; the tests fuzz the server against it with schemathesis."""

from __future__ import annotations

from typing import Any

from dashboard.core.sensors import METRIC_KEYS

ERROR = {"type": "object", "required": ["error", "detail"],
         "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}}
NUM = {"type": "number", "nullable": True}
TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": "string", "format": "date-time", "nullable": True}


def _errors(*codes: int) -> dict[str, Any]:
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {str(c): {"description": "refused", "content": body} for c in codes}


def _page_of(ref: str) -> dict[str, Any]:
    return {"200": {"description": "one page", "content": {"application/json": {"schema": {
        "type": "object", "required": ["data", "next", "next_cursor"],
        "properties": {"data": {"type": "array", "items": {"$ref": ref}},
                       "next": {"type": "string", "nullable": True,
                                "description": "URL of the next page; null on the last"},
                       "next_cursor": {"type": "string", "nullable": True}}}}}},
            **_errors(400, 401, 403, 404, 429)}


def _param(name: str, schema: dict, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


PAGE_PARAMS = [
    _param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
    _param("cursor", {"type": "string", "maxLength": 200},
           "next_cursor of the previous page"),
]
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def read_api_spec() -> dict[str, Any]:
    compressor = {"type": "object", "required": ["id", "name", "site_id", "status"],
                  "properties": {
                      "id": {"type": "integer"}, "name": {"type": "string"},
                      "site_id": {"type": "integer"}, "site": {"type": "string"},
                      "kind": {"type": "string"}, "status": {"type": "string"},
                      "health_score": NUM,
                      "suspected_fault": {"type": "string", "nullable": True},
                      "last_seen_at": TIME_OR_NULL,
                      "firmware_version": {"type": "string", "nullable": True}}}
    reading_props: dict[str, Any] = {"ts": TIME, "seq": {"type": "integer"},
                                     "n": {"type": "integer"}}
    for m in METRIC_KEYS:
        reading_props[m] = NUM
        for stat in ("min", "mean", "max"):
            reading_props[f"{m}_{stat}"] = NUM
    reading = {"type": "object", "required": ["ts"], "properties": reading_props,
               "description": "bucket=raw: ts, seq and each metric; minute/hour: ts (bucket "
                              "start), n (readings) and <metric>_min/_mean/_max"}
    diagnosis = {"type": "object", "required": ["id", "compressor_id", "ts", "label"],
                 "properties": {
                     "id": {"type": "integer"}, "compressor_id": {"type": "integer"},
                     "recording_id": {"type": "integer", "nullable": True}, "ts": TIME,
                     "label": {"type": "string"}, "confidence": {"type": "number"},
                     "health_score": {"type": "number"}, "status": {"type": "string"},
                     "anomaly_score": NUM, "is_anomaly": {"type": "boolean", "nullable": True},
                     "probabilities": {"type": "object",
                                       "additionalProperties": {"type": "number"},
                                       "description": "analysts and up"},
                     "analyst_label": {"type": "string", "nullable": True},
                     "analyst_valid": {"type": "boolean", "nullable": True},
                     "reviewed_at": TIME_OR_NULL}}
    alert = {"type": "object", "required": ["id", "compressor_id", "severity", "state"],
             "properties": {
                 "id": {"type": "integer"}, "compressor_id": {"type": "integer"},
                 "rule_id": {"type": "integer", "nullable": True},
                 "severity": {"type": "string"},
                 "state": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                 "title": {"type": "string"}, "detail": {"type": "string", "nullable": True},
                 "count": {"type": "integer"}, "opened_at": TIME, "last_seen_at": TIME,
                 "acknowledged_at": TIME_OR_NULL, "resolved_at": TIME_OR_NULL}}
    bearer = [{"apiToken": []}]
    cid = {"name": "compressor_id", "in": "path", "required": True, "schema": ID}
    return {
        "openapi": "3.0.3",
        "info": {"title": "SignalCraft read API", "version": "1.0.0",
                 "description": "Read-only JSON for scripts and plant systems. Bearer a "
                                "personal API token (Settings → API tokens); it sees its "
                                "user's organisation with their role. Lists are paged "
                                "with an opaque cursor (follow `next`). Errors are "
                                "{error, detail} with a 4xx status; more calls per token "
                                "than SIGNALCRAFT_READ_API_RATE_LIMIT get 429 with "
                                "Retry-After. docs/api.md has a pandas example."},
        "components": {
            "securitySchemes": {"apiToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR, "Compressor": compressor, "Reading": reading,
                        "Diagnosis": diagnosis, "Alert": alert},
        },
        "security": bearer,
        "paths": {
            "/api/v1/compressors": {"get": {
                "summary": "The organisation's compressors", "parameters": PAGE_PARAMS,
                "responses": _page_of("#/components/schemas/Compressor")}},
            "/api/v1/compressors/{compressor_id}": {"get": {
                "summary": "One compressor", "parameters": [cid],
                "responses": {"200": {"description": "the compressor", "content": {
                    "application/json": {"schema": {
                        "$ref": "#/components/schemas/Compressor"}}}},
                    **_errors(401, 404, 429)}}},
            "/api/v1/compressors/{compressor_id}/readings": {"get": {
                "summary": "Sensor readings, oldest first: raw (analysts and up), or per "
                           "minute / per hour from the rollups",
                "parameters": [cid,
                               _param("bucket", {"type": "string",
                                                 "enum": ["raw", "minute", "hour"],
                                                 "default": "hour"}),
                               _param("start", {"type": "string", "format": "date-time"},
                                      "inclusive; default end - 24 h"),
                               _param("end", {"type": "string", "format": "date-time"},
                                      "exclusive; default now; at most 400 days after start"),
                               _param("limit", {"type": "integer", "minimum": 1,
                                                "maximum": 10000, "default": 1000}),
                               PAGE_PARAMS[1]],
                "responses": _page_of("#/components/schemas/Reading")}},
            "/api/v1/diagnoses": {"get": {
                "summary": "Diagnoses of clips, newest first",
                "parameters": [*PAGE_PARAMS, _param("compressor_id", ID),
                               _param("since", {"type": "string", "format": "date-time"}),
                               _param("until", {"type": "string", "format": "date-time"})],
                "responses": _page_of("#/components/schemas/Diagnosis")}},
            "/api/v1/alerts": {"get": {
                "summary": "Alerts (incidents), newest first",
                "parameters": [*PAGE_PARAMS, _param("compressor_id", ID),
                               _param("state", {"type": "string",
                                                "enum": ["open", "acknowledged", "resolved"]})],
                "responses": _page_of("#/components/schemas/Alert")}},
        },
    }
