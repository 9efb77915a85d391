"""Checks a generate request before anything touches Kafka.

The gateway checks shape and catalogue facts (types, known symbology and format, length,
option ranges) and, when the request names its symbology, runs the renderer's exact `check()`
(character set, length, check digits, option combinations, the final bitmap against the pixel
budget): what the renderer would refuse is a 400 here, never a `failed` job or, worse, a
`verification_failed`. The generator checks again with the company profile's engine and options.
"""
from __future__ import annotations

import re
from typing import Any

from services.contract import FORMATS, ErrorCode, GenerateRequest, now_ms
from services.gateway.edge.errors import ApiError
from services.gateway.results.tokens import CLIENT_ID
from services.render import api, digital_link
from services.render.errors import JobError
from services.render.options import ANY_ENGINE, OptionError, validate_options, validate_unscoped
from services.render.symbologies import CATALOGUE, Symbology, lookup
from services.render.types import SymbolInfo

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


def element_string_of_link(link: str) -> str:
    """A GS1 Digital Link given as a GS1 symbol's data: its AIs as the element string the symbol
    carries (the reverse of the digital_link option)."""
    try:
        return digital_link.element_string(digital_link.parse(link))
    except digital_link.DigitalLinkError as exc:
        raise ApiError(ErrorCode.INVALID_DATA, f"a Digital Link as GS1 data: {exc}") from None


def validate_gs1_capable(symbology: Symbology) -> set[str]:
    """Option names of any engine of the symbology (to see whether it has a GS1 mode)."""
    return {name for engine in symbology.engines for name in symbology.options_for(engine)}


def check_renderable(symbology: Symbology, data: str, options: dict[str, Any], fmt: str | None,
                     engine: str | None = None) -> SymbolInfo:
    """Accept the request if an engine of the symbology (or the named `engine`) takes these
    options and data and fits the pixel budget; returns the symbol as that engine would draw it
    (its size prices the drawing: cost.render_ms). The company profile picks the engine later, so
    what one of them can draw is accepted (Code 128 "é": libzint's Latin-1, not python-barcode's
    ASCII). Otherwise raise the default engine's reason, as a 400 with the renderer's code."""
    try:
        # First against every engine's options: the message lists all it could take.
        validate_options(symbology, options, engine or ANY_ENGINE, fmt)
    except OptionError as exc:
        raise ApiError(ErrorCode.INVALID_OPTION, str(exc)) from None
    refusals: list[JobError] = []
    for name in (engine,) if engine else symbology.engines:
        try:
            validate_options(symbology, options, name)
        except OptionError:
            continue  # another engine's option: that engine is asked next
        try:
            # fmt None: the profile picks it; budgeted as PNG, the largest bitmap.
            return api.check(symbology, data, options, name, fmt)
        except JobError as exc:
            refusals.append(exc)
    if not refusals:  # e.g. small_text (libzint's) with font_size (python-barcode's)
        raise ApiError(ErrorCode.INVALID_OPTION, f"no engine of {symbology.name} takes all of "
                                                 f"{', '.join(sorted(options))} together; see GET /v1/symbologies")
    raise ApiError(refusals[0].code, refusals[0].message)


def check_renderable_named(name: str, data: str, options: dict[str, Any], fmt: str | None) -> SymbolInfo:
    """check_renderable by symbology name: what a check worker is sent (checkpool.py)."""
    symbology = lookup(name)
    assert symbology is not None  # named by parse_generate, from the same catalogue
    return check_renderable(symbology, data, options, fmt)


def _client_id(client_id: Any) -> str | None:
    """A client id as the gateway issues them (tokens.CLIENT_ID), wherever it comes from."""
    if client_id is not None and (not isinstance(client_id, str) or CLIENT_ID.fullmatch(client_id) is None):
        raise ApiError(ErrorCode.INVALID_REQUEST, "client_id must be a client id this service issued "
                                                  "(32 lowercase hex digits)")
    return client_id


def parse_generate(body: Any, job_id: str, client_id: str | None, render_check: bool = True) -> GenerateRequest:
    """The request as it goes to Kafka, or ApiError. `render_check`: run the renderer's check
    (POST /v1/validate runs it itself, with the engine it was asked for; a job's submission
    runs it where its cost says: submit.py)."""
    client_id = _client_id(client_id)
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
    options = body.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ApiError(ErrorCode.INVALID_REQUEST, "options must be a JSON object")
    linked = bool(options.get("digital_link"))
    if structured and symbology_name is None:
        symbology_name = "qrcode" if linked else "gs1_128"
    symbology = None
    if symbology_name is not None:
        symbology = lookup(symbology_name)
        if symbology is None:
            raise ApiError(ErrorCode.UNKNOWN_SYMBOLOGY,
                           f"unknown symbology {symbology_name!r}; see GET /v1/symbologies")
    if symbology is not None and not linked and (symbology.gs1 or options.get("gs1")) and \
            data.startswith(("https://", "http://")):
        data = element_string_of_link(data)  # before the length check: the element string is shorter
    fmt = _optional_str(body, "format")
    if fmt is not None and fmt.lower() not in FORMATS:
        raise ApiError(ErrorCode.UNKNOWN_FORMAT, f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    limit = symbology.max_length if symbology else MAX_DATA
    if len(data) > limit:
        name = symbology.name if symbology else "any symbology"
        raise ApiError(ErrorCode.DATA_TOO_LONG, f"data is {len(data)} characters; {name} takes at most {limit}")
    if structured and symbology is not None and not symbology.gs1 and not linked:
        if "gs1" not in validate_gs1_capable(symbology):
            raise ApiError(ErrorCode.INVALID_REQUEST, f"structured GS1 data needs a GS1 symbology; "
                                                      f"{symbology.name} is not one")
        options = {**options, "gs1": True}
    if symbology is None:
        # The profile picks the symbology: the options must still be ones some symbology takes
        # (flat, scalar values), so nothing nested or unknown travels on.
        try:
            validate_unscoped(options)
        except OptionError as exc:
            raise ApiError(ErrorCode.INVALID_OPTION, str(exc)) from None
    elif render_check:
        check_renderable(symbology, data, options, fmt.lower() if fmt else None)
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
