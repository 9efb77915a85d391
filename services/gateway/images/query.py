"""A GET's query string as a job's body: our names (`symbology`, `data`, `format`, `company`, and
every option of `/v1/symbologies` as a flat parameter), or bwip-js's when `bcid` is there.

Option values arrive as text and are read by the option's declared type, so the JSON API's
ranges and error codes apply unchanged (`parse_generate` checks them next)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multidict import MultiMapping

from services.contract import ErrorCode
from services.gateway.edge.errors import ApiError
from services.gateway.images import bwip
from services.render.options import option_type

FIELDS = ("symbology", "data", "format", "company")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _typed(name: str, raw: str) -> Any:
    kind = option_type(name)
    if kind is None:
        return raw  # not an option of any symbology: parse_generate names it in its refusal
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(raw)
            return value
    except ValueError:
        raise ApiError(ErrorCode.INVALID_OPTION, f"option {name!r}: {raw[:32]!r} is not a {kind}") from None
    if kind == "boolean":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ApiError(ErrorCode.INVALID_OPTION, f"option {name!r}: {raw[:32]!r} is not true or false")
    if kind == "link" and raw.lower() in ("true", "false"):
        return raw.lower() == "true"  # an https address, or true: the company's (no address is "true")
    return raw


def body_of(query: MultiMapping[str] | Mapping[str, str]) -> dict[str, Any]:
    """The body of the job a GET asks for; a parameter given twice is a 400 (which one counts
    would be a guess)."""
    seen: set[str] = set()
    for name, _ in (query.items() if isinstance(query, MultiMapping) else ((n, "") for n in query)):
        # Without case too: bwip-js's names are read without it (`text` and `TEXT` are one).
        if name.lower() in seen:
            raise ApiError(ErrorCode.INVALID_REQUEST, f"parameter {name[:64]!r} is given more than once")
        seen.add(name.lower())
    if any(name.lower() == "bcid" for name in query):
        return bwip.body_of({name: query[name] for name in query})
    if not query.get("symbology"):
        raise ApiError(ErrorCode.INVALID_REQUEST, "symbology is required (or bwip-js's bcid); see GET /v1/symbologies")
    body: dict[str, Any] = {name: query[name] for name in FIELDS if name in query}
    body.setdefault("format", "png")
    body["options"] = {name: _typed(name, value) for name, value in query.items() if name not in FIELDS}
    return body
