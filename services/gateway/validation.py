"""Checks a generate request before anything touches Kafka.

The gateway checks shape and catalogue facts (types, known symbology and format, length,
option ranges). Per-symbology data rules (check digits, charsets) belong to the generator and
come back as a `failed` notification.
"""
from __future__ import annotations

import re
from typing import Any

from services.contract import FORMATS, ErrorCode, GenerateRequest, now_ms
from services.gateway.errors import ApiError
from services.options import ANY_ENGINE, OptionError, validate_options
from services.symbologies import CATALOGUE, Symbology, lookup

MAX_DATA = max(s.max_length for s in CATALOGUE.values())
_SHORT_STRINGS = {"company": 64, "request_id": 128, "client_id": 64, "idempotency_key": 128}


def _optional(body: dict[str, Any], name: str, kind: type, described: str) -> Any:
    """The field if it is absent (None) or of `kind`; otherwise an error naming it."""
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise ApiError(ErrorCode.INVALID_REQUEST, f"{name} must be {described}")
    return value


def _optional_bool(body: dict[str, Any], name: str) -> bool | None:
    """True, or None for false/absent (an unset flag stays off the wire)."""
    return _optional(body, name, bool, "true or false") or None


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value: str | None = _optional(body, name, str, "a string")
    if value is None:
        return None
    limit = _SHORT_STRINGS.get(name)
    if limit is not None and len(value) > limit:
        raise ApiError(ErrorCode.INVALID_REQUEST, f"{name} is longer than {limit} characters")
    return value


_AI = re.compile(r"^\d{2,4}$")


def gs1_element_string(data: dict[str, Any]) -> str:
    """{"gs1": {"01": "09501101530003", "17": "251231"}} -> "(01)09501101530003(17)251231".
    AI values are checked by the renderer (zint knows every AI's format and check digit)."""
    if set(data) != {"gs1"} or not isinstance(data["gs1"], dict) or not data["gs1"]:
        raise ApiError(ErrorCode.INVALID_REQUEST, "structured data must be {\"gs1\": {AI: value, ...}}")
    parts = []
    for ai, value in data["gs1"].items():
        if not _AI.match(ai):
            raise ApiError(ErrorCode.INVALID_REQUEST, f"GS1 AI {ai!r} must be 2 to 4 digits")
        if not isinstance(value, str) or not value or "(" in value or ")" in value:
            raise ApiError(ErrorCode.INVALID_REQUEST, f"GS1 AI ({ai}) value must be a non-empty string "
                                                      "without parentheses")
        parts.append(f"({ai}){value}")
    return "".join(parts)


def validate_gs1_capable(symbology: Symbology) -> set[str]:
    """Option names of any engine of the symbology (to see whether it has a GS1 mode)."""
    return {name for engine in symbology.engines for name in symbology.options_for(engine)}


def parse_generate(body: Any, job_id: str, client_id: str | None) -> GenerateRequest:
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.INVALID_REQUEST, "request must be a JSON object")
    data = body.get("data")
    if data is None:
        raise ApiError(ErrorCode.INVALID_REQUEST, "data is required")
    structured = isinstance(data, dict)
    if structured:
        data = gs1_element_string(data)
    if not isinstance(data, str):
        raise ApiError(ErrorCode.INVALID_REQUEST, "data must be a string, or {\"gs1\": {AI: value}}")
    if not data:
        raise ApiError(ErrorCode.INVALID_REQUEST, "data must not be empty")
    symbology_name = _optional_str(body, "symbology")
    if structured and symbology_name is None:
        symbology_name = "gs1_128"
    symbology = None
    if symbology_name is not None:
        symbology = lookup(symbology_name)
        if symbology is None:
            raise ApiError(ErrorCode.UNKNOWN_SYMBOLOGY,
                           f"unknown symbology {symbology_name!r}; see GET /v1/symbologies")
    fmt = _optional_str(body, "format")
    if fmt is not None and fmt.lower() not in FORMATS:
        raise ApiError(ErrorCode.UNKNOWN_FORMAT, f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    limit = symbology.max_length if symbology else MAX_DATA
    if len(data) > limit:
        name = symbology.name if symbology else "any symbology"
        raise ApiError(ErrorCode.DATA_TOO_LONG, f"data is {len(data)} characters; {name} takes at most {limit}")
    options = body.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ApiError(ErrorCode.INVALID_REQUEST, "options must be a JSON object")
    if structured and symbology is not None and not symbology.gs1:
        if "gs1" not in validate_gs1_capable(symbology):
            raise ApiError(ErrorCode.INVALID_REQUEST, f"structured GS1 data needs a GS1 symbology; "
                                                      f"{symbology.name} is not one")
        options = {**options, "gs1": True}
    if symbology is not None:
        try:
            validate_options(symbology, options, ANY_ENGINE)
        except OptionError as exc:
            raise ApiError(ErrorCode.INVALID_OPTION, str(exc)) from None
    return GenerateRequest(
        job_id=job_id,
        data=data,
        symbology=symbology.name if symbology else None,
        format=fmt.lower() if fmt else None,
        company=_optional_str(body, "company"),
        options=options,
        request_id=_optional_str(body, "request_id"),
        client_id=client_id,
        idempotency_key=_optional_str(body, "idempotency_key"),
        progress=_optional_bool(body, "progress"),
        trace={"gateway_in": now_ms()},
    )
