"""What every request passes before its handler, and every response on its way out.

- Host: answered only under GATEWAY_ALLOWED_HOSTS (a page on a rebound DNS name reaches us
  with its own name in Host; our links are built from the Host otherwise).
- Caller and budget: every endpoint but the probes authenticates the caller and takes a token
  from its rate budget (status polls and file downloads cost like submissions).
- State-changing requests: JSON only (a cross-site form or no-cors fetch cannot send
  application/json without a CORS preflight we never approve), and a browser Origin must be
  ours or allowed.
- Errors: every failure leaves as {"error": {"code", "message"}}; an unexpected exception is a
  counted 500 with no detail (the log has the traceback).
- Headers: nosniff, no referrer, no framing, a deny-all CSP unless the handler set its own, and
  no server version.
"""
from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from services.contract import ErrorCode
from services.gateway.context import CALLER, GATEWAY, caller_of
from services.gateway.edge.errors import ApiError

log = logging.getLogger(__name__)

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # kubelet and Prometheus: no Host, no key
JSON_TYPES = frozenset({"application/json"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SERVER = "barcode-gateway"
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"


def host_allowed(host: str | None, allowed: frozenset[str]) -> bool:
    if "*" in allowed:
        return True
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name.startswith("[") and "]" in name:
        name = name[1:name.index("]")]
    return name.lower() in allowed


def check_origin(request: web.Request, allowed: frozenset[str]) -> None:
    """Browsers send Origin; a page from another site must not act as its visitor. Non-browser
    clients send none and are let through (they are limited by key and rate). Same origin means
    the Host, which was checked against the allowed hosts."""
    origin = request.headers.get("Origin")
    if origin is None or origin in allowed:
        return
    if origin.split("://", 1)[-1] == request.host:
        return
    raise ApiError(ErrorCode.ORIGIN_NOT_ALLOWED, f"origin {origin[:200]} is not allowed (GATEWAY_ALLOWED_ORIGINS)")


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as {"error": {"code", "message"}} with the right status."""
    gw = request.app[GATEWAY]
    try:
        return await handler(request)
    except ApiError as error:
        gw.errors[error.code] += 1
        return error.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status, "http_error")
        gw.errors[code] += 1
        # aiohttp's own headers of the error (Allow on a 405: RFC 9110 requires it) go along.
        kept = {name: value for name, value in exc.headers.items() if name.lower() == "allow"}
        return web.json_response({"error": {"code": code, "message": exc.reason}}, status=exc.status, headers=kept)
    except Exception:  # noqa: BLE001 - a bug must answer like any other error, and be counted
        gw.errors[ErrorCode.INTERNAL] += 1
        gw.server_errors += 1
        log.exception("unexpected error on %s %s", request.method, request.path)
        return web.json_response({"error": {"code": ErrorCode.INTERNAL, "message": "the gateway failed on this "
                                            "request; it was logged"}}, status=500)


def media_type(request: web.Request) -> str:
    """The request's media type, lower case, without parameters. aiohttp's `content_type` runs the
    standard library's header parser, which raises IndexError on some malformed values (e.g.
    `f7f{;xY*`), and an AssertionError on every read after that one: the raw value before any `;`
    then, which no check accepts (the fuzzer found the 500)."""
    try:
        return request.content_type
    except (IndexError, ValueError, AssertionError):
        return request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def _csv_batch(request: web.Request, kind: str) -> bool:
    """A batch may come as CSV. text/csv is not a type a cross-site form can send without a
    CORS preflight (unlike text/plain), so it keeps the same protection as JSON."""
    return request.path == "/v1/batches" and kind == "text/csv"


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PROBES:
        return await handler(request)
    gw = request.app[GATEWAY]
    settings = gw.settings
    if not host_allowed(request.headers.get("Host"), settings.allowed_hosts):
        raise ApiError(ErrorCode.HOST_NOT_ALLOWED, "this Host is not served here (GATEWAY_ALLOWED_HOSTS)", status=421)
    caller = caller_of(request)
    request[CALLER] = caller
    gw.limits.take(caller)
    if request.method not in SAFE_METHODS:
        check_origin(request, settings.allowed_origins)
        if request.can_read_body:
            kind = media_type(request)  # once: aiohttp's parse of a malformed header fails again
            if kind not in JSON_TYPES and not _csv_batch(request, kind):
                raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, f"send the body as application/json, not {kind}",
                               status=415)
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    headers["Server"] = SERVER
