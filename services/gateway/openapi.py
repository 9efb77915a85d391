"""The OpenAPI 3.1 document served at /openapi.json (REST part of docs/api.md)."""
from __future__ import annotations

from typing import Any

from services.contract import FORMATS
from services.gateway.errors import STATUS
from services.symbologies import CATALOGUE, OPTIONS


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_document(server_url: str) -> dict[str, Any]:
    names = sorted(set(CATALOGUE) | {a for s in CATALOGUE.values() for a in s.aliases})
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "barcode-pipeline gateway", "version": "1",
                 "description": "Barcode jobs over REST; the WebSocket protocol at /v1/ws is described in docs/api.md."},
        "servers": [{"url": server_url}],
        "paths": {
            "/v1/jobs": {"post": {
                "summary": "Submit a barcode job",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/GenerateRequest"}}}},
                "responses": {
                    "202": {"description": "queued", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["job_id", "status"],
                        "properties": {"job_id": {"type": "string"}, "status": {"const": "queued"}}}}}},
                    "400": _error_response("invalid request"),
                    "413": _error_response("body too large"),
                    "503": _error_response("queue unavailable"),
                }}},
            "/v1/validate": {"post": {
                "summary": "Dry run: normalised data, check digit, text, symbol size; no Kafka, no drawing",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/GenerateRequest"}}}},
                "responses": {
                    "200": {"description": "what the job would produce", "content": {"application/json": {
                        "schema": {"type": "object", "required": ["valid", "symbology", "data"]}}}},
                    "400": _error_response("invalid request"),
                    "422": _error_response("data the symbology rejects"),
                }}},
            "/v1/jobs/{job_id}": {"get": {
                "summary": "Job status; ?wait=N holds the request up to N seconds for a final status",
                "parameters": [job_id, {"name": "wait", "in": "query", "required": False,
                                        "schema": {"type": "number", "minimum": 0, "maximum": 60}}],
                "responses": {"200": {"description": "status", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Job"}}}},
                    "400": _error_response("bad wait value"), "404": _error_response("unknown job")}}},
            "/v1/jobs/{job_id}/file": {"get": {
                "summary": "The stored file",
                "parameters": [job_id],
                "responses": {"200": {"description": "the barcode", "content": {
                    ct: {"schema": {"type": "string", "format": "binary"}} for ct in FORMATS.values()}},
                    "404": _error_response("unknown job"), "409": _error_response("queued or failed"),
                    "410": _error_response("expired from storage"), "503": _error_response("storage unavailable")}}},
            "/v1/symbologies": {"get": {"summary": "What can be rendered", "responses": {"200": {
                "description": "catalogue", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/healthz": {"get": {"summary": "The process is alive", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "Kafka connected and job state caught up",
                                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
        },
        "components": {"schemas": {
            "GenerateRequest": {
                "type": "object", "required": ["data"], "additionalProperties": True,
                "properties": {
                    "data": {"oneOf": [
                        {"type": "string", "minLength": 1, "maxLength": max(s.max_length for s in CATALOGUE.values())},
                        {"type": "object", "required": ["gs1"], "properties": {"gs1": {
                            "type": "object", "additionalProperties": {"type": "string"}}}}]},
                    "symbology": {"type": "string", "enum": names,
                                  "description": "default: the company profile's symbology"},
                    "format": {"type": "string", "enum": list(FORMATS)},
                    "company": {"type": "string", "maxLength": 64,
                                "description": "routing profile; unknown or missing -> Default"},
                    "request_id": {"type": "string", "maxLength": 128},
                    "client_id": {"type": "string", "maxLength": 64,
                                  "description": "also push the result to this client's WebSocket"},
                    "idempotency_key": {"type": "string", "maxLength": 128},
                    "progress": {"type": "boolean",
                                 "description": "push each step (routed, rendered, stored) to client_id's WebSocket"},
                    "options": {"type": "object", "properties": {k: v.describe() for k, v in OPTIONS.items()}},
                }},
            "Job": {"type": "object", "required": ["job_id", "status"], "properties": {
                "job_id": {"type": "string"}, "status": {"enum": ["queued", "completed", "failed"]},
                "request_id": {"type": "string"}, "company": {"type": "string"},
                "url": {"type": "string"}, "file_url": {"type": "string"}, "content_type": {"type": "string"},
                "cached": {"type": "boolean"}, "error": {"$ref": "#/components/schemas/ErrorDetail"}}},
            "ErrorDetail": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": sorted(STATUS) + ["symbology_not_allowed", "format_not_allowed",
                         "invalid_check_digit", "invalid_characters", "invalid_length", "invalid_data",
                         "render_failed", "verification_failed", "internal_error"]},
                "message": {"type": "string"}, "retryable": {"type": "boolean"}}},
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}}},
        }},
    }
