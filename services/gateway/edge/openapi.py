"""The OpenAPI 3.1 document served at /openapi.json (REST part of docs/api.md).

It is also the fuzzer's contract (`make fuzz`, schemathesis): every status and body the gateway
can answer is declared, request schemas are as strict as the gateway is, and links tell a
stateful run that POST /v1/jobs gives the job_id the job's status and file take.
"""
from __future__ import annotations

from typing import Any

from services.contract import FORMATS, ErrorCode
from services.gateway.edge.errors import STATUS
from services.render.symbologies import CATALOGUE, OPTIONS

# Every code an error body or a failed job can carry: the gateway's own (STATUS), the
# pipeline's (ErrorCode), and the two the middleware makes from aiohttp's own 404/405.
# undecodable_message only ever names a dead letter, never an answer.
ERROR_CODES = sorted(({v for k, v in vars(ErrorCode).items() if k.isupper()} | set(STATUS)
                      | {"not_found", "method_not_allowed"}) - {ErrorCode.UNDECODABLE})
ENGINES = sorted({e for s in CATALOGUE.values() for e in s.engines})
JSON = "application/json"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


# Answers any operation can give: a wrong key, a Host outside the allowed hosts, the rate limit.
_COMMON = {
    "401": _error("invalid_api_key: unknown API key"),
    "421": _error("host_not_allowed: the Host header is not one of the gateway's hosts"),
    "429": {**_error("rate_limited (or too_many_auth_failures): retry after Retry-After seconds"),
            "headers": {"Retry-After": {"schema": {"type": "string"}}}},
}
# A state-changing request with a JSON body.
_BODY = {
    "400": _error("invalid_json, invalid_request, unknown_symbology, unknown_format, data_too_long, invalid_option"),
    "403": _error("company_not_allowed (or, with client_id, invalid_resume_token)"),
    "413": _error("payload_too_large, or request_too_costly: estimated above GATEWAY_MAX_REQUEST_COST"),
    "415": _error("unsupported_media_type: the body must be sent as application/json"),
}
_LOCATION = {"Location": {"description": "the job's status URL", "schema": {"type": "string"}}}
_JOB_LINKS = {
    "GetJob": {"operationId": "getJob", "parameters": {"job_id": "$response.body#/job_id"}},
    "GetJobFile": {"operationId": "getJobFile", "parameters": {"job_id": "$response.body#/job_id"}},
}
_SUBMITTED = {"type": "object", "required": ["job_id", "status"], "properties": {
    "job_id": {"type": "string"}, "status": {"enum": ["queued", "completed", "failed"]},
    "replayed": {"const": True}}}


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    """The gateway reads a null optional field as absent."""
    return {"anyOf": [schema, {"type": "null"}]}


def _generate_request() -> dict[str, Any]:
    names = sorted(set(CATALOGUE) | {a for s in CATALOGUE.values() for a in s.aliases})
    gs1 = {"type": "object", "required": ["gs1"], "additionalProperties": False, "properties": {"gs1": {
        "type": "object", "minProperties": 1, "propertyNames": {"pattern": r"^\d{2,4}$"},
        "additionalProperties": {"type": "string", "minLength": 1, "pattern": r"^[^()]*$"}}}}
    return {
        # Fields the gateway does not know are ignored (the page and older clients send extras).
        "type": "object", "required": ["data"], "additionalProperties": True,
        "properties": {
            "data": {"oneOf": [
                {"type": "string", "minLength": 1, "maxLength": max(s.max_length for s in CATALOGUE.values()),
                 "description": "at most the symbology's max_length (GET /v1/symbologies)"}, gs1]},
            "symbology": _optional({"type": "string", "enum": names,
                                    "description": "case-insensitive; default: the company profile's symbology"}),
            "format": _optional({"type": "string", "enum": list(FORMATS), "description": "case-insensitive"}),
            "company": _optional({"type": "string", "maxLength": 64,
                                  "description": "routing profile; unknown or missing -> Default"}),
            "request_id": _optional({"type": "string", "maxLength": 128}),
            "client_id": _optional({"type": "string", "maxLength": 64,
                                    "description": "also push the result to this client's WebSocket"}),
            "resume_token": _optional({"type": "string",
                                       "description": "with client_id: that client's resume token (or header X-Resume-Token)"}),
            "idempotency_key": _optional({"type": "string", "maxLength": 128}),
            "progress": _optional({"type": "boolean",
                                   "description": "push each step (routed, rendered, stored) to client_id's WebSocket"}),
            # Which options a symbology takes is per symbology (GET /v1/symbologies); one it does
            # not take is invalid_option, never ignored.
            "options": _optional({"type": "object", "additionalProperties": False,
                                  "properties": {k: v.describe() for k, v in OPTIONS.items()}}),
        }}


