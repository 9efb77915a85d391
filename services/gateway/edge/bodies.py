"""Reading what a request carries: its body, whole and bounded; its `?wait=`."""
from __future__ import annotations

import re

import orjson
from aiohttp import web

from services.contract import ErrorCode
from services.gateway.edge.errors import ApiError


async def read_body(request: web.Request, limit: int, setting: str) -> bytes:
    """The whole body, or 413 past `limit` bytes. `StreamReader.read(n)` returns what has
    arrived so far, not n bytes: a single read cut a 10,000-row CSV at 7,517 rows (found by
    `make bench-batches`), so this reads until the end."""
    too_large = ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"body is larger than {limit} bytes ({setting})")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(min(limit + 1 - size, 1 << 20)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large
    return b"".join(chunks)


_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


async def json_body(request: web.Request, limit: int) -> object:
    """The body read as JSON, or 400 invalid_json."""
    raw = await read_body(request, limit, "GATEWAY_MAX_BODY_BYTES")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(ErrorCode.INVALID_JSON, f"body is not valid JSON: {exc}") from None


def wait_seconds(request: web.Request, most: float) -> float:
    """`?wait=N` of a status read: 0 (the default) to `most` seconds (GATEWAY_MAX_WAIT_SECONDS)."""
    raw = request.query.get("wait", "0")
    # A plain decimal number, as the OpenAPI document says: float() alone also took " 4",
    # "\t4", "1e1", "inf" and "nan" (make fuzz: `wait=%094` was answered 200).
    if _DECIMAL.fullmatch(raw) is None:
        raise ApiError(ErrorCode.INVALID_REQUEST, f"wait must be a number of seconds, got {raw!r}")
    wait = float(raw)
    if not 0 <= wait <= most:
        raise ApiError(ErrorCode.INVALID_REQUEST, f"wait must be between 0 and {most:g}")
    return wait
