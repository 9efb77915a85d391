"""The gateway's own rejections: a stable code, a message, an HTTP status."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from services.contract import ErrorCode

STATUS = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.UNKNOWN_SYMBOLOGY: 400,
    ErrorCode.UNKNOWN_FORMAT: 400,
    ErrorCode.DATA_TOO_LONG: 400,
    ErrorCode.INVALID_OPTION: 400,
    ErrorCode.UNKNOWN_MESSAGE_TYPE: 400,
    ErrorCode.INVALID_RESUME_TOKEN: 403,
    ErrorCode.INVALID_API_KEY: 401,
    ErrorCode.COMPANY_NOT_ALLOWED: 403,
    ErrorCode.ORIGIN_NOT_ALLOWED: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_MANY_SOCKETS: 429,
    ErrorCode.TOO_MANY_IN_FLIGHT: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.NOT_READY: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.REQUEST_TOO_COSTLY: 413,
    ErrorCode.HOST_NOT_ALLOWED: 421,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
    ErrorCode.TOO_MANY_AUTH_FAILURES: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.WAIT_TIMEOUT: 504,
    ErrorCode.INVALID_LINK: 403,
    ErrorCode.STORAGE_UNAVAILABLE: 503,
}


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, 400)
        self.retry_after = retry_after  # seconds: a Retry-After header (REST), `retry_after` (WebSocket)

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a check worker process (checkpool.py) and sent back by pickle, which would
        # otherwise call __init__ with the message alone.
        return type(self), (self.code, self.message, self.status, self.retry_after)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def response(self) -> web.Response:
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(self.retry_after + 0.5)))
        return web.json_response(self.body(), status=self.status, headers=headers)