def _validate_request() -> dict[str, Any]:
    """The generate body less client_id and resume_token (a dry run ignores them), plus `engine`."""
    schema = _generate_request()
    for routing in ("client_id", "resume_token"):
        del schema["properties"][routing]
    schema["properties"]["engine"] = _optional({"type": "string", "enum": ENGINES,
                                                "description": "one of the symbology's engines"})
    return schema


def _paths() -> dict[str, Any]:
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    body = {"required": True, "content": {JSON: {"schema": {"$ref": "#/components/schemas/GenerateRequest"}}}}
    return {
        "/v1/jobs": {"post": {
            "operationId": "submitJob", "summary": "Submit a barcode job", "requestBody": body,
            "responses": {
                "202": _json("queued", _SUBMITTED, headers=_LOCATION, links=_JOB_LINKS),
                "200": _json("a repeat of an idempotency_key: the original job", _SUBMITTED,
                             headers=_LOCATION, links=_JOB_LINKS),
                **_COMMON, **_BODY,
                "409": _error("idempotency_key_reused: the key came earlier with other parameters"),
                "503": _error("unavailable: the queue did not take it; nothing was accepted, retry"),
            }}},
        "/v1/validate": {"post": {
            "operationId": "validate",
            "summary": "Dry run: normalised data, check digit, text, symbol size; no Kafka, no drawing",
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "$ref": "#/components/schemas/ValidateRequest"}}}},
            "responses": {
                "200": _json("what the job would produce", {
                    "type": "object", "required": ["valid", "symbology", "engine", "data", "warnings"],
                    "properties": {"valid": {"const": True}, "symbology": {"type": "string"},
                                   "engine": {"type": "string"}, "verified": {"type": "boolean"},
                                   "data": {"type": "string"}, "warnings": {"type": "array"}}}),
                **_COMMON, **_BODY,
                "422": _error("data the symbology rejects: the error a job would fail with"),
                "503": _error("unavailable: the check workers are busy or one was interrupted; retry"),
            }}},
        "/v1/jobs/{job_id}": {"get": {
            "operationId": "getJob",
            "summary": "Job status; ?wait=N holds the request up to N seconds for a final status",
            "parameters": [job_id,
                           {"name": "wait", "in": "query", "required": False,
                            "schema": {"type": "number", "minimum": 0, "maximum": 60}},
                           {"name": "trace", "in": "query", "required": False,
                            "schema": {"type": "string"}, "description": "1 or true: add per-hop timestamps"}],
            "responses": {
                "200": _json("status", {"$ref": "#/components/schemas/Job"}, links={"GetJobFile": _JOB_LINKS["GetJobFile"]}),
                **_COMMON, "400": _error("invalid_request: bad wait value"),
                "404": _error("not_found: unknown job, another caller's, or older than the retention"),
                "503": _error("unavailable: the job state is still being read from Kafka")}}},
        "/v1/jobs/{job_id}/file": {"get": {
            "operationId": "getJobFile", "summary": "The stored file", "parameters": [job_id],
            "responses": {
                "200": {"description": "the barcode", "content": {
                    ct: {"schema": {"type": "string", "format": "binary"}} for ct in FORMATS.values()}},
                **_COMMON,
                "404": _error("not_found: unknown job, or another caller's"), "409": _error("not_ready: queued or failed"),
                "410": _error("storage_unavailable: expired from storage"),
                "503": _error("storage_unavailable: the object store did not answer")}}},
        "/v1/barcode": {"get": {
            "operationId": "getBarcode",
            "summary": "The barcode file for these parameters (ours, or bwip-js's with bcid): made once, then served "
                       "from the store; every option of /v1/symbologies is a parameter of its own",
            "parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                           for name in ("symbology", "data", "format", "company", "bcid", "text", "scale",
                                        "includetext", "rotate")]
                          + [{"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "the barcode", "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in FORMATS.values()}},
                "304": {"description": "If-None-Match named this image's ETag"},
                **_COMMON,
                "400": _error("invalid_request, unknown_symbology, invalid_option, data errors: the JSON API's codes"),
                "403": _error("company_not_allowed, or invalid_link: a signed link changed, revoked or expired"),
                "413": _error("request_too_costly"),
                "500": _error("internal_error: the job failed on a bug (logged)"),
                "503": _error("unavailable or storage_unavailable: retry"),
                "504": _error("wait_timeout: the new barcode was not ready in time; ask again")}}},
        "/v1/links": {"post": {
            "operationId": "makeLink", "summary": "A signed GET /v1/barcode URL for these parameters (no key in it)",
            "requestBody": body,
            "responses": {"200": _json("the link", {"type": "object", "required": ["url", "expires_at"], "properties": {
                "url": {"type": "string"}, "expires_at": {"type": ["integer", "null"]}}}), **_COMMON, **_BODY}}},
        "/v1/symbologies": {"get": {
            "operationId": "listSymbologies", "summary": "What can be rendered",
            "responses": {"200": _json("catalogue", {"type": "object", "required": ["symbologies"],
                                                     "properties": {"symbologies": {"type": "array"}}}),
                          **_COMMON}}},
        "/v1/formats": {"get": {
            "operationId": "listFormats", "summary": "The output formats: content type, file extension, vector or "
                                                     "raster, shown inline by a browser, placed on a label sheet",
            "responses": {"200": _json("formats", {"type": "object", "required": ["formats"],
                                                   "properties": {"formats": {"type": "array"}}}),
                          **_COMMON}}},
        "/v1/companies": {"get": {
            "operationId": "listCompanies", "summary": "The routing profiles the page offers",
            "responses": {"200": _json("profiles", {"type": "object", "required": ["companies"],
                                                    "properties": {"companies": {"type": "array"}}}),
                          **_COMMON}}},
        **_batch_paths(),
        "/healthz": {"get": {"operationId": "healthz", "summary": "The process is alive",
                             "responses": {"200": _json("ok", {"type": "object"})}}},
        "/readyz": {"get": {"operationId": "readyz", "summary": "Kafka connected and job state caught up",
                            "responses": {"200": _json("ready", {"type": "object"}),
                                          "503": _json("not ready: the failing checks", {"type": "object"})}}},
        "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics", "responses": {
            "200": {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }


# Rows are checked one by one: a row that is not an object, lacks data or has any other problem
# is reported in the answer's `errors` with its number and code, and the batch runs its valid
# rows. So the schema constrains no row (schemathesis found each stricter form false: a row
# without data, then a null row, were accepted and reported); what a row holds is described.
_BATCH_ROW = {"description": "one row: an object with `data` (a non-empty string) and optionally `symbology`, "
                             "`format` (strings) and `options` (an object), each over the batch's own; a row that "
                             "is anything else is reported per row in `errors`, and the batch runs its valid rows"}
_BATCH_STATUS = {"type": "object", "required": ["batch_id", "status", "total"], "properties": {
    "batch_id": {"type": "string"}, "status": {"enum": ["running", "assembling", "completed", "cancelled"]},
    "total": {"type": "integer"}, "completed": {"type": "integer"}, "failed": {"type": "integer"},
    "cancelled": {"type": "integer"}, "done": {"type": "integer"}, "rows_per_s": _optional({"type": "number"}),
    "eta_s": _optional({"type": "number"}), "errors": {"type": "array"}, "archive_url": _optional({"type": "string"}),
    "sheet_url": _optional({"type": "string"}), "manifest_url": _optional({"type": "string"}),
    "zpl_url": _optional({"type": "string"}), "zpl_labels": _optional({"type": "integer"}),
    "zpl_labels_not_placed": _optional({"type": "integer"}),
    "labels": _optional({"type": "integer"}), "labels_not_placed": _optional({"type": "integer"}),
    "request_id": {"type": "string"}}}


_CANCELLING = {**_BATCH_STATUS, "properties": {**_BATCH_STATUS["properties"], "status": {"const": "cancelling"}}}


def _batch_paths() -> dict[str, Any]:
    batch_id = {"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}}
    accepted = {"type": "object", "required": ["batch_id", "total"], "properties": {
        "batch_id": {"type": "string"}, "total": {"type": "integer"}, "valid": {"type": "integer"},
        "invalid": {"type": "integer"}, "errors": {"type": "array"}, "status": {"type": "string"},
        "status_url": {"type": "string"}, "replayed": {"const": True}, "dry_run": {"const": True}}}
    links = {"GetBatch": {"operationId": "getBatch", "parameters": {"batch_id": "$response.body#/batch_id"}}}
    not_found = _error("not_found: unknown batch, another caller's, or older than a day")
    return {
        "/v1/batches": {"post": {
            "operationId": "createBatch",
            "summary": "A batch: every row an ordinary job; a ZIP, a manifest and a PDF label sheet when done",
            "parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                           for name in ("symbology", "format", "company", "sheet", "idempotency_key", "dry_run")],
            "requestBody": {"required": True, "content": {
                JSON: {"schema": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "minItems": 1, "maxItems": 100_000, "items": _BATCH_ROW},
                    # The batch's own settings: null reads as absent, as in a generate request.
                    "symbology": _optional({"type": "string"}), "format": _optional({"type": "string"}),
                    "company": _optional({"type": "string"}), "options": _optional({"type": "object"}),
                    "sheet": _optional({"type": "object"}), "idempotency_key": _optional({"type": "string"})}}},
                "text/csv": {"schema": {"type": "string", "description": "a header row with a data column"}}}},
            "responses": {
                "202": _json("accepted", accepted, links=links),
                "200": _json("a repeated idempotency key, or a dry run", accepted, links=links),
                **_COMMON, **_BODY,
                "400": _error("invalid_json, invalid_csv, too_many_rows, invalid_sheet, invalid_request, "
                              "unknown_symbology, unknown_format"),
                "409": _error("idempotency_key_reused: the key was used for other rows"),
                "429": _error("rate_limited, or too_many_in_flight: GATEWAY_MAX_BATCHES_PER_CALLER batches running"),
                "503": _error("unavailable: Kafka did not take the batch; retry with the same key")}}},
        "/v1/batches/{batch_id}": {
            "get": {
                "operationId": "getBatch", "summary": "Progress, rate and ETA; the outputs' URLs once finished",
                "parameters": [batch_id, {"name": "wait", "in": "query", "required": False,
                                          "schema": {"type": "number", "minimum": 0, "maximum": 60}}],
                "responses": {"200": _json("status", _BATCH_STATUS), **_COMMON,
                              "400": _error("invalid_request: bad wait value"), "404": not_found,
                              "503": _error("unavailable: the batch state is still being read from Kafka")}},
            "delete": {
                "operationId": "cancelBatch", "summary": "Cancel the rows not started yet",
                "parameters": [batch_id],
                "responses": {"202": _json("cancelling", _CANCELLING), "200": _json("already finished", _BATCH_STATUS),
                              **_COMMON, "403": _error("origin_not_allowed"), "404": not_found,
                              "503": _error("unavailable: Kafka did not take the cancel")}}},
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "barcode-pipeline gateway", "version": "1",
                 "description": "Barcode jobs over REST; the WebSocket protocol at /v1/ws is described in docs/api.md."},
        "servers": [{"url": server_url}],
        # A key is optional: without one the caller is anonymous (by client address).
        "security": [{}, {"apiKey": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "schemas": {
                "GenerateRequest": _generate_request(),
                "ValidateRequest": _validate_request(),
                "Job": {"type": "object", "required": ["job_id", "status"], "properties": {
                    "job_id": {"type": "string"}, "status": {"enum": ["queued", "completed", "failed"]},
                    "request_id": {"type": "string"}, "company": {"type": "string"},
                    "url": {"type": "string"}, "file_url": {"type": "string"}, "content_type": {"type": "string"},
                    "cached": {"type": "boolean"}, "error": {"$ref": "#/components/schemas/ErrorDetail"},
                    "trace": {"type": "object", "additionalProperties": {"type": "number"}}}},
                "ErrorDetail": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES},
                    "message": {"type": "string"}, "retryable": {"type": "boolean"}}},
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}}},
            }},
    }
